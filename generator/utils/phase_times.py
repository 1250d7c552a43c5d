"""Where a build's time goes: wall seconds per phase, summed over cases and models.

The build resets the clock at its start and reports the sums in its summary (`-v` logs them);
`bench/bench_report.py` reads them. A phase nested in another is counted in both, so the phases
are timed where they do not nest: the explainers by name, the three measurements, figures, pages, MkDocs.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

_seconds: defaultdict[str, float] = defaultdict(float)


def reset() -> None:
    _seconds.clear()


@contextmanager
def timed(phase: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        _seconds[phase] += time.perf_counter() - started


def snapshot() -> dict[str, float]:
    """{phase: seconds} so far in this build, in the order the phases first ran."""
    return dict(_seconds)
