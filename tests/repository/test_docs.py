"""The README is a short front door; docs/ holds the rest. The README documents every command, the exit codes
and the two commands CI and the Pages workflow run; docs/manifest.md documents every manifest key and every
family's Grad-CAM layer; every relative link of the README and docs/ resolves, anchors included."""

import re
import unicodedata
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from generator.cli import main
from generator.manifest.schema import EXPLAINER_SECTIONS, METRIC_FIELDS, CaseSpec, Manifest, ModelSpec
from generator.run.sources.torchvision_source import FAMILY_LAYERS
from generator.utils import errors

ROOT = Path(__file__).resolve().parents[2]
README_PATH = ROOT / "README.md"
README = README_PATH.read_text(encoding="utf-8")
MANIFEST_PAGE = (ROOT / "docs" / "manifest.md").read_text(encoding="utf-8")
PAGES = [README_PATH, *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_LINES = 300


def test_every_command_is_documented():
    for name in main.commands:
        assert f"python -m generator {name}" in README, name


def test_exit_codes_are_documented():
    for code in (0, errors.EXIT_BUILD_FAILED, errors.EXIT_BAD_INPUT, errors.EXIT_INTERRUPTED):
        assert f"| **{code}** |" in README, code


def test_two_commands_of_the_front_door():
    assert "pip install -e . && python -m generator build" in README
    assert "pip install -e '.[test]' && python -m pytest -q -rs" in README


def test_the_test_command_is_the_one_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    pytest_lines = [line.strip() for line in ci.splitlines() if line.strip().startswith("python -m pytest")]
    assert pytest_lines, ".ci/run runs no `python -m pytest` line"
    for line in pytest_lines:
        assert line in README, f"README.md does not show CI's test command `{line}`"


def test_readme_stays_a_front_door():
    lines = README.count("\n")
    assert lines <= README_MAX_LINES, (
        f"README.md has {lines} lines; move detail into docs/ (at most {README_MAX_LINES})"
    )


def test_readme_links_every_docs_page():
    for page in PAGES[1:]:
        assert f"](docs/{page.name}" in README, page.name


def yaml_blocks(text):
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, flags=re.S)]


@pytest.fixture(autouse=True)
def every_method_section():
    EXPLAINER_SECTIONS.load()  # the schema as the loader sees it: with every method's section
    METRIC_FIELDS.load()  # and every measure's keys


def test_the_readme_manifest_is_a_valid_manifest():
    (brief,) = yaml_blocks(README)
    Manifest.model_validate(brief)


def manifest_reference():
    """The YAML block under docs/manifest.md's "Every key" heading, parsed."""
    return yaml_blocks(MANIFEST_PAGE.split("\n## Every key\n", 1)[1])[0]


def test_manifest_reference_shows_every_key_of_the_schema():
    reference = manifest_reference()

    def missing(model, shown, path):
        for name, info in model.model_fields.items():
            if name not in shown:
                yield f"{path}{name}"
                continue
            nested = info.annotation
            if isinstance(nested, type) and issubclass(nested, BaseModel):
                yield from missing(nested, shown[name], f"{path}{name}.")

    problems = list(missing(Manifest, reference, ""))
    problems += [f"models[].{n}" for n in ModelSpec.model_fields if n not in reference["models"][0]]
    problems += [f"cases[].{n}" for n in CaseSpec.model_fields if n not in reference["cases"][0]]
    assert problems == []
    Manifest.model_validate({**reference, "cases": [{"image": "images/x.png"}]})  # and it is a valid manifest


def test_every_family_with_a_default_layer_is_in_the_architecture_table():
    table = MANIFEST_PAGE.split("\n## Models and the Grad-CAM layer\n", 1)[1].split("\n\n| Family |", 1)[1]
    for prefix in FAMILY_LAYERS:
        assert f"`{prefix}" in table, prefix


def github_slug(heading):
    """The anchor GitHub gives a heading: its text without Markdown, lowercased, punctuation dropped
    (letters, digits, spaces, hyphens and underscores kept), spaces turned into hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = unicodedata.normalize("NFC", text).strip().lower()
    text = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LN")
    return text.replace(" ", "-")


def prose(text):
    """The text outside fenced code blocks (a '#' or a '[x](y)' inside one is code, not Markdown)."""
    return re.sub(r"^(```|~~~).*?^\1", "", text, flags=re.S | re.M)


def anchors(path):
    """Every heading anchor of a Markdown file, with GitHub's -1, -2, ... for repeated headings."""
    seen, found = {}, set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", prose(path.read_text(encoding="utf-8")), flags=re.M):
        slug = github_slug(heading)
        found.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
        seen[slug] = seen.get(slug, 0) + 1
    return found


def relative_links(path):
    """(target, anchor) of every inline link and image of a Markdown file that is not a URL."""
    text = re.sub(r"`[^`\n]*`", "", prose(path.read_text(encoding="utf-8")))
    for target in re.findall(r"!?\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)", text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, flags=re.I):  # https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        yield file_part, anchor


def test_github_slugs():
    assert github_slug("Bad input: what you get") == "bad-input-what-you-get"
    assert github_slug("Rebuilding some cases: `--only`") == "rebuilding-some-cases---only"
    assert (
        github_slug("Large reports: cost against the number of cases")
        == "large-reports-cost-against-the-number-of-cases"
    )
    assert github_slug("Models and the Grad-CAM layer") == "models-and-the-grad-cam-layer"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    broken = []
    for file_part, anchor in relative_links(page):
        target = (page.parent / file_part).resolve() if file_part else page
        if not target.exists():
            broken.append(f"{file_part}: no such file")
        elif anchor and target.suffix == ".md" and anchor not in anchors(target):
            broken.append(f"{file_part}#{anchor}: no heading with this anchor in {target.relative_to(ROOT)}")
    assert broken == []


def test_the_link_checker_sees_links_and_anchors(tmp_path):
    (tmp_path / "a.md").write_text("# Title\n\n## Two words\n\n## Two words\n", encoding="utf-8")
    page = tmp_path / "b.md"
    page.write_text(
        "[ok](a.md#two-words-1) [url](https://example.com/x) ![img](pic.png) [self](#here)\n"
        "`[not a link](nowhere.md)`\n```\n[code](nowhere.md)\n```\n## Here\n",
        encoding="utf-8",
    )
    assert list(relative_links(page)) == [("a.md", "two-words-1"), ("pic.png", ""), ("", "here")]
    assert anchors(tmp_path / "a.md") == {"title", "two-words", "two-words-1"}
