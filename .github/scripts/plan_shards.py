"""Print the Pages workflow's shard plan for the manifest: `shards=[1, 2, 3, 4]` above SHARD_ABOVE cases, else `[]`.

Usage: python .github/scripts/plan_shards.py [MANIFEST] >> "$GITHUB_OUTPUT"
Environment: SHARD_ABOVE (default 40 cases), SHARDS (default 4 parts). Needs only PyYAML.
"""

import json
import os
import sys

import yaml


def plan(case_count, above, parts):
    return list(range(1, parts + 1)) if case_count > above and parts > 1 else []


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "content/manifest.yaml"
    with open(path, encoding="utf-8") as handle:
        cases = (yaml.safe_load(handle) or {}).get("cases") or []
    shards = plan(len(cases), int(os.environ.get("SHARD_ABOVE", "40")), int(os.environ.get("SHARDS", "4")))
    print(f"shards={json.dumps(shards)}")


if __name__ == "__main__":
    main()
