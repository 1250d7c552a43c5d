"""The library call: build a report from Python (a notebook, a script) with the command line's options.

    from generator import build_report
    summary = build_report("myreport/manifest.yaml")                     # as `xai-report build` there
    summary = build_report({"title": ..., "cases": [...]}, report_dir="myreport")  # a manifest as a dict

Paths left out are the report folder's (generator/manifest/report_folder.py): its mkdocs.yml, site/ and
.cache/results. Problems raise the command line's `ReportError`s (generator/utils/errors.py), each with the
exit code the command would return as `exit_code`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from generator.build import BuildSummary
from generator.build import build_report as run_build
from generator.manifest.report_folder import ReportFolder
from generator.utils.atomic import write_text
from generator.utils.errors import UsageError
from generator.utils.options import BuildOptions

__all__ = ["BuildSummary", "build_report", "report_options"]

DICT_MANIFEST = ".xai-report-manifest.yaml"  # a manifest given as a dict, written into the report folder

PathArgument = str | os.PathLike[str]


def build_report(
    manifest: PathArgument | Mapping[str, Any] | None = None,
    *,
    report_dir: PathArgument | None = None,
    config: PathArgument | None = None,
    site_dir: PathArgument | None = None,
    cache_dir: PathArgument | None = None,
    cache: bool = True,
    only: Sequence[str] = (),
    site: bool = True,
    pdf: bool = False,
    keep_going: bool = False,
    device: str = "cpu",
    precision: str = "fp32",
    force: bool = False,
    executor: str = "local",
    jobs: int | None = None,
    progress: bool = False,
) -> BuildSummary:
    """Build the report of `manifest`: a path, a dict (written to `report_dir`/.xai-report-manifest.yaml; its
    images are relative to `report_dir`), or None (the manifest.yaml of `report_dir`, else of the current folder).

    The other arguments are `xai-report build`'s options; `cache=False` computes everything without a result cache.
    """
    if isinstance(manifest, Mapping):
        if report_dir is None:
            raise UsageError(
                "build_report: a manifest given as a dict needs report_dir (its images are relative to it)"
            )
        manifest = write_manifest(manifest, Path(report_dir))
    elif manifest is None:
        manifest = ReportFolder.here(report_dir or ".").manifest
    options = report_options(
        Path(manifest),
        config=config,
        site_dir=site_dir,
        cache_dir=cache_dir,
        cache=cache,
        only=tuple(only),
        site=site,
        pdf=pdf,
        keep_going=keep_going,
        device=device,
        precision=precision,
        force=force,
        executor=executor,
        figure_workers=jobs,
        show_progress=progress,
    )
    return run_build(options)


def report_options(
    manifest: Path | None,
    *,
    config: PathArgument | None = None,
    site_dir: PathArgument | None = None,
    cache_dir: PathArgument | None = None,
    cache: bool = True,
    **settings: Any,
) -> BuildOptions:
    """The build's options, with what is left out taken from the report folder (the manifest's, else the current
    folder's): its mkdocs.yml where there is one, its site/ and its .cache/results."""
    folder = ReportFolder.of(manifest) if manifest is not None else ReportFolder.here()
    return BuildOptions(
        manifest=folder.manifest,
        config=Path(config) if config is not None else folder.mkdocs_overrides,
        site_dir=Path(site_dir) if site_dir is not None else folder.site_dir,
        cache_dir=(Path(cache_dir) if cache_dir is not None else folder.cache_dir) if cache else None,
        **settings,
    )


def write_manifest(manifest: Mapping[str, Any], report_dir: Path) -> Path:
    report_dir.mkdir(parents=True, exist_ok=True)
    path = report_dir / DICT_MANIFEST
    header = "# Written by xai-report's build_report from a manifest given as a dict: do not edit.\n"
    try:
        text = yaml.safe_dump(dict(manifest), sort_keys=False, allow_unicode=True)
    except yaml.YAMLError as error:
        raise UsageError(f"build_report: the manifest dict holds a value that is not plain data: {error}") from None
    write_text(path, header + text)
    return path
