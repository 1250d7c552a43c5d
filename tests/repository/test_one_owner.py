"""One owner for each method: outside its own module and its own templates, nothing under generator/ or templates/
names it (a method that declares it reuses another may name that one); each measure carries its own k and unit."""

import ast
import io
import re
import sys
import tokenize
from pathlib import Path

import pytest
from switches import build_tiny, generated_pages, tiny_manifest

from generator.explain import EXPLAINERS

REPO = Path(__file__).resolve().parents[2]
METHOD_FREE = [REPO / "generator" / "render", REPO / "generator" / "measure", REPO / "templates"]
# (file, word): a name that is not the method's. The lime distribution's version is part of every result's key.
NOT_THE_METHOD = {("generator/cache/store.py", "lime")}


def docstring_lines(tree):
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                lines.update(range(first.lineno, first.end_lineno + 1))
    return lines


def named_in_code(source, word):
    """Lines where `word` is a name or inside a string of the code (docstrings and comments are prose, left out)."""
    prose = docstring_lines(ast.parse(source))
    pattern = re.compile(rf"(?<![\w-]){re.escape(word)}(?![\w+])")
    return sorted(
        {
            token.start[0]
            for token in tokenize.generate_tokens(io.StringIO(source).readline)
            if token.type in (tokenize.NAME, tokenize.STRING)
            and token.start[0] not in prose
            and pattern.search(token.string)
        }
    )


def owners(name):
    """The files allowed to name a method: its module, the modules of methods that reuse it, and their templates."""
    classes = [EXPLAINERS[name]] + [cls for cls in EXPLAINERS.values() if name in cls.reuses]
    modules = {Path(sys.modules[cls.__module__].__file__).resolve() for cls in classes}
    stems = {cls.__module__.rpartition(".")[2] for cls in classes}
    templates = {p.resolve() for stem in stems for p in (REPO / "templates" / "explainers").glob(f"{stem}.*.md.j2")}
    return modules | templates


def naming_files(name):
    found = []
    allowed = owners(name)
    for path in sorted((REPO / "generator").rglob("*.py")):
        relative = path.relative_to(REPO).as_posix()
        if path.resolve() in allowed or (relative, name) in NOT_THE_METHOD:
            continue
        found += [f"{relative}:{line}" for line in named_in_code(path.read_text(encoding="utf-8"), name)]
    words = [name, EXPLAINERS[name].title]
    pattern = re.compile("|".join(rf"(?<![\w-]){re.escape(w)}(?![\w+])" for w in words))
    for path in sorted((REPO / "templates").rglob("*.j2")):
        if path.resolve() not in allowed:
            text = path.read_text(encoding="utf-8")
            found += [f"{path.relative_to(REPO)}:{n}" for n, line in enumerate(text.splitlines(), 1) if pattern.search(line)]
    return found


@pytest.mark.parametrize("name", list(EXPLAINERS))
def test_only_its_own_files_name_a_method(name):
    assert naming_files(name) == []


def test_the_owner_check_sees_a_method_named_elsewhere(tmp_path):
    source = 'FIRST = ("gradcam", "lime")\n\n\ndef f():\n    """LIME, in prose."""\n    return EXPLAINERS["scorecam"]  # scorecam\n'
    assert named_in_code(source, "gradcam") == [1] and named_in_code(source, "scorecam") == [6]
    assert named_in_code(source, "LIME") == []  # a docstring and a comment are prose
    assert named_in_code("x = lime_top_positive\n", "lime") == []  # a longer name is not the method's


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
        if path.suffix in (".py", ".j2") and "explainers" not in path.relative_to(REPO).parts  # the methods' own
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
