"""The options of a build, at the bottom of the package: every stage that runs models reads them, none defines them.

This module imports nothing of the package (tests/repository/test_layout.py), so that the build, the session, one case's
computation, the device check and the Ray workers can all name the type without an import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class BuildOptions:
    manifest: Path = Path("content/manifest.yaml")
    config: Path | None = None  # the author's mkdocs.yml, merged over the tool's MkDocs configuration; None: none
    site_dir: Path = Path("site")
    only: tuple[str, ...] = ()  # case ids
    site: bool = True
    keep_going: bool = False
    device: str = "cpu"
    precision: str = "fp32"
    show_progress: bool = True
    force: bool = False
    cache_dir: Path | None = Path(".cache/results")
    pdf: bool = False
    shard: tuple[int, int] | None = (
        None  # (k, n): compute the k-th of n parts of the cases into the cache, render nothing
    )
    executor: str = "local"  # "ray": compute the cases on Ray workers (generator/ray_executor.py), render here
    figure_workers: int | None = None  # processes drawing figures; None: one per core beyond the first
