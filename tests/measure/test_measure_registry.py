"""Measures are a family like the explainers: each one module (and its templates), found and registered on import.

Outside its own module and templates, no file of the package or the templates names a measure; a new measure is
one new file, and its column, its overview mean and its methods-page rows appear in a report without any other
change.
"""

import importlib
import re
import sys
import textwrap
from pathlib import Path

import pytest
from switches import build_tiny, generated_pages, tiny_manifest

import generator.measure
from generator.explain import EXPLAINERS
from generator.measure import MEASURES, import_measures

REPO = Path(__file__).resolve().parents[2]
SEARCHED = [REPO / "generator", REPO / "templates"]


def computing(measure):
    """The files of the methods that declare they compute the measure themselves (`computes`): their modules and
    the templates named after them, as a method that declares it reuses another may name that one."""
    classes = [cls for cls in EXPLAINERS.values() if measure.name in cls.computes]
    modules = {Path(sys.modules[cls.__module__].__file__).resolve().relative_to(REPO).as_posix() for cls in classes}
    stems = {cls.__module__.rpartition(".")[2] for cls in classes}
    templates = {
        p.relative_to(REPO).as_posix() for s in stems for p in (REPO / "templates" / "explainers").glob(f"{s}.*.md.j2")
    }
    return modules | templates


def owns(measure, path):
    """A measure's own files: its module (or its package), its half below the methods where methods compute it
    themselves (generator/explain/<name>.py), the templates named after it, and the files of the methods that
    declare they compute it."""
    relative = path.relative_to(REPO).as_posix()
    return (
        relative == f"generator/measure/{measure.name}.py"
        or relative.startswith(f"generator/measure/{measure.name}/")
        or relative == f"generator/explain/{measure.name}.py"
        or relative.startswith(f"templates/measures/{measure.name}.")
        or relative in computing(measure)
    )


def mentions(word):
    """A word as a measure's name is written anywhere (an identifier part too), but not inside a longer word."""
    return re.compile(rf"(?<![a-z]){re.escape(word)}(?![a-z])", re.IGNORECASE)


def found_outside(measure):
    words = [mentions(word) for word in (measure.name, *measure.words)]
    return [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for folder in SEARCHED
        for path in sorted(folder.rglob("*"))
        if path.suffix in (".py", ".j2") and not owns(measure, path)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if any(word.search(line) for word in words)
    ]


@pytest.mark.parametrize("name", list(MEASURES))
def test_no_other_file_names_a_measure(name):
    assert found_outside(MEASURES[name]) == []


def test_a_method_computes_only_registered_measures():
    assert [(cls.name, name) for cls in EXPLAINERS.values() for name in cls.computes if name not in MEASURES] == []


def test_the_word_check_sees_a_name_and_not_a_longer_word():
    assert mentions("road").search("curves.road_images") and mentions("road").search('"ROAD score"')
    assert not mentions("road").search("a broad map")


TOY = '''
    """A toy measure: the share of a map's pixels above half its maximum (only for the registry's test)."""

    from collections.abc import Sequence
    from typing import Any

    import numpy as np

    from generator.explain.base import method_title
    from generator.measure.base import Measure, MetricColumn, ModelInputs, TargetMetrics, record_value, register


    @register
    class Toy(Measure):
        name = "toymeasure"
        rows = "| Toy share | The share of a {{ titles | join(' or ') }} map above half its maximum. | lower |"

        def measure(self, found: ModelInputs) -> dict[int, dict[str, Any]]:
            return {
                target: {name: float(np.mean(smap > smap.max() / 2)) for name, smap in maps.items()}
                for target, maps in found.maps.items()
            }

        @classmethod
        def columns(cls, records: Sequence[TargetMetrics], keys: Sequence[str]) -> list[MetricColumn]:
            return [
                MetricColumn(f"{method_title(key)} toy share", record_value(cls.name, key), higher_is_better=False)
                for key in keys
            ]
'''


@pytest.fixture
def toy_measure(tmp_path):
    """The toy module in a folder that the measures' discovery searches, registered the way every measure is."""
    folder = tmp_path / "more_measures"
    folder.mkdir()
    (folder / "toymeasure.py").write_text(textwrap.dedent(TOY), encoding="utf-8")
    generator.measure.__path__.append(str(folder))
    before = dict(MEASURES)
    try:
        import_measures()
        yield MEASURES["toymeasure"]
    finally:
        generator.measure.__path__.remove(str(folder))
        MEASURES.clear()
        MEASURES.update(before)
        sys.modules.pop("generator.measure.toymeasure", None)
        importlib.invalidate_caches()


@pytest.mark.slow
def test_a_new_measure_is_one_file(toy_measure, tmp_path):
    manifest = tiny_manifest(crop=64, batch_size=64, faithfulness=False, sanity=False, stability_seeds=1)
    pages = generated_pages(build_tiny(manifest, tmp_path / "report", site=False))
    assert "Grad\\-CAM toy share ↓" in pages["cases/chelsea.md"] or "Grad-CAM toy share ↓" in pages["cases/chelsea.md"]
    overview = pages["index.md"]
    means = overview[overview.index("Means over the cases") - 2000 : overview.index("Means over the cases")]
    assert "toy share ↓" in means  # the overview's mean per model
    assert "| Toy share | The share of a Grad-CAM or LIME map above half its maximum. | lower |" in pages["methods.md"]
