"""The Pages workflow's shard plan: how many parallel jobs compute a manifest's cases before the site is built.

Run by the workflow's `plan` job, in the repository and in every folder `xai-report new` writes:

    python -m generator.publish.shard_plan [MANIFEST] >> "$GITHUB_OUTPUT"

prints `shards=[1, 2, 3, 4]` for more than SHARD_ABOVE cases (default 40) in SHARDS parts (default 4), else
`shards=[]`. It imports nothing but PyYAML, so that job installs the tool with `--no-deps` and no torch.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

DEFAULT_MANIFEST = "content/manifest.yaml"
DEFAULT_SHARD_ABOVE = 40
DEFAULT_SHARDS = 4


def shard_plan(case_count: int, above: int, parts: int) -> list[int]:
    """The shard numbers 1..parts when there are more than `above` cases, else none (one build does it all)."""
    return list(range(1, parts + 1)) if case_count > above and parts > 1 else []


def listed_case_count(manifest: Path) -> int:
    """The entries of the manifest's `cases:` (read with PyYAML alone: the loader would need the whole tool)."""
    document = yaml.safe_load(manifest.read_text(encoding="utf-8")) or {}
    cases = document.get("cases") if isinstance(document, dict) else None
    return len(cases) if isinstance(cases, list) else 0


def github_output(manifest: Path, environment: Mapping[str, str]) -> str:
    above = int(environment.get("SHARD_ABOVE", DEFAULT_SHARD_ABOVE))
    parts = int(environment.get("SHARDS", DEFAULT_SHARDS))
    return f"shards={json.dumps(shard_plan(listed_case_count(manifest), above, parts))}"


def main(arguments: Sequence[str]) -> None:
    print(github_output(Path(arguments[0] if arguments else DEFAULT_MANIFEST), os.environ))


if __name__ == "__main__":
    main(sys.argv[1:])
