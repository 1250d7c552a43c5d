"""The seed stability that a seed-dependent method computes itself, for the stability measure.

The measure (generator/measure/stability.py) lays the numbers out and warns below STABILITY_THRESHOLD; the method
computes them, because only it can run itself again with further seeds or refit its own surrogate. Its half lives
here, below the methods: the record (`Stability`), its math (`seed_stability`) and the class a method subclasses
to compute it (`SeedDependent`: it implements `stability` and gives the methods page's rows of it, its
`<module>.stability.md.j2` or `stability_rows`), which declares the dependency (`computes`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from numpy.typing import ArrayLike

from generator.explain.base import CaseInputs, Context, Explainer, Result, Settings
from generator.utils.records import result_type

if TYPE_CHECKING:
    from generator.run.inference import BatchClassifier

MEASURE = "stability"  # the measure's name (generator/measure/stability.py), which a SeedDependent method computes

STABILITY_THRESHOLD = 0.6  # mean top-k Jaccard across runs at or above this counts as stable


@result_type
@dataclass(frozen=True)
class Stability:
    mean_jaccard: float  # mean pairwise Jaccard of the top-k positive superpixels across runs
    weight_spread: float  # mean per-superpixel std across runs / mean absolute weight
    stable: bool  # mean_jaccard >= STABILITY_THRESHOLD


def top_k_positive(weights: ArrayLike, k: int) -> set[int]:
    """The (at most k) highest-weighted superpixels with a positive weight, as a set."""
    weights = np.asarray(weights, dtype=np.float64)
    return {int(i) for i in np.argsort(-weights, kind="stable")[:k] if weights[i] > 0}


def jaccard(a: set[int], b: set[int]) -> float:
    """|a & b| / |a | b|; two empty sets agree (no positive evidence in either run), so 1.0."""
    union = a | b
    return len(a & b) / len(union) if union else 1.0


def seed_stability(weight_runs: ArrayLike, k: int = 5) -> Stability:
    """How much a seed-dependent method's answer (its superpixels' weights) moves between runs with different seeds.

    weight_spread normalises the mean per-superpixel std by one global scale, the mean |weight| over all
    runs and superpixels, rather than per superpixel, so near-zero weights cannot blow it up; all-zero
    weights give 0.0.
    """
    runs = np.asarray(weight_runs, dtype=np.float64)
    if runs.ndim != 2 or len(runs) < 2:
        raise ValueError(f"need at least two runs of equal-length weight vectors, got shape {runs.shape}")
    sets = [top_k_positive(run, k) for run in runs]
    pairs = [jaccard(sets[i], sets[j]) for i in range(len(sets)) for j in range(i + 1, len(sets))]
    mean_jaccard = float(np.mean(pairs))
    scale = np.abs(runs).mean()
    std = np.where(np.ptp(runs, axis=0) == 0, 0.0, runs.std(axis=0))  # identical runs: exactly 0, not roundoff
    spread = float(std.mean() / scale) if scale > 0 else 0.0
    return Stability(mean_jaccard, spread, mean_jaccard >= STABILITY_THRESHOLD)


class SeedDependent(Explainer[Settings, Result, Context]):
    """A method whose answer depends on its seed, and which computes its own seed stability for the measure."""

    computes: ClassVar[tuple[str, ...]] = (MEASURE,)
    # the methods page's rows of its stability (`<module>.stability.md.j2` where the module has one)
    stability_rows: ClassVar[str] = ""

    @classmethod
    def own_text(cls, kind: str) -> str:
        """Its texts of the base's kinds, and "stability": the methods page's rows of its stability."""
        return cls.stability_rows if kind == MEASURE else super().own_text(kind)

    def code_modules(self) -> tuple[str, ...]:
        """The base's, and this module's: its stability's math (and any rule of the method built on it)."""
        return (*super().code_modules(), __name__)

    def stability(
        self, classify: BatchClassifier, inputs: CaseInputs, results: Mapping[int, Result], runs: int, estimate: str
    ) -> dict[int, Stability]:
        """{target: Stability} of the results over `runs` runs (the build's own included), by `estimate`
        ("bootstrap" or "reruns"); {} when there is nothing to compare."""
        raise NotImplementedError
