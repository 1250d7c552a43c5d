"""Concentration: the smallest share of the image that holds half of a map's positive mass ("focuses on a smaller area").

It reads pixel maps whose mass means something: the methods that give one heatmap per target.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from generator.explain.base import HeatmapExplainer, method_title
from generator.measure.base import (
    Measure,
    MetricColumn,
    ModelInputs,
    OwnMetrics,
    TargetMetrics,
    measured_maps,
    record_value,
    register,
)
from generator.utils.numbers import is_number, mean, pct

if TYPE_CHECKING:
    from generator.explain.base import AnyExplainer
    from generator.run.results import CaseResult


def concentration(saliency_map: ArrayLike) -> float:
    """Smallest share of pixels holding half of the map's mass: low = focused, 0.5 = flat.

    Negative values are clipped to zero first (mass is positive evidence only; a ReLU'd map is unchanged).
    The share counts whole pixels, so one hot pixel gives 1 / num_pixels and a flat map of an even pixel count
    gives exactly 0.5. A map without positive mass has no half to hold: NaN.
    """
    mass = np.clip(np.nan_to_num(np.asarray(saliency_map, dtype=np.float64).ravel()), 0.0, None)
    total = mass.sum()
    if total <= 0:
        return float("nan")
    cumulative = np.cumsum(np.sort(mass)[::-1])
    needed = int(np.searchsorted(cumulative, total / 2 * (1 - 1e-12))) + 1  # tolerance for float sums
    return needed / mass.size


@register
class Concentration(Measure):
    name = "concentration"
    order = 30
    topic = "focus"

    @classmethod
    def applies_to(cls, method: type[AnyExplainer]) -> bool:
        return issubclass(method, HeatmapExplainer)

    def measure(self, found: ModelInputs) -> dict[int, dict[str, Any]]:
        return {
            target: {
                name: concentration(smap) for name, smap in measured_maps(maps, type(self), self.explainers).items()
            }
            for target, maps in found.maps.items()
        }

    @classmethod
    def columns(cls, records: Sequence[TargetMetrics], keys: Sequence[str]) -> list[MetricColumn]:
        return [
            MetricColumn(
                f"{method_title(key)} concentration",
                record_value(cls.name, key),
                pct,
                undefined="undefined: the map has no positive value anywhere",
                higher_is_better=False,
            )
            for key in keys
        ]

    @classmethod
    def case_sentences(cls, own: Sequence[tuple[str, TargetMetrics]]) -> list[str]:
        """Per method, which model's map of its own top-1 class is the most focused."""
        out = []
        for method in dict.fromkeys(method for _, m in own for method in m.of(cls.name)):
            title = method_title(method)
            values = [(name, m.of(cls.name)[method]) for name, m in own if is_number(m.of(cls.name).get(method))]
            if len(values) == 1:
                out += [f"{name}'s {title} holds half its mass in {pct(v)} of the image." for name, v in values]
            elif values:
                (small_name, small), (large_name, large) = (
                    min(values, key=lambda v: v[1]),
                    max(values, key=lambda v: v[1]),
                )
                out.append(
                    f"{small_name}'s {title} is the most focused: half its mass lies in {pct(small)} of the image, "
                    f"against {pct(large)} for {large_name}."
                )
        return out

    @classmethod
    def findings(cls, own: OwnMetrics, cases: Sequence[CaseResult], labels: Mapping[str, str]) -> list[str]:
        sentences = []
        for method in dict.fromkeys(name for _, group in own for m in group for name in m.of(cls.name)):
            found = [(label, mean([m.of(cls.name).get(method) for m in group])) for label, group in own]
            means = [(label, value) for label, value in found if is_number(value)]
            if len(means) < 2:
                continue
            (small_name, small), (large_name, large) = min(means, key=lambda v: v[1]), max(means, key=lambda v: v[1])
            sentences.append(
                f"On average {small_name}'s {method_title(method)} is the most concentrated: half of its mass lies in "
                f"{pct(small)} of the image, against {pct(large)} for {large_name} (each model's own top-1 class)."
            )
        return sentences
