"""The offline example's generated Markdown equals the committed golden tree, file by file (tests/golden_tree.py)."""

import difflib

import pytest

from tests.golden_tree import GOLDEN, generated_markdown, golden_tree, normalised

pytestmark = pytest.mark.slow
REGENERATE = "python tests/golden/regenerate.py"


def test_the_offline_example_matches_the_golden_tree(built_site):
    built, expected = generated_markdown(built_site.content_dir), golden_tree()
    assert sorted(built) == sorted(expected), f"pages differ from {GOLDEN}; after an intended change: {REGENERATE}"
    changed = [name for name in expected if built[name] != expected[name]]
    diffs = "".join(
        "".join(difflib.unified_diff(expected[n].splitlines(True), built[n].splitlines(True), f"golden/{n}", f"built/{n}"))
        for n in changed
    )
    assert not changed, f"{len(changed)} page(s) differ from the golden tree; after an intended change: {REGENERATE}\n{diffs}"


def test_only_the_versions_are_normalised():
    page = "## Inference\n\n| torch | 9 |\n\n## Software\n\n| Package | Version |\n|---|---|\n| torch | 2.14.1 |\n\n## Next\n\n| a | 1 |\n"
    assert normalised(page) == page.replace("| torch | 2.14.1 |", "| torch | <version> |")
