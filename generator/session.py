"""The build session: the one owner of a build's setup, shared by build, `--shard`, `check` and the Ray workers.

Opening one loads the manifest and the models, opens the result cache and builds the enabled explainers and
the measurer once; `compute` runs one case through them, seeded the same way wherever it runs, so that a
case computed by a shard, a Ray worker or the build itself gives the same result.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, overload

import torch

from generator.cache.store import ResultCache
from generator.compute import CaseContext, Missing, case_computers, compute_case
from generator.explain.base import Explainer
from generator.manifest.loader import load_manifest
from generator.manifest.schema import CaseSpec, Manifest
from generator.measure.measurer import Measurer
from generator.run.class_names import unknown_classes
from generator.run.models import LoadedModel, load_models
from generator.run.results import CaseResult
from generator.utils.errors import ManifestError
from generator.utils.options import BuildOptions
from generator.utils.phase_times import timed


@dataclass(frozen=True)
class BuildSession(CaseContext):
    """A build's CaseContext, opened once from the options: the manifest, the models, the cache, the computers."""

    @classmethod
    def open(cls, options: BuildOptions, manifest: Manifest | None = None) -> BuildSession:
        """The session of a manifest (read from `options.manifest` unless given): weights resolved, models built."""
        manifest = manifest if manifest is not None else load_manifest(options.manifest)
        content_dir = Path(options.manifest).parent
        with timed("models"):
            models = load_models(manifest, content_dir, options.device)
        problems = unknown_classes(manifest, models)
        if problems:
            raise ManifestError(options.manifest, problems)
        cache = ResultCache(options.cache_dir) if options.cache_dir else None
        explainers, measurer = case_computers(manifest, options)
        return cls(manifest, content_dir, models, explainers, measurer, cache, options)

    # the session's own, as typed by open (CaseContext allows sequences of any explainer and no measurer)
    models: list[LoadedModel]
    explainers: list[Explainer]
    measurer: Measurer

    def with_options(self, options: BuildOptions) -> BuildSession:
        return replace(self, options=options)

    @overload
    def compute(
        self, spec: CaseSpec, bar: Any = None, cached_only: bool = False, dry_run: Literal[False] = False
    ) -> CaseResult: ...

    @overload
    def compute(
        self, spec: CaseSpec, bar: Any = None, cached_only: bool = False, *, dry_run: Literal[True]
    ) -> Missing: ...

    def compute(
        self, spec: CaseSpec, bar: Any = None, cached_only: bool = False, dry_run: bool = False
    ) -> CaseResult | Missing:
        """One case's results (see generator.compute.compute_case), the global RNG seeded per case."""
        torch.manual_seed(self.manifest.seed)
        return compute_case(self, spec, bar, cached_only, dry_run)
