"""Stability: how much a seed-dependent method's answer moves between runs (its top superpixels across seeds).

The method computes it itself (`SeedDependent.stability` in generator/explain/stability.py: re-runs with further
seeds, or bootstrap refits of its surrogate), so it applies to the methods that subclass SeedDependent; this module
lays the numbers out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from generator.explain.base import EXPLAINERS, method_title
from generator.explain.stability import STABILITY_THRESHOLD, SeedDependent, Stability
from generator.manifest.schema import Strict
from generator.measure.base import (
    Measure,
    MetricColumn,
    ModelInputs,
    Own,
    Ranking,
    TargetMetrics,
    flag_of,
    record_value,
    register,
    settings_of,
)
from generator.utils.numbers import is_number, num

if TYPE_CHECKING:
    from generator.explain.base import AnyExplainer
    from generator.manifest.schema import Manifest, MetricsSpec


@dataclass(frozen=True)
class StabilityRow:
    case_id: str
    title: str
    model: str
    stability: Stability


# the methods that compute their own seed stability, as their keys' descriptions name them
SEEDED = " and ".join(cls.title for cls in EXPLAINERS.values() if issubclass(cls, SeedDependent))


class StabilitySpec(Strict):
    """Its keys of the manifest's `metrics` section."""

    stability_seeds: int = Field(
        3,
        ge=1,
        le=20,
        description=f"1 turns {SEEDED}'s stability off; with `stability: reruns`, the {SEEDED} runs compared (the "
        "build's own included).",
    )
    stability: Literal["bootstrap", "reruns"] = Field(
        "bootstrap",
        description=f"How {SEEDED}'s seed stability is estimated: its surrogate refitted on bootstrap resamples of "
        "the images it already classified (no model runs; follows many true re-runs at least as closely as 3 re-runs "
        f"do: bench/stability.md), or {SEEDED} re-run with further seeds (new perturbed images, classified).",
    )


@register
class SeedStability(Measure):
    name = "stability"
    spec = StabilitySpec
    spec_places = {"stability_seeds": 30, "stability": 40}
    order = 50
    alert = True
    topic = "stability"
    timed = True

    def __init__(self, settings: MetricsSpec, explainers: Sequence[AnyExplainer], seed: int) -> None:
        super().__init__(settings, explainers, seed)
        self.own = settings_of(StabilitySpec, settings)

    @classmethod
    def runs(cls, settings: MetricsSpec) -> bool:
        return settings_of(StabilitySpec, settings).stability_seeds > 1

    @classmethod
    def applies_to(cls, method: type[AnyExplainer]) -> bool:
        return issubclass(method, SeedDependent)

    @classmethod
    def page_context(cls, manifest: Manifest, explainers: Sequence[AnyExplainer]) -> dict[str, Any]:
        return {"stable_threshold": STABILITY_THRESHOLD}

    @classmethod
    def batched_phrase(cls, manifest: Manifest, explainers: Sequence[AnyExplainer]) -> str | None:
        titles = cls.described(manifest, explainers, 1)
        return (
            f"the {' and '.join(titles)} stability re-runs"
            if titles and settings_of(StabilitySpec, manifest.metrics).stability == "reruns"
            else None
        )

    def measure(self, found: ModelInputs) -> dict[int, dict[str, Any]]:
        out: dict[int, dict[str, Any]] = {}
        for explainer in (e for e in self.explainers if isinstance(e, SeedDependent)):
            results = found.result.explanations.get(explainer.name, {})
            shown = {t: r for t, r in results.items() if t in found.result.targets}
            runs, estimate = self.own.stability_seeds, self.own.stability
            for target, figures in explainer.stability(found.classify, found.inputs, shown, runs, estimate).items():
                out.setdefault(target, {})[explainer.name] = figures
        return out

    @classmethod
    def columns(cls, records: Sequence[TargetMetrics], keys: Sequence[str]) -> list[MetricColumn]:
        columns = []
        for key in keys:
            title = method_title(key)
            columns += [
                MetricColumn(
                    f"{title} stability (Jaccard)",
                    record_value(cls.name, key, "mean_jaccard"),
                    lambda v: num(v, 2),
                    flag=flag_of(cls, key),
                    higher_is_better=True,
                ),
                MetricColumn(
                    f"{title} weight spread",
                    record_value(cls.name, key, "weight_spread"),
                    lambda v: num(v, 2),
                    in_overview=False,
                    higher_is_better=False,
                ),
            ]
        return columns

    @classmethod
    def flagged(cls, metrics: TargetMetrics) -> list[str]:
        """The methods whose map is unstable across seeds."""
        return [method for method, s in metrics.of(cls.name).items() if not s.stable]

    @classmethod
    def sentences(cls, model: str, own: TargetMetrics) -> list[str]:
        return [
            f"{model}'s {method_title(method)} explanation is unstable across seeds "
            f"(its top regions' Jaccard across runs {own.of(cls.name)[method].mean_jaccard:.2f})."
            for method in cls.flagged(own)
        ]

    @classmethod
    def worst(cls, own: Sequence[Own], limit: int) -> tuple[Ranking, ...]:
        """Per method whose stability was measured: the lowest mean Jaccard of its top superpixels across runs."""
        rankings = []
        for method in cls.keys(metrics for *_, metrics in own):
            rows = [
                StabilityRow(case.case_id, case.spec.title or case.case_id, model.label, metrics.of(cls.name)[method])
                for case, model, metrics in own
                if method in metrics.of(cls.name) and is_number(metrics.of(cls.name)[method].mean_jaccard)
            ]
            ranked = tuple(sorted(rows, key=lambda row: row.stability.mean_jaccard)[:limit])
            rankings.append(Ranking(method, method_title(method), ranked))
        return tuple(ranking for ranking in rankings if ranking.rows)
