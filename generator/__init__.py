"""xai-report: a static report-site generator that explains what image classifiers look at.

The library call is `build_report` (generator/api.py), imported on first use so that `import generator` and the
command line's `--help` stay light:

    from generator import build_report
    summary = build_report("myreport/manifest.yaml")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from generator.utils.version import __version__

if TYPE_CHECKING:
    from generator.api import BuildSummary, build_report

__all__ = ["BuildSummary", "__version__", "build_report"]


def __getattr__(name: str) -> Any:
    if name in ("build_report", "BuildSummary"):
        import generator.api as api

        return getattr(api, name)
    raise AttributeError(f"module 'generator' has no attribute {name!r}")
