"""The build, phase by phase: manifest, models, results, figures and pages, site."""

from __future__ import annotations

import errno
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

import generator.resources as resources
from generator.cache.case_cache import NotCached
from generator.cache.figure_cache import FigureCache
from generator.explain.base import batched_setting
from generator.manifest.author_files import author_stubs, ensure_stubs, orphaned_author_files
from generator.manifest.loader import load_manifest
from generator.publish.mkdocs_config import SiteConfig, site_config
from generator.publish.mkdocs_site import (
    build_site,
    case_page_path,
    nav_yaml,
    prune_generated,
)
from generator.publish.pdf import check_pdf_prerequisites, write_pdf
from generator.render.figure_drawer import FigureDrawer, FigureStream, StagedFigures, default_workers
from generator.render.pages import PageRenderer
from generator.run.devices import Inference, batch_size_for, check_device
from generator.run.results import CaseFailure
from generator.session import BuildSession
from generator.tiers import Tiers, predict_and_choose
from generator.utils.atomic import write_bytes
from generator.utils.errors import CaseError, ReportError, UsageError
from generator.utils.lock import build_lock
from generator.utils.options import BuildOptions
from generator.utils.phase_times import reset, snapshot, timed
from generator.utils.progress import progress

if TYPE_CHECKING:
    from generator.cache.store import ResultCache
    from generator.explain.base import AnyExplainer
    from generator.manifest.schema import CaseSpec, Manifest
    from generator.run.models import LoadedModel
    from generator.run.results import CaseResult

log = logging.getLogger(__name__)


@dataclass
class BuildSummary:
    cases: int = 0
    failures: list[CaseFailure] = field(default_factory=list)
    written: int = 0
    seconds: float = 0.0
    cache_hits: int = 0
    cache_misses: int = 0
    stubs_created: list[Path] = field(default_factory=list)
    orphaned: list[Path] = field(default_factory=list)
    rebuilt: list[str] = field(default_factory=list)  # case ids computed by this build (all of them without --only)
    from_cache: list[str] = field(default_factory=list)  # outside --only: read from the result cache
    kept: list[str] = field(default_factory=list)  # case ids outside --only, not cached: their pages kept as they were
    pdf: Path | None = None
    phases: dict[str, float] = field(default_factory=dict)  # phase -> wall seconds (generator.utils.phase_times)

    def record(self, gathered: Gathered) -> None:
        self.cases, self.failures = len(gathered.results), gathered.failures
        self.rebuilt, self.from_cache = gathered.rebuilt, gathered.from_cache
        self.kept = [spec.case_id for spec in gathered.kept]


def build_report(options: BuildOptions) -> BuildSummary:
    """Run the whole build; raise ReportError subclasses for problems the user can fix."""
    started = time.perf_counter()
    reset()
    options = check_device(options)  # "auto" becomes the device at hand; bf16 where it is supported
    manifest = load_manifest(options.manifest)
    content_dir = Path(options.manifest).parent
    if manifest.explain is not None and (options.only or options.shard):
        raise UsageError(
            "--only and --shard do not combine with the manifest's `explain:` yet: build the whole report (every "
            "prediction and explanation is cached, so a rebuild runs only what changed)"
        )
    if options.shard:  # writes only into the cache (atomic, content-addressed): shards may run side by side
        check_shard_options(options)
        with clear_os_errors():
            return compute_shard(manifest, content_dir, options, started)
    site = check_site_config(options, manifest, content_dir)
    with build_lock(content_dir), clear_os_errors():
        return run_phases(manifest, content_dir, options, site, started)


def run_phases(
    manifest: Manifest, content_dir: Path, options: BuildOptions, site: SiteConfig | None, started: float
) -> BuildSummary:
    selected = select_cases(manifest, options.only)
    session = BuildSession.open(options, manifest)
    models, cache = session.models, session.cache
    tiers = predict_and_choose(session, selected)  # None: every case is explained
    explained = selected if tiers is None else tiers.explained(selected)
    if precompute(manifest, explained, options):
        # computed (with --force) by the workers: read back, not again
        session = session.with_options(replace(options, force=False))
    renderer = PageRenderer(manifest, models, inference_of(manifest, options, session.explainers), session.explainers)
    figure_cache = FigureCache.beside_results(options.cache_dir, options.force)
    workers = default_workers(len(manifest.cases)) if options.figure_workers is None else options.figure_workers
    with FigureDrawer(figure_cache, workers) as drawer, StagedFigures(content_dir) as staged:
        stream = FigureStream(drawer, staged, models, renderer.explainers)
        with_pages = None if tiers is None else explained
        gathered = gather_results(session, explained, keep=stream.add, pages_only_for=with_pages)
        stream.finish()
        if tiers is not None:
            gathered.failures = [*tiers.failures, *gathered.failures]
        outputs = render_pages(manifest, renderer, gathered, tiers)
        summary = BuildSummary(written=staged.publish())
    summary.written += write_outputs(content_dir, outputs, staged.paths, [spec.case_id for spec in gathered.kept])
    summary.record(gathered)
    summary.stubs_created = ensure_stubs(content_dir, author_stubs([r.case_id for r in gathered.results], models))
    summary.orphaned = warn_orphaned_author_files(content_dir, manifest, models)
    if site is not None:
        with timed("mkdocs"):
            build_site(site, options.site_dir)
    if options.pdf:
        with timed("pdf"):
            summary.pdf = write_pdf(options.site_dir)
    return finished(summary, cache, started)


def finished(summary: BuildSummary, cache: ResultCache | None, started: float) -> BuildSummary:
    """The summary with the cache's counts, the wall time and the time per phase."""
    if cache is not None:
        summary.cache_hits, summary.cache_misses = cache.stats.hits, cache.stats.misses
    summary.seconds = time.perf_counter() - started
    summary.phases = snapshot()
    return summary


@dataclass
class Gathered:
    """Every case's results before anything is written, in manifest order: computed (the --only cases, or all)
    or read from the cache (the others); the failures (--keep-going); and the cases kept as an earlier build
    wrote them (outside --only, not cached, their page on disk)."""

    results: list[CaseResult]
    rebuilt: list[str]  # case ids
    from_cache: list[str]  # case ids
    failures: list[CaseFailure]
    kept: list[CaseSpec]


def gather_results(
    session: BuildSession,
    selected: Sequence[CaseSpec],
    keep: Callable[[CaseResult], CaseResult] | None = None,
    pages_only_for: Sequence[CaseSpec] | None = None,
) -> Gathered:
    """Every case's results, each passed through `keep` (the build draws its figures and keeps what pages read).

    `pages_only_for`: the cases that have pages (the explained ones); None: every case of the manifest."""
    manifest, content_dir = session.manifest, session.content_dir
    rebuilt, failures, _ = compute_results(session, selected, keep=keep)
    with_pages = manifest.cases if pages_only_for is None else pages_only_for
    others = [spec for spec in with_pages if spec not in selected]
    from_cache, _, uncached = compute_results(session, others, cached_only=True, keep=keep)
    return Gathered(
        results=in_manifest_order(manifest, rebuilt + from_cache),
        rebuilt=[r.case_id for r in rebuilt],
        from_cache=[r.case_id for r in from_cache],
        failures=failures,
        kept=[spec for spec in uncached if page_exists(content_dir, spec)],
    )


def inference_of(manifest: Manifest, options: BuildOptions, explainers: Sequence[AnyExplainer]) -> Inference:
    """The device, precision and batch sizes the methods page reports: the batched explainers' (the first one's
    setting), and the measurements'."""
    batched = batched_setting(explainers)
    return Inference(
        options.device,
        options.precision,
        batch_size_for("auto" if batched is None else batched, options.device),
        batch_size_for(manifest.metrics.batch_size, options.device),
    )


def warn_orphaned_author_files(content_dir: Path, manifest: Manifest, models: Sequence[LoadedModel]) -> list[Path]:
    orphaned = orphaned_author_files(content_dir, [c.case_id for c in manifest.cases], [m.key for m in models])
    for path in orphaned:
        log.warning("%s belongs to no case or model in the manifest; it is kept (delete it yourself if unwanted)", path)
    return orphaned


@contextmanager
def clear_os_errors() -> Iterator[None]:
    """A full disk, a read-only folder or a missing permission becomes one message naming the file."""
    try:
        yield
    except jinja2.TemplateNotFound as error:  # an OSError too, but of the installation, not of the output
        raise resources.IncompleteInstallation(f"the page template {error.name!r}", resources.templates_dir()) from None
    except OSError as error:
        where = error.filename or "the output"
        hints: dict[int | None, str] = {
            errno.ENOSPC: "the disk is full: free some space",
            errno.EROFS: "the file system is read-only: build in a writable copy",
            errno.EACCES: "permission denied: check the folder's permissions",
        }
        hint = hints.get(error.errno, "check that the content and site folders are writable")
        raise ReportError(
            f"cannot write {where}: {error.strerror or error}; {hint}. The previous site is intact."
        ) from None


def check_site_config(options: BuildOptions, manifest: Manifest, content_dir: Path) -> SiteConfig | None:
    """The site's MkDocs configuration (None with --no-site), read before any model runs: a broken file, or a
    template or theme file missing from the installation, stops the build here."""
    resources.templates_dir()
    if options.pdf and not options.site:
        raise UsageError("--pdf prints the built site: leave out --no-site")
    if options.pdf:
        check_pdf_prerequisites()
    if not options.site:
        return None
    resources.theme_dir()
    return site_config(content_dir, options.config, manifest.title, options.site_dir)


def select_cases(manifest: Manifest, only: Sequence[str]) -> list[CaseSpec]:
    if not only:
        return list(manifest.cases)
    known = {case.case_id: case for case in manifest.cases}
    unknown = [case_id for case_id in only if case_id not in known]
    if unknown:
        raise UsageError(f"--only: no case with id {', '.join(map(repr, unknown))}; known ids: {', '.join(known)}")
    return [known[case_id] for case_id in dict.fromkeys(only)]


def in_manifest_order(manifest: Manifest, results: Iterable[CaseResult]) -> list[CaseResult]:
    position = {spec.case_id: i for i, spec in enumerate(manifest.cases)}
    return sorted(results, key=lambda result: position[result.case_id])


def page_exists(content_dir: str | os.PathLike[str], spec: CaseSpec) -> bool:
    return (Path(content_dir) / case_page_path(spec.case_id)).is_file()


def compute_shard(manifest: Manifest, content_dir: Path, options: BuildOptions, started: float) -> BuildSummary:
    """`build --shard K/N`: the results of every N-th case from the K-th into the cache; no figure, page or site."""
    assert options.shard is not None, "only a --shard build computes a shard"
    k, n = options.shard
    cases = shard_cases(select_cases(manifest, options.only), k, n)
    session = BuildSession.open(options, manifest)
    precompute(manifest, cases, options)
    computed, failures, _ = compute_results(session, cases, keep=lambda result: result.case_id)
    return finished(BuildSummary(cases=len(computed), failures=failures, rebuilt=computed), session.cache, started)


def shard_cases(cases: Sequence[CaseSpec], k: int, n: int) -> Sequence[CaseSpec]:
    """The K-th of N parts (1-based): every N-th case in manifest order from the K-th (sizes differ by one at most)."""
    return cases[k - 1 :: n]


def check_shard_options(options: BuildOptions) -> None:
    if options.cache_dir is None:
        raise UsageError("--shard computes into the result cache: give it a --cache-dir")
    if options.pdf:
        raise UsageError("--shard renders nothing: build the PDF in the final build over the merged caches")


def precompute(manifest: Manifest, cases: Sequence[CaseSpec], options: BuildOptions) -> bool:
    """With `--executor ray`, the cases' results are computed on Ray workers into the cache first (True)."""
    if options.executor != "ray" or not cases:
        return False
    from generator.ray_executor import compute_on_ray

    with timed("ray"):
        compute_on_ray(options, [spec.case_id for spec in cases])
    return True


def compute_results(
    session: BuildSession,
    cases: Sequence[CaseSpec],
    cached_only: bool = False,
    keep: Callable[[CaseResult], Any] | None = None,
) -> tuple[list[Any], list[CaseFailure], list[CaseSpec]]:
    """Results (each passed through `keep`), failures and (with `cached_only`) the cases not all in the cache."""
    options = session.options
    results: list[Any] = []  # what `keep` returns (the result itself without it)
    failures: list[CaseFailure] = []
    uncached: list[CaseSpec] = []
    show = options.show_progress and not cached_only and bool(cases)
    with progress(total=len(cases) * len(session.models), unit="model", enabled=show) as bar:
        for spec in cases:
            try:
                result = session.compute(spec, bar, cached_only)
                results.append(keep(result) if keep else result)
            except NotCached:
                uncached.append(spec)
            except CaseError as error:
                if cached_only:  # not asked for in this build: its page stays as it was
                    log.warning("%s (not in --only: its page is kept as it was)", error)
                    uncached.append(spec)
                    continue
                if not options.keep_going:
                    raise
                log.error("%s", error)
                failures.append(CaseFailure(spec, str(error)))
    return results, failures, uncached


def render_pages(
    manifest: Manifest, renderer: PageRenderer, gathered: Gathered, tiers: Tiers | None = None
) -> dict[str, bytes]:
    """The pages and the navigation, as {relative path: bytes}; with `tiers`, the set page too."""
    outputs: dict[str, bytes] = {}
    predicted, reasons = (tiers.predicted, tiers.reasons()) if tiers is not None else ((), None)
    with timed("pages"):
        pages = renderer.pages(gathered.results, gathered.failures, gathered.kept, predicted, reasons)
        for path, text in pages.items():
            outputs[path] = text.encode("utf-8")
    listed = {case.case_id for case in gathered.results} | {spec.case_id for spec in gathered.kept}
    nav_cases = [spec for spec in manifest.cases if spec.case_id in listed]
    outputs["nav.yml"] = nav_yaml(manifest, nav_cases, with_set=tiers is not None).encode("utf-8")
    return outputs


def write_outputs(
    content_dir: str | os.PathLike[str],
    outputs: Mapping[str, bytes],
    also_generated: Iterable[str] = (),
    keep_cases: Iterable[str] = (),
) -> int:
    """Write every output; delete generated files that no output, figure written by this build
    (`also_generated`) or kept case accounts for. Returns how many files changed."""
    written = sum(write_bytes(Path(content_dir) / path, data) for path, data in outputs.items())
    prune_generated(content_dir, [*outputs, *also_generated], keep_cases)
    return written
