"""A new method is one new file: a toy one (tests/toys/toy_method.py) registered for one build shows on every page."""

import importlib.util
import sys
from pathlib import Path

import pytest

from generator.explain import EXPLAINERS, RegistryError, check_reuses
from generator.manifest.loader import load_manifest
from generator.manifest.schema import EXPLAINER_SECTIONS, ExplainersSpec
from tests.switches import build_tiny, generated_pages, tiny_manifest

TOYS = Path(__file__).resolve().parents[1] / "toys"


def import_toy(stem):
    """The toy's module, imported as a plugin's would be (in sys.modules: the cache keys read its source)."""
    spec = importlib.util.spec_from_file_location(f"toys_{stem}", TOYS / f"{stem}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def toy_method():
    module = import_toy("toy_method")
    try:
        yield module.CentreMap
    finally:
        EXPLAINERS.pop(module.CentreMap.name, None)
        EXPLAINER_SECTIONS.withdraw(module.CentreMap.name)
        sys.modules.pop(module.__name__, None)


def test_a_toy_method_joins_the_manifest_schema(toy_method, tmp_path):
    assert list(EXPLAINERS)[-1] == "centre_map"
    assert ExplainersSpec().section("centre_map").enabled is False
    assert ExplainersSpec.model_validate({"centre_map": {"width": 0.5}}).section("centre_map").width == 0.5
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text("cases: []\nexplainers:\n  centre_map:\n    width: 2\n", encoding="utf-8")
    with pytest.raises(Exception, match=r"explainers\.centre_map\.width"):
        load_manifest(manifest)


def test_the_toy_method_is_gone_once_withdrawn():
    assert "centre_map" not in EXPLAINERS and "centre_map" not in ExplainersSpec.model_fields
    with pytest.raises(Exception, match="centre_map"):
        ExplainersSpec.model_validate({"centre_map": {"enabled": True}})


@pytest.mark.slow
def test_a_toy_method_shows_on_every_page(toy_method, tmp_path):
    manifest = tiny_manifest(lime=False, crop=64, two_models=True)
    manifest["explainers"]["centre_map"] = {"enabled": True, "width": 0.3}
    content = build_tiny(manifest, tmp_path, site=False)
    pages = generated_pages(content)
    case = pages["cases/chelsea.md"]
    assert "## Centre map" in case
    assert "Where a map that looks at nothing but the centre of the crop would look (sigma 0.3)." in case
    drawn = sorted(p.name for p in (content / "figures" / "chelsea").glob("*-centre_map-*.png") if "-map-" not in p.name)
    assert {name.split("-")[0] for name in drawn} == {"r18", "mnv3"}  # a figure per model (and target) ...
    assert [name for name in drawn if f"figures/chelsea/{name})" not in case] == []  # ... each on the case page
    viewer = sorted((content / "figures" / "chelsea").glob("*-centre_map-map-*.png"))
    assert len(viewer) == len(drawn)  # and in the viewer
    assert "Centre map concentration" in case and "Centre map deletion AUC" in case
    assert "Centre map concentration" in pages["index.md"]  # the overview's means
    assert "Centre map: a Gaussian with sigma 0.3 of the crop, centred on it, for every target." in pages["methods.md"]


def test_a_method_that_reuses_one_running_after_it_is_refused(toy_method, monkeypatch):
    monkeypatch.setattr(toy_method, "reuses", ("kernel_shap",))
    check_reuses()  # kernel_shap (order 21) runs before the toy (order 50)
    monkeypatch.setattr(toy_method, "reuses", ("no_such_method",))
    with pytest.raises(RegistryError, match="reuses 'no_such_method', which is not a registered method"):
        check_reuses()
    monkeypatch.setattr(EXPLAINERS["kernel_shap"], "reuses", ("centre_map",))
    monkeypatch.setattr(toy_method, "reuses", ())
    with pytest.raises(RegistryError, match="give 'kernel_shap' a larger `order` than 50"):
        check_reuses()
