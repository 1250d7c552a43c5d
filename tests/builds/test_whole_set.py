"""Predict everything, explain what matters: a folder of 3 classes x 20 images (made here from the shipped photos
by seeded crops, flips and brightness), the trained and the random EfficientNet-Lite0, `explain: {select: [wrong],
max: 5}`. The set page's numbers equal an independent forward of the same models over the same files; exactly the
chosen cases are explained and paged, each saying why; each confusion cell links to a page of exactly its images;
changing the rules runs no model; new images are predicted and nothing else."""

import re
from urllib.parse import quote

import numpy as np
import pytest
import torch
import yaml
from PIL import Image, ImageEnhance, ImageOps
from torchvision.models import ResNet18_Weights

from generator.manifest.loader import load_manifest
from tests.helpers import REPO, reference_lite0, run_cli_in_process

pytestmark = pytest.mark.slow

PHOTOS = {"espresso": "coffee.png", "military uniform": "grace_hopper.jpg", "tabby": "chelsea.png"}
PER_CLASS = 20
COMPUTED = re.compile(r"DEBUG: (\w+) (.*?) ?computed in")
CLASSES = ResNet18_Weights.IMAGENET1K_V1.meta["categories"]  # ImageNet's names, as the Lite0 source gives them


def variants(photo, count, rng):
    """`count` seeded variants of a photo: a crop of 60-100% of each side, a flip half the time, a brightness."""
    base = Image.open(photo).convert("RGB")
    width, height = base.size
    for _ in range(count):
        scale = rng.uniform(0.6, 1.0)
        w, h = int(width * scale), int(height * scale)
        x, y = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
        image = base.crop((x, y, x + w, y + h)).resize((160, int(160 * h / w)))
        if rng.random() < 0.5:
            image = ImageOps.mirror(image)
        yield ImageEnhance.Brightness(image).enhance(rng.uniform(0.7, 1.3))


def write_images(folder, rng, count, prefix=""):
    for label, photo in PHOTOS.items():
        (folder / "images" / label).mkdir(parents=True, exist_ok=True)
        for index, image in enumerate(variants(REPO / "content" / "images" / photo, count, rng)):
            image.save(folder / "images" / label / f"{prefix}{index:02d}.png")


def manifest(select=("wrong",), max_cases=5):
    return {
        "title": "The whole set",
        "seed": 0,
        "models": [
            {"name": "efficientnet_lite0", "display_name": "Trained"},
            {"name": "efficientnet_lite0", "display_name": "Random", "weights": "random"},
        ],
        "explainers": {"lime": {"enabled": False}},
        "metrics": {"faithfulness": False, "sanity": False, "stability_seeds": 1},
        "cases_from": [{"folder": "images", "label": "folder"}],
        "explain": {"select": list(select), "max": max_cases},
    }


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("set")
    write_images(folder, np.random.default_rng(0), PER_CLASS)
    (folder / "manifest.yaml").write_text(yaml.safe_dump(manifest(), sort_keys=False))
    first = build(folder)
    return folder, first


def build(folder):
    result = run_cli_in_process("build", "--manifest", folder / "manifest.yaml", "--no-site", "-v")
    assert result.returncode == 0, result.stderr[-3000:]
    return COMPUTED.findall(result.stderr)


def independent_top1(paths, random_weights):
    """The top-1 class names of a Lite0 over the files: the package's own network, torchvision transforms, argmax."""
    model, recipe = reference_lite0(random_weights)
    with torch.no_grad():
        batch = torch.stack([recipe(Image.open(path).convert("RGB")) for path in paths])
        return [CLASSES[int(i)] for i in model(batch).argmax(dim=1)]


@pytest.fixture(scope="module")
def truth(report):
    folder, _ = report
    cases = load_manifest(folder / "manifest.yaml").cases
    paths = [folder / case.image for case in cases]
    labels = [str(case.label) for case in cases]
    top1 = {name: independent_top1(paths, name == "Random") for name in ("Trained", "Random")}
    return [case.case_id for case in cases], labels, top1


def table_after(markdown, heading):
    """The rows of the first table after `heading`, as lists of cells."""
    text = markdown[markdown.index(heading) :]
    rows = [line for line in text.splitlines() if line.startswith("|")]
    block = []
    for line in text.splitlines()[1:]:
        if line.startswith("|"):
            block.append([cell.strip().replace("\\", "") for cell in line.strip("|").split("|")])
        elif block:
            break
    assert rows, heading
    return block[2:]  # header and alignment rows left out


def count(cell):
    """A confusion cell's count: "0", or "[12](set/0-1-2.md)" linking its page."""
    return int(re.fullmatch(r"\[?(\d+)(\]\(.*\))?", cell).group(1))


def test_the_set_page_equals_an_independent_forward(report, truth):
    folder, _ = report
    ids, labels, top1 = truth
    index = (folder / "index.md").read_text(encoding="utf-8")
    page = (folder / "set.md").read_text(encoding="utf-8")
    assert f"{len(ids)} cases predicted by every model, 5 of them explained" in index
    for name, predicted in top1.items():
        right = sum(p == label for p, label in zip(predicted, labels))
        assert f"**{name} top-1 accuracy over the set:** {right}/{len(ids)}" in index
        section = page[page.index(f"## {name}\n") :]
        confusion = {row[0]: [count(n) for n in row[1:]] for row in table_after(section, "### Confusion matrix")}
        label_set = sorted(set(labels))
        expected = {
            label: [
                sum(1 for p, truth_label in zip(predicted, labels) if truth_label == label and p == column)
                for column in label_set
            ]
            + [sum(1 for p, truth_label in zip(predicted, labels) if truth_label == label and p not in label_set)]
            for label in label_set
        }
        assert confusion == expected, name
        classes = {row[0]: row for row in table_after(section, "### Per class")}
        for label in label_set:
            support = labels.count(label)
            correct = sum(1 for p, truth_label in zip(predicted, labels) if truth_label == label and p == label)
            assert int(classes[label][1]) == support
            assert classes[label][2].startswith(f"{100 * correct / support:.1f}%")


def test_exactly_the_chosen_cases_are_explained_and_say_why(report, truth):
    folder, computed = report
    ids, labels, top1 = truth
    wrong = [i for i, label in zip(ids, labels) if any(top1[name][ids.index(i)] != label for name in top1)]
    chosen = wrong[:5]
    assert sorted(path.stem for path in (folder / "cases").glob("*.md")) == sorted(chosen)
    for case_id in chosen:
        page = (folder / "cases" / f"{case_id}.md").read_text(encoding="utf-8")
        assert "Why this case is explained" in page and "is wrong with" in page
    kinds = [kind for kind, _ in computed]
    assert kinds.count("probabilities") == 2 * len(ids)  # every case, both models
    assert kinds.count("explanation") == 2 * len(chosen)  # Grad-CAM of both models, on the chosen cases only
    methods = (folder / "methods.md").read_text(encoding="utf-8")
    assert "## The whole set" in methods and "1. `wrong`" in methods and "until 5 cases" in methods
    nav = yaml.safe_load((folder / "nav.yml").read_text(encoding="utf-8"))["nav"]
    assert nav[:2] == [{"Overview": "index.md"}, {"The whole set": "set.md"}]


def test_every_confusion_cell_links_to_a_page_of_exactly_its_images(report, truth):
    folder, _ = report
    ids, labels, top1 = truth
    cases = load_manifest(folder / "manifest.yaml").cases
    images = {case.case_id: quote(case.image) for case in cases}
    page = (folder / "set.md").read_text(encoding="utf-8")
    label_set = sorted(set(labels))
    for name, predicted in top1.items():
        section = page[page.index(f"## {name}\n") :]
        rows = table_after(section, "### Confusion matrix")
        for row_index, row in enumerate(rows):
            for column_index, cell in enumerate(row[1:]):
                column = (label_set + ["other"])[column_index]
                expected = {
                    images[case_id]
                    for case_id, label, said in zip(ids, labels, predicted)
                    if label == row[0] and (said == column or (column == "other" and said not in label_set))
                }
                link = re.fullmatch(r"\[(\d+)\]\((set/[^)]+\.md)\)", cell)
                if not expected:
                    assert cell == "0", (name, row[0], column)
                    continue
                assert link and int(link.group(1)) == len(expected), (name, row[0], column, cell)
                listed = re.findall(r"\]\(\.\./(images/[^)]+)\)", (folder / link.group(2)).read_text(encoding="utf-8"))
                assert set(listed) == expected and len(listed) == len(expected), (name, row[0], column)


def test_changing_the_rules_runs_no_model_and_new_images_are_predicted(report, truth):
    folder, _ = report
    ids, _, _ = truth
    (folder / "manifest.yaml").write_text(yaml.safe_dump(manifest(max_cases=3), sort_keys=False))
    assert build(folder) == []  # fewer cases: every result from the cache
    assert len(list((folder / "cases").glob("*.md"))) == 3
    write_images(folder, np.random.default_rng(1), 1, prefix="new-")  # one more image per class: 3 in all
    computed = build(folder)
    assert [kind for kind, _ in computed] == ["probabilities"] * 6  # 3 new images x 2 models, nothing else
    assert f"{len(ids) + 3} cases predicted by every model" in (folder / "index.md").read_text(encoding="utf-8")
