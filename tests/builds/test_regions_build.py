"""Regions through the real build: pages only where a case marks regions, and a region edit runs no model."""

import copy
import shutil

import pytest
import yaml

from generator.build import BuildOptions, build_report
from tests.helpers import COFFEE, make_project, random_resnet_manifest

pytestmark = pytest.mark.slow

# resize 72, crop 64: the crop starts 4 resized pixels in, which is 25 px of chelsea's 451 and 17 px of its 300
PREPROCESS = {"resize": [72, 72], "crop": 64}
CASES = [
    {
        "id": "chelsea",
        "image": "images/chelsea.png",
        "label": "tabby",
        "object": "cat",
        "regions": {"cat": [0, 0, 400, 300], "eyes": [133, 83, 345, 165], "far corner": [0, 0, 20, 13]},
    },
    {"id": "coffee", "image": "images/coffee.png", "regions": {"cup": [172, 18, 410, 308]}, "object": "cup"},
    {"id": "plain", "image": "images/chelsea.png", "label": "tabby"},
]


def options_for(folder, site=False):
    return BuildOptions(
        manifest=folder / "content" / "manifest.yaml",
        site=site,
        site_dir=folder / "site",
        show_progress=False,
        cache_dir=folder / "cache",
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One cold build with the MkDocs site (strict): two cases mark regions, the third none."""
    folder = tmp_path_factory.mktemp("regions")
    manifest = random_resnet_manifest(cases=copy.deepcopy(CASES), preprocess=PREPROCESS)
    make_project(folder, manifest, images=[COFFEE, COFFEE.parent / "chelsea.png"])
    summary = build_report(options_for(folder, site=True))
    assert not summary.failures
    return folder, manifest


@pytest.fixture()
def project(built, tmp_path):
    folder, manifest = built
    shutil.copytree(folder, tmp_path, dirs_exist_ok=True)
    return tmp_path, copy.deepcopy(manifest)


def page(folder, name):
    return (folder / "content" / name).read_text(encoding="utf-8")


def test_region_sections_only_where_regions_are_marked(built):
    folder, _ = built
    chelsea, coffee, plain = (page(folder, f"cases/{case}.md") for case in ("chelsea", "coffee", "plain"))
    for text in (chelsea, coffee):
        assert "## Regions" in text and "of its mass on" in text
    assert "cat \\(object\\) · " in chelsea and "cup \\(object\\) · " in coffee
    assert "far corner: no part of it is in the 64x64 crop" in chelsea.replace("\\", "")
    assert "far corner ·" not in chelsea  # no column for a region outside the crop
    assert "## Regions" not in plain and "mass on" not in plain and "regions the author marks" not in plain
    assert (folder / "site" / "cases" / "chelsea.html").is_file()  # MkDocs strict built the site


def test_the_overview_counts_the_two_cases_that_mark_an_object(built):
    folder, _ = built
    index = page(folder, "index.md")
    assert "(2 of 3 cases mark one in the crop)" in index
    section = index.split("**On the object the author marks**")[1].split("\n\n")[1]  # one model: no Model column
    rows = section.splitlines()[2:]
    assert [row.split(" | ")[0] for row in rows] == ["| Grad-CAM", "| LIME"]
    assert all(row.split(" | ")[1] == "2" for row in rows), rows  # the Cases column
    assert "## Regions" in page(folder, "methods.md")


def outside_regions(text):
    head, rest = text.split("## Regions", 1)
    return head.splitlines() + rest.split("## Discussion", 1)[1].splitlines()


def table_cells(text):
    """The cells of the region measures table, row by row."""
    section = text.split("## Regions", 1)[1].split("**Top superpixels", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| R18 | ")]
    assert len(rows) == 2  # Grad-CAM and LIME of the top-1 class
    return [row.strip("|").split(" | ") for row in rows]


def region_lines(text):
    return [line for line in text.splitlines() if "eyes" in line]


def test_moving_a_box_runs_no_model_and_changes_only_that_cases_region_numbers(project, monkeypatch):
    folder, manifest = project
    before = {
        name: page(folder, name) for name in ("cases/chelsea.md", "cases/coffee.md", "cases/plain.md", "index.md")
    }
    manifest["cases"][0]["regions"]["eyes"] = [30, 150, 200, 290]  # the eyes box moves down to the left
    (folder / "content" / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    import generator.run.inference as inference

    def forbidden(*args, **kwargs):
        raise AssertionError("a model ran for a region edit")

    monkeypatch.setattr(inference.BatchClassifier, "classify_batches", forbidden)
    monkeypatch.setattr("generator.compute.probabilities", forbidden)
    monkeypatch.setattr("generator.explain.gradcam.grad_cam", forbidden)
    summary = build_report(options_for(folder))
    assert summary.cache_misses == 0 and not summary.failures
    after = {name: page(folder, name) for name in before}
    assert after["cases/coffee.md"] == before["cases/coffee.md"]
    assert after["cases/plain.md"] == before["cases/plain.md"]
    assert after["index.md"] == before["index.md"]  # the object did not move
    old, new = before["cases/chelsea.md"], after["cases/chelsea.md"]
    assert region_lines(old) != region_lines(new)  # the eyes' observations
    outside = lambda text: [line for line in outside_regions(text) if "eyes" not in line]  # noqa: E731
    assert outside(old) == outside(new)
    old_cells, new_cells = table_cells(old), table_cells(new)
    assert [row[:4] for row in old_cells] == [row[:4] for row in new_cells]  # model, method, target, cat
    assert [row[4] for row in old_cells] != [row[4] for row in new_cells]  # eyes


def test_regions_removed_leave_no_trace(project, monkeypatch):
    folder, manifest = project
    for case in manifest["cases"]:
        case.pop("regions", None)
        case.pop("object", None)
    (folder / "content" / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    monkeypatch.setattr("generator.compute.probabilities", lambda *a, **k: pytest.fail("a model ran"))
    build_report(options_for(folder))
    for name in ("cases/chelsea.md", "cases/coffee.md", "index.md", "methods.md"):
        text = page(folder, name)
        assert "## Regions" not in text and "mass on" not in text.lower() and "pointing game" not in text.lower()
