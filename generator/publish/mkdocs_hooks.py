"""MkDocs hook: take the navigation and site name the generator wrote, and point snippets at docs_dir.

Keeps mkdocs.yml free of per-case edits; `mkdocs serve` and `python -m generator build` agree.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig

REPORT_FILE = "nav.yml"


def on_config(config: MkDocsConfig, **kwargs: object) -> MkDocsConfig:
    report_file = Path(config["docs_dir"]) / REPORT_FILE
    if report_file.is_file():
        report = yaml.safe_load(report_file.read_text(encoding="utf-8")) or {}
        if not config.get("nav") and report.get("nav"):
            config["nav"] = report["nav"]
        if report.get("site_name"):
            config["site_name"] = report["site_name"]
    snippets = config["mdx_configs"].setdefault("pymdownx.snippets", {})
    snippets["base_path"] = [config["docs_dir"]]
    return config
