"""MkDocs hook: the navigation and site name the build wrote (nav.yml), snippets read from docs_dir, and the
report's theme assets (viewer, gallery, tables, print CSS, offline search shim) from this package.

Keeps the MkDocs configuration free of per-case edits; `xai-report serve` and `xai-report build` agree.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from generator.resources import theme_dir

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig

REPORT_FILE = "nav.yml"


def on_config(config: MkDocsConfig, **kwargs: object) -> MkDocsConfig:
    report_file = Path(config["docs_dir"]) / REPORT_FILE
    if report_file.is_file():
        report = yaml.safe_load(report_file.read_text(encoding="utf-8")) or {}
        # the generated navigation first, then the author's own entries (their mkdocs.yml's nav)
        config["nav"] = list(report.get("nav") or []) + list(config.get("nav") or [])
        if report.get("site_name"):
            config["site_name"] = report["site_name"]
    snippets = config["mdx_configs"].setdefault("pymdownx.snippets", {})
    snippets["base_path"] = [config["docs_dir"]]
    add_theme_assets(config)
    return config


def add_theme_assets(config: MkDocsConfig) -> None:
    """This package's theme folder, after the author's custom_dir (theirs overrides ours) and before Material's."""
    ours = str(theme_dir().resolve())
    dirs = config.theme.dirs
    if any(Path(folder).resolve() == Path(ours) for folder in dirs):
        return
    dirs.insert(1 if config.theme.custom_dir else 0, ours)
