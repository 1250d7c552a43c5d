"""The golden tree: the offline example's generated Markdown, committed under tests/golden/offline/ (Pelican's way).

The example is built as the browser tests build it (tests/browser_site.py: the offline example with LIME's
sample count lowered), and every generated Markdown page (the overview, the comparison, the methods page and
each case page) is compared file by file with the committed copy. What changes from machine to machine and
not with the code, the package versions of the methods page's Software table, is replaced by a placeholder
in both, so that the comparison reads only what the code decides.

After an intended change of the pages, regenerate the tree and review its diff before committing it:

    python tests/golden/regenerate.py
"""

import re
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "golden" / "offline"
PAGES = ("index.md", "comparison.md", "methods.md")
VERSION_ROW = re.compile(r"^\| (\S+) \| [^|]+ \|$")
VERSION = "<version>"


def generated_markdown(content_dir):
    """{path relative to the content folder: text} of every page the build generates (not the author's)."""
    content_dir = Path(content_dir)
    paths = [content_dir / name for name in PAGES] + sorted((content_dir / "cases").glob("*.md"))
    return {p.relative_to(content_dir).as_posix(): normalised(p.read_text(encoding="utf-8")) for p in paths}


def normalised(text):
    """The page with the Software table's versions replaced by VERSION."""
    lines, in_software = [], False
    for line in text.splitlines(keepends=True):
        if line.startswith("## "):
            in_software = line.strip() == "## Software"
        match = VERSION_ROW.match(line.rstrip("\n"))
        if in_software and match and match.group(1) not in ("Package", "---"):
            line = f"| {match.group(1)} | {VERSION} |\n"
        lines.append(line)
    return "".join(lines)


def golden_tree():
    return {p.relative_to(GOLDEN).as_posix(): p.read_text(encoding="utf-8") for p in sorted(GOLDEN.rglob("*.md"))}


def write_golden(pages):
    for old in GOLDEN.rglob("*.md"):
        old.unlink()
    for name, text in pages.items():
        path = GOLDEN / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
