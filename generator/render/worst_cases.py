"""The overview's lists of the worst cases: where the models disagree most, the least faithful explanations
(deletion and insertion; ROAD), the least stable ones and the maps that miss the object the author marks.

Each list ranks by one number, worst first, and keeps the first WORST_SHOWN; ties keep the manifest's order of
the cases (then of the models). The measurements are those of each model's explanation of its own top-1 class,
as in the overview's means. A list whose measurement did not run is absent, not empty.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from generator.explain import method_title
from generator.render.metric_tables import page_order
from generator.render.pages_format import is_number
from generator.render.region_tables import ObjectScore, object_misses, object_scores

if TYPE_CHECKING:
    from _typeshed import SupportsRichComparison

    from generator.explain.base import Stability
    from generator.measure.measurer import TargetMetrics
    from generator.measure.road import RoadResult
    from generator.run.models import LoadedModel
    from generator.run.results import CaseResult, Prediction

WORST_SHOWN = 10
Row = TypeVar("Row")
Own = tuple["CaseResult", "LoadedModel", "TargetMetrics"]  # a case, a model, the metrics of its own top-1 class


@dataclass(frozen=True)
class ModelDisagreement:
    """Two models' predictions on one case."""

    case_id: str
    title: str
    model_a: str  # labels
    model_b: str
    top1_a: Prediction
    top1_b: Prediction
    shared: int  # classes in both models' top-k lists
    of: int  # the length of the shorter list

    @property
    def same_top1(self) -> bool:
        return self.top1_a.index == self.top1_b.index

    @property
    def rank(self) -> tuple[bool, float]:
        """Lower is worse: a different top-1 class first, then the smaller share of top-k classes in common."""
        return (self.same_top1, self.shared / self.of)


@dataclass(frozen=True)
class FaithfulnessRow:
    case_id: str
    title: str
    model: str
    deletion: float  # AUC of the deletion curve (lower: more faithful)
    insertion: float  # AUC of the insertion curve (higher: more faithful)
    random_margin: float | None  # the random map's insertion minus deletion AUC, the baseline

    @property
    def margin(self) -> float:
        return self.insertion - self.deletion


@dataclass(frozen=True)
class RoadRow:
    case_id: str
    title: str
    model: str
    road: RoadResult
    random_score: float | None  # the random map's ROAD score, the baseline

    @property
    def score(self) -> float:
        return self.road.score


@dataclass(frozen=True)
class StabilityRow:
    case_id: str
    title: str
    model: str
    stability: Stability


@dataclass(frozen=True)
class MethodRanking:
    method: str
    title: str
    rows: tuple[FaithfulnessRow, ...] | tuple[RoadRow, ...] | tuple[StabilityRow, ...]

    @property
    def has_random(self) -> bool:
        return any(
            getattr(row, "random_margin", None) is not None or getattr(row, "random_score", None) is not None
            for row in self.rows
        )


@dataclass(frozen=True)
class WorstCases:
    disagreements: tuple[ModelDisagreement, ...] | None  # None with one model (nothing to compare)
    unfaithful: tuple[MethodRanking, ...]  # of FaithfulnessRow, one per method with deletion and insertion curves
    low_road: tuple[MethodRanking, ...]  # of RoadRow, one per method with ROAD curves
    unstable: tuple[MethodRanking, ...]  # of StabilityRow, one per method whose stability was measured
    show_model: bool  # more than one model: the tables name each row's model
    object_misses: tuple[ObjectScore, ...] = ()  # the maps with the least mass on the object (cases that mark one)


def worst_cases(cases: Sequence[CaseResult], models: Sequence[LoadedModel], limit: int = WORST_SHOWN) -> WorstCases:
    """The three lists for the overview, from the CaseResults in manifest order and the LoadedModels."""
    own = list(own_top1_measurements(cases, models))
    return WorstCases(
        disagreements=model_disagreements(cases, models, limit) if len(models) > 1 else None,
        unfaithful=least_faithful(own, limit),
        low_road=lowest_road(own, limit),
        unstable=least_stable(own, limit),
        show_model=len(models) > 1,
        object_misses=object_misses(object_scores(cases, models), limit),
    )


def ranked(rows: Iterable[Row], key: Callable[[Row], SupportsRichComparison], limit: int) -> tuple[Row, ...]:
    """The `limit` lowest rows by `key`; the sort is stable, so ties keep the order the rows came in."""
    return tuple(sorted(rows, key=key)[:limit])


def case_title(case: CaseResult) -> str:
    return case.spec.title or case.case_id


def own_top1_measurements(cases: Sequence[CaseResult], models: Sequence[LoadedModel]) -> Iterator[Own]:
    """(case, model, TargetMetrics of its own top-1 class), cases in manifest order, then models in theirs."""
    for case in cases:
        for model in models:
            result = case.models.get(model.key)
            if result is not None and result.own_metrics is not None:
                yield case, model, result.own_metrics


def model_disagreements(
    cases: Sequence[CaseResult], models: Sequence[LoadedModel], limit: int
) -> tuple[ModelDisagreement, ...]:
    """Per case its two most different models (first pair on a tie); cases where some pair differs at all."""
    rows: list[ModelDisagreement] = []
    for case in cases:
        present = [model for model in models if model.key in case.models]
        pairs = [pair_disagreement(case, a, b) for a, b in itertools.combinations(present, 2)]
        worst = min(pairs, key=lambda pair: pair.rank, default=None)
        if worst is not None and (not worst.same_top1 or worst.shared < worst.of):
            rows.append(worst)
    return ranked(rows, lambda row: row.rank, limit)


def pair_disagreement(case: CaseResult, model_a: LoadedModel, model_b: LoadedModel) -> ModelDisagreement:
    a, b = case.models[model_a.key], case.models[model_b.key]
    shared = len({p.index for p in a.top_k} & {p.index for p in b.top_k})
    return ModelDisagreement(
        case.case_id,
        case_title(case),
        model_a.label,
        model_b.label,
        a.top1,
        b.top1,
        shared,
        min(len(a.top_k), len(b.top_k)),
    )


def least_faithful(own: Sequence[Own], limit: int) -> tuple[MethodRanking, ...]:
    """Per method with curves: the lowest insertion-minus-deletion AUC."""
    methods = page_order({name for *_, metrics in own for name in metrics.faithfulness} - {"random"})
    rankings = []
    for method in methods:
        rows: list[FaithfulnessRow] = []
        for case, model, metrics in own:
            found, baseline = metrics.faithfulness.get(method), metrics.faithfulness.get("random")
            if found is None or not (is_number(found.deletion_auc) and is_number(found.insertion_auc)):
                continue
            random_margin = None if baseline is None else baseline.insertion_auc - baseline.deletion_auc
            rows.append(
                FaithfulnessRow(
                    case.case_id, case_title(case), model.label, found.deletion_auc, found.insertion_auc, random_margin
                )
            )
        rankings.append(MethodRanking(method, method_title(method), ranked(rows, lambda row: row.margin, limit)))
    return tuple(ranking for ranking in rankings if ranking.rows)


def lowest_road(own: Sequence[Own], limit: int) -> tuple[MethodRanking, ...]:
    """Per method with ROAD curves: the lowest ROAD score (LeRF minus MoRF)."""
    methods = page_order({name for *_, metrics in own for name in metrics.road} - {"random"})
    rankings = []
    for method in methods:
        rows = []
        for case, model, metrics in own:
            found, baseline = metrics.road.get(method), metrics.road.get("random")
            if found is not None and is_number(found.score):
                random_score = None if baseline is None else baseline.score
                rows.append(RoadRow(case.case_id, case_title(case), model.label, found, random_score))
        rankings.append(MethodRanking(method, method_title(method), ranked(rows, lambda row: row.score, limit)))
    return tuple(ranking for ranking in rankings if ranking.rows)


def least_stable(own: Sequence[Own], limit: int) -> tuple[MethodRanking, ...]:
    """Per method whose stability was measured: the lowest mean Jaccard of its top superpixels across runs."""
    methods = page_order({name for *_, metrics in own for name in metrics.stability})
    rankings = []
    for method in methods:
        rows = [
            StabilityRow(case.case_id, case_title(case), model.label, metrics.stability[method])
            for case, model, metrics in own
            if method in metrics.stability and is_number(metrics.stability[method].mean_jaccard)
        ]
        rankings.append(
            MethodRanking(method, method_title(method), ranked(rows, lambda row: row.stability.mean_jaccard, limit))
        )
    return tuple(ranking for ranking in rankings if ranking.rows)
