"""The offline example builds a full site whose top-5 tables equal a direct torchvision/softmax computation."""

import json
import re

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.models import ResNet18_Weights

from generator.utils.figures import SCALE
from tests.helpers import reference_lite0

pytestmark = pytest.mark.slow
ROW = re.compile(r"^\| (\d) \| (.+?) \((\d+)\) \| ([0-9.]+) \|$")
FIGURE_KINDS = ("gradcam", "lime-top", "lime-posneg", "lime-weights")


@pytest.fixture(scope="module")
def example(built_site):
    """The offline example built once per session for these and the browser tests (tests/browser_site.py)."""
    return built_site.content_dir.parent, built_site.manifest


def page_tables(markdown):
    """Top-k rows per model table, in page order: [[(rank, name, index, probability), ...], ...]."""
    tables, current = [], None
    for line in markdown.splitlines():
        match = ROW.match(line)
        if match:
            if current is None:
                current = []
                tables.append(current)
            rank, name, index, probability = match.groups()
            current.append((int(rank), name.replace("\\", ""), int(index), float(probability)))
        else:
            current = None
    return tables


def direct_top5(image_path, random_weights):
    """Independent of the generator: the package's own model, torchvision transforms, softmax."""
    model, recipe = reference_lite0(random_weights)
    with torch.no_grad():
        probs = torch.softmax(model(recipe(Image.open(image_path).convert("RGB"))[None]), dim=1)[0]
    values, indices = probs.topk(5)
    names = ResNet18_Weights.IMAGENET1K_V1.meta["categories"]
    return [(rank + 1, names[i], int(i), float(v)) for rank, (v, i) in enumerate(zip(values, indices))]


def test_site_has_overview_and_one_page_per_case(example):
    root, manifest = example
    site = root / "site"
    assert (site / "index.html").is_file() and (site / "methods.html").is_file()
    for case in manifest["cases"]:
        assert (site / "cases" / f"{case['id']}.html").is_file()
    overview = (site / "index.html").read_text()
    for case in manifest["cases"]:
        assert f'href="cases/{case["id"]}.html"' in overview


def test_top5_tables_equal_direct_computation(example):
    root, manifest = example
    for case in manifest["cases"]:
        markdown = (root / "content" / "cases" / f"{case['id']}.md").read_text()
        trained, randomised = page_tables(markdown)
        image = root / "content" / case["image"]
        for shown, expected in ((trained, direct_top5(image, False)), (randomised, direct_top5(image, True))):
            assert [row[:3] for row in shown] == [row[:3] for row in expected]
            assert [row[3] for row in shown] == pytest.approx([row[3] for row in expected], abs=1.5e-4)


def test_case_pages_show_every_metric(example):
    root, manifest = example
    for case in manifest["cases"]:
        markdown = (root / "content" / "cases" / f"{case['id']}.md").read_text()
        for heading in ("## Observations", "## Measurements", "### Faithfulness", "### Model against model"):
            assert heading in markdown, (case["id"], heading)
        for column in (
            "Grad-CAM deletion AUC ↓",
            "LIME insertion AUC ↑",
            "random deletion AUC ↓",
            "Grad-CAM concentration ↓",
            "Grad-CAM vs LIME ρ ↑",
            "LIME stability (Jaccard) ↑",
            "LIME weight spread ↓",
            "Grad-CAM sanity ρ ↓",
        ):
            assert column in markdown, (case["id"], column)
        assert (root / "content" / "figures" / case["id"] / "faithfulness.png").stat().st_size > 1000
    methods = (root / "content" / "methods.md").read_text()
    for metric in ("Deletion AUC", "Insertion AUC", "Concentration", "LIME stability", "Sanity ρ"):
        assert metric in methods


def test_every_figure_exists_for_every_case_model_and_target(example):
    root, manifest = example
    figures = root / "content" / "figures"
    for case in manifest["cases"]:
        markdown = (root / "content" / "cases" / f"{case['id']}.md").read_text()
        referenced = set(re.findall(r"\]\(\.\./(figures/[^)\s]+\.png)", markdown))  # the static figures
        for kind in FIGURE_KINDS:
            assert any(f"-{kind}-" in path for path in referenced), (case["id"], kind)
        for path in referenced:
            assert (root / "content" / path).stat().st_size > 1000
        extra_targets = len(case.get("targets", []))
        assert len([p for p in referenced if "-gradcam-" in p]) >= 2 + extra_targets
        assert (figures / case["id"] / "thumbnail.jpg").is_file()


VIEWER_DATA = re.compile(r'<script type="application/json" class="map-viewer-data">(.+?)</script>', re.S)


def test_viewer_maps_are_8_bit_grayscale_and_colour_to_the_static_figures(example):
    """Each case page's viewer lists a map per model, method and target the page shows: an 8-bit grayscale
    224x224 PNG whose pixels, looked up in the page's colour table and laid over the crop at the page's opacity,
    are the static Grad-CAM figure's pixels."""
    root, manifest = example
    content = root / "content"
    for case in manifest["cases"]:
        markdown = (content / "cases" / f"{case['id']}.md").read_text()
        data = json.loads(VIEWER_DATA.search(markdown).group(1))
        crop = np.asarray(Image.open(content / "cases" / data["crop"]).convert("RGB"), dtype=np.float64)
        assert crop.shape == (224, 224, 3)
        methods = {method["name"]: method["colormap"] for method in data["methods"]}
        assert set(methods) == {"gradcam", "lime"}
        for method, kind in (("gradcam", "gradcam"), ("lime", "lime-top")):  # each figure shown has its map
            drawn = set(re.findall(rf"\]\(\.\./figures/{case['id']}/(.+?)-{kind}-(\d+)\.png\)", markdown))
            listed = {
                tuple(re.search(r"/([^/]+)-[a-z]+-map-(\d+)\.png$", m["src"]).groups())
                for m in data["maps"]
                if m["method"] == method
            }
            assert drawn and listed == drawn, (case["id"], method)
        assert len(data["maps"]) == len({m["src"] for m in data["maps"]})
        for entry in data["maps"]:
            shown = Image.open(content / "cases" / entry["src"])
            assert (shown.mode, shown.size) == ("L", (224, 224)), entry["src"]
            if entry["method"] != "gradcam":
                continue
            table = np.asarray(data["colormaps"][methods["gradcam"]], dtype=np.float64).reshape(256, 3)
            alpha = data["opacity"] / 100
            blended = np.clip(np.round(table[np.asarray(shown)] * alpha + crop * (1 - alpha)), 0, 255)
            static = np.asarray(Image.open(content / "cases" / entry["src"].replace("-gradcam-map-", "-gradcam-")))
            picture = static[: 224 * SCALE : SCALE, : 224 * SCALE : SCALE, :3]
            assert np.abs(blended - picture).max() <= 1, entry["src"]
