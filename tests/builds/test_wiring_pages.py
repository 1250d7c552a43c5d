"""The pages show each case's own marks: correct where the model's top-1 is the ground truth, wrong where it is not.

The tiny report (tests/wiring.py) on chelsea and coffee, each labelled from the tiny network's top-1 computed by
hand: one case with its top-1 as its label, the other with another class.
"""

import re

import numpy as np
import pytest
from PIL import Image
from torchvision import transforms

from tests.builds.test_wiring_settings import tiny_probabilities
from tests.wiring import CLASSES, make_tiny_project, recorded_build, tiny_manifest, write_manifest


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """{page name: text} of a build where chelsea's label is its top-1 (correct) and coffee's is not (wrong)."""
    folder = make_tiny_project(tmp_path_factory.mktemp("marks"))
    crop = transforms.Compose([transforms.Resize((72, 72)), transforms.CenterCrop(64)])
    images = [np.asarray(crop(Image.open(folder / "content" / "images" / f"{name}.png").convert("RGB"))) for name in ("chelsea", "coffee")]
    top1 = [CLASSES[int(np.argmax(p))] for p in tiny_probabilities(folder, images)]
    wrong = next(name for name in CLASSES if name != top1[1])
    manifest = tiny_manifest()
    manifest["cases"] = [
        {"id": "chelsea", "image": "images/chelsea.png", "label": top1[0]},
        {"id": "coffee", "image": "images/coffee.png", "label": wrong},
    ]
    write_manifest(folder, manifest)
    with pytest.MonkeyPatch.context() as monkeypatch:
        recorded_build(folder, monkeypatch)
    content = folder / "content"
    return {name: (content / name).read_text(encoding="utf-8") for name in ("index.md", "cases/chelsea.md", "cases/coffee.md")}


def ground_truth_line(text):
    return next(line for line in text.splitlines() if line.startswith("**Ground truth:**"))


def test_the_case_pages_mark_correct_and_wrong(pages):
    assert ground_truth_line(pages["cases/chelsea.md"]).endswith("Tiny: **correct**")
    assert ground_truth_line(pages["cases/coffee.md"]).endswith("Tiny: **wrong**")


def test_the_overview_marks_each_case_as_its_page_does(pages):
    index = pages["index.md"]
    assert "1/2 (50%)" in index  # the tiny model's top-1 accuracy
    cards = index.split('<div class="case-card" markdown>')[1:]
    titled = [re.search(r"\]\(cases/([a-z0-9_-]+)\.md\)\{ \.case-card-title \}", card).group(1) for card in cards]
    card_marks = [("✓ correct" in card, "✗ wrong" in card) for card in cards]
    assert dict(zip(titled, card_marks)) == {"chelsea": (True, False), "coffee": (False, True)}
    marked = {}  # case id -> the marks of every overview row that links its page and marks it
    for row in (line for line in index.splitlines() if line.startswith("| [")):
        case = re.search(r"\(cases/([a-z0-9_-]+)\.md\)", row).group(1)
        marks = {"correct"} if "· correct" in row else {"wrong"} if "· **wrong**" in row else set()
        marked.setdefault(case, set()).update(marks)
    assert marked == {"chelsea": {"correct"}, "coffee": {"wrong"}}
