"""Figures drawn while the build goes on: by a pool of processes sized to the machine, or in the build's own.

The build hands each case's figure jobs ({path: (figure function, args)}) to `submit` as soon as the case's
results exist, and writes what `ready()` yields between cases, so that drawing overlaps the models' work
and no figure's bytes wait in memory for the whole build. Figures found in the figure cache are not drawn.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from generator.render.case_figures import case_figures
from generator.utils.atomic import write_bytes
from generator.utils.phase_times import timed
from generator.utils.workers import ignore_interrupts

if TYPE_CHECKING:
    from generator.cache.figure_cache import FigureCache
    from generator.explain.base import AnyExplainer, FigureJob
    from generator.run.models import LoadedModel
    from generator.run.results import CaseResult

MIN_CASES_FOR_A_POOL = 8  # below this, starting the processes costs more than drawing the figures
MAX_WORKERS = 8
MAX_PENDING = 256  # figures waiting for the pool before the build waits for it (bounds the memory they hold)


def default_workers(case_count: int, cpu_count: int | None = None) -> int:
    """Processes for drawing: one per core beyond the first (at most 8), none for a small build."""
    cpus = cpu_count or os.cpu_count() or 1
    if case_count < MIN_CASES_FOR_A_POOL or cpus < 2:
        return 0
    return min(cpus - 1, MAX_WORKERS)


class FigureDrawer:
    """`submit(jobs)`, then `ready()` between cases and `finish()` at the end: (path, PNG/JPEG bytes) pairs."""

    def __init__(self, cache: FigureCache, workers: int = 0) -> None:
        self.cache = cache
        self.executor: ProcessPoolExecutor | None = None
        if workers > 0:
            self.executor = ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=ignore_interrupts)
        self.done: deque[tuple[str, bytes]] = deque()  # (path, bytes) not yet handed out
        self.pending: dict[str, tuple[str | None, Future[bytes]]] = {}  # path -> (cache key, future)

    def __enter__(self) -> FigureDrawer:
        return self

    def __exit__(
        self,
        error_type: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=error_type is None, cancel_futures=error_type is not None)

    def submit(self, jobs: Mapping[str, FigureJob]) -> None:
        for path, (function, args) in jobs.items():
            if self.executor is None:
                self.done.append((path, self.cache.render(function, *args)))
                continue
            key, data = self.cache.find(function, args)
            if data is None:
                self.pending[path] = (key, self.executor.submit(function, *args))
            else:
                self.done.append((path, data))

    def ready(self) -> Iterator[tuple[str, bytes]]:
        """Every figure finished so far; with more than MAX_PENDING waiting, every one (drawing falls behind)."""
        yield from self.collect(wait=len(self.pending) > MAX_PENDING)

    def finish(self) -> Iterator[tuple[str, bytes]]:
        """Every figure still outstanding, waiting for the pool."""
        yield from self.collect(wait=True)

    def collect(self, wait: bool) -> Iterator[tuple[str, bytes]]:
        while self.done:
            yield self.done.popleft()
        for path in [p for p, (_, future) in self.pending.items() if wait or future.done()]:
            key, future = self.pending.pop(path)
            data = future.result()
            self.cache.keep(key, data)
            yield path, data


class FigureStream:
    """Each case's figures as soon as its results exist: drawn (or found in the cache) and staged, while
    the case itself is kept without its pixels (`CaseResult.for_pages`)."""

    def __init__(
        self,
        drawer: FigureDrawer,
        staged: StagedFigures,
        models: Iterable[LoadedModel],
        explainers: Sequence[AnyExplainer],
    ) -> None:
        self.drawer, self.staged, self.explainers = drawer, staged, explainers
        self.models_by_key = {model.key: model for model in models}

    def add(self, case: CaseResult) -> CaseResult:
        with timed("figures"):
            self.drawer.submit(case_figures(case, self.models_by_key, self.explainers))
            self.stage(self.drawer.ready())
        return case.for_pages()

    def finish(self) -> None:
        with timed("figures"):
            self.stage(self.drawer.finish())

    def stage(self, figures: Iterable[tuple[str, bytes]]) -> None:
        for path, data in figures:
            self.staged.add(path, data)


class StagedFigures:
    """Figures written into a hidden folder of the content folder as they come, and moved into place only
    by `publish()` once the pages exist: a build that stops half-way leaves the figures as they were."""

    PREFIX = ".figures-staging-"

    def __init__(self, content_dir: str | os.PathLike[str]) -> None:
        self.content_dir = Path(content_dir)
        self.paths: list[str] = []  # every figure of this build
        self.changed: list[str] = []  # those staged: new, or with other bytes than their file
        self.folder: Path | None = None  # the staging folder, while entered

    def __enter__(self) -> StagedFigures:
        for stale in self.content_dir.glob(f"{self.PREFIX}*"):  # left by a killed build (we hold the lock)
            shutil.rmtree(stale, ignore_errors=True)
        self.content_dir.mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix=self.PREFIX, dir=self.content_dir))
        return self

    def __exit__(self, *exc: object) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    def add(self, path: str, data: bytes) -> None:
        """Stage a figure; one whose file already holds these bytes is only noted (a no-op rebuild writes none)."""
        self.paths.append(path)
        target = self.content_dir / path
        if not (target.is_file() and target.stat().st_size == len(data) and target.read_bytes() == data):
            assert self.folder is not None, "add() outside `with`"
            write_bytes(self.folder / path, data)
            self.changed.append(path)

    def publish(self) -> int:
        """Move every staged figure over its place; how many changed."""
        for path in self.changed:
            assert self.folder is not None, "publish() outside `with`"
            target = self.content_dir / path
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.folder / path, target)
        return len(self.changed)
