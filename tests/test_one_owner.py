"""Each measure carries its own k and unit; no page module or template names a method (the explainers do)."""

import re
from pathlib import Path

import pytest
from switches import build_tiny, generated_pages, tiny_manifest

from generator.explain import EXPLAINERS

REPO = Path(__file__).resolve().parents[1]
METHOD_FREE = [REPO / "generator" / "render", REPO / "generator" / "measure", REPO / "templates"]


def method_words():
    """Every registered explainer's manifest name and title, and the spellings users write them in."""
    words = set()
    for name, cls in EXPLAINERS.items():
        words |= {name, cls.title, cls.title.replace("-", ""), name.replace("_", " ")}
    return sorted(words)


def test_no_page_module_or_template_names_a_method():
    pattern = re.compile("|".join(re.escape(word) for word in method_words()), re.IGNORECASE)
    found = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for folder in METHOD_FREE
        for path in sorted(folder.rglob("*"))
        if path.suffix in (".py", ".j2")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert found == []


def test_the_method_word_check_sees_a_method_name():
    pattern = re.compile("|".join(re.escape(word) for word in method_words()), re.IGNORECASE)
    assert pattern.search('{% if "LIME" in measured %}') and pattern.search("gradcam_on = True")
    assert not pattern.search("the top regions of every map")


@pytest.mark.slow
def test_a_two_model_report_without_superpixels_never_says_superpixel(tmp_path):
    manifest = tiny_manifest(lime=False, two_models=True, faithfulness=False, sanity=False)
    pages = generated_pages(build_tiny(manifest, tmp_path, site=False))
    assert "top-5 overlap" in pages["cases/chelsea.md"]  # the model-against-model table ran
    assert [name for name, text in pages.items() if "superpixel" in text.lower()] == []
    assert "pixel by pixel" in pages["methods.md"]


@pytest.mark.slow
def test_the_overlap_k_is_metrics_top_k_and_the_figures_keep_num_features(tmp_path):
    manifest = tiny_manifest(two_models=True, num_features=4, faithfulness=False, sanity=False, stability_seeds=1)
    manifest["metrics"]["top_k"] = 3
    pages = generated_pages(build_tiny(manifest, tmp_path, site=False))
    case = pages["cases/chelsea.md"]
    assert "Grad\\-CAM vs LIME top-3 overlap" in case or "Grad-CAM vs LIME top-3 overlap" in case
    assert "| Method | Target | Models | Spearman ρ ↑ | top-3 overlap ↑ |" in case
    assert "Top 4 positive" in case  # LIME's figure tab: num_features
    assert "top-3 overlap | Share of the top 3 superpixels" in pages["methods.md"]
    assert "top-5" not in case
