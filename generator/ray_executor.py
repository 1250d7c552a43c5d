"""`build --executor ray`: the cases' results computed on Ray workers into the shared result cache.

Each worker is a Ray actor that loads the manifest and the models once, then computes the cases it is
handed, writing every result into the cache (atomic, content-addressed files, so workers never clash).
The build then reads them back and renders here, without running a model. On a cluster the project
folder and the cache folder must be reachable at the same paths from every node (a shared file
system), and xai-report installed on each; `RAY_ADDRESS` names the cluster (unset: a local instance).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from generator.utils.errors import ReportError, UsageError

if TYPE_CHECKING:
    from generator.utils.options import BuildOptions

log = logging.getLogger(__name__)

CPUS_PER_WORKER = 1


def import_ray() -> ModuleType:
    try:
        import ray
    except ImportError:
        raise UsageError("--executor ray needs Ray: pip install 'xai-report[ray]'") from None
    return ray


def absolute(options: BuildOptions) -> BuildOptions:
    """The options with every path absolute: workers need not share the build's working folder."""
    cache_dir = None if options.cache_dir is None else Path(options.cache_dir).resolve()
    return replace(
        options,
        manifest=Path(options.manifest).resolve(),
        config=None if options.config is None else Path(options.config).resolve(),
        site_dir=Path(options.site_dir).resolve(),
        cache_dir=cache_dir,
    )


class CaseWorker:
    """One Ray actor: the models loaded once, then `compute(case_id)` per case (None, or the case's error)."""

    def __init__(self, options: BuildOptions) -> None:
        import torch

        from generator.session import BuildSession

        torch.set_num_threads(CPUS_PER_WORKER)
        self.session = BuildSession.open(options)
        self.specs = {spec.case_id: spec for spec in self.session.manifest.cases}

    def compute(self, case_id: str) -> str | None:
        try:
            self.session.compute(self.specs[case_id])
        except ReportError as error:
            return str(error)
        return None


def worker_count(ray: ModuleType, cases: int) -> int:
    cpus = int(ray.available_resources().get("CPU", CPUS_PER_WORKER))
    return max(1, min(cases, cpus // CPUS_PER_WORKER))


def compute_on_ray(options: BuildOptions, case_ids: Sequence[str]) -> None:
    """Compute `case_ids` on Ray workers into `options.cache_dir`. A case that fails there is logged; the
    build computes it again here, where its error is reported as in a serial build."""
    if options.cache_dir is None:
        raise UsageError("--executor ray hands results over through the result cache: give it a --cache-dir")
    ray = import_ray()
    from ray.util import ActorPool

    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=os.environ.get("RAY_ADDRESS"), include_dashboard=False, logging_level=logging.WARNING)
    try:
        gpus = 1 if options.device == "cuda" else 0
        actor = ray.remote(num_cpus=CPUS_PER_WORKER, num_gpus=gpus)(CaseWorker)
        workers = [actor.remote(absolute(options)) for _ in range(worker_count(ray, len(case_ids)))]
        log.info("Ray: %d worker(s) computing %d case(s)", len(workers), len(case_ids))
        pool = ActorPool(workers)
        for error in pool.map_unordered(lambda worker, case_id: worker.compute.remote(case_id), list(case_ids)):
            if error:
                log.warning("on a Ray worker: %s (computed again here)", error)
        for worker in workers:
            ray.kill(worker)
    finally:
        if started_here:
            ray.shutdown()
