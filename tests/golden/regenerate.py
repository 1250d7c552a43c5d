"""Rebuild the offline example as the tests do and write its generated Markdown into tests/golden/offline/.

    python tests/golden/regenerate.py

Run it after an intended change of the pages, then read `git diff tests/golden/` before committing.
"""

import sys
import tempfile
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(TESTS.parent), str(TESTS)]  # run as a script: the repository and tests/ as pytest sees them

from browser_site import build_site  # noqa: E402
from golden_tree import GOLDEN, generated_markdown, write_golden  # noqa: E402


def main():
    with tempfile.TemporaryDirectory(prefix="xai-golden-") as folder:
        built = build_site(Path(folder))
        pages = generated_markdown(built.content_dir)
    write_golden(pages)
    print(f"wrote {len(pages)} pages to {GOLDEN.relative_to(TESTS.parent)}")


if __name__ == "__main__":
    main()
