"""The overview's lists of the worst cases: where the models disagree most and each measure's worst explanations
(`Measure.worst`, laid out by its `<name>.worst.md.j2`).

Each list ranks by one number, worst first, and keeps the first WORST_SHOWN; ties keep the manifest's order of
the cases (then of the models). The measurements are those of each model's explanation of its own top-1 class,
as in the overview's means. A list whose measurement did not run is absent, not empty.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from generator.measure import MEASURES
from generator.measure.base import own_top1

if TYPE_CHECKING:
    from _typeshed import SupportsRichComparison

    from generator.measure.base import Ranking
    from generator.run.models import LoadedModel
    from generator.run.results import CaseResult, Prediction

WORST_SHOWN = 10
Row = TypeVar("Row")


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
class WorstCases:
    disagreements: tuple[ModelDisagreement, ...] | None  # None with one model (nothing to compare)
    measures: tuple[tuple[str, tuple[Ranking, ...]], ...]  # (measure, its rankings per method), those with rows
    show_model: bool  # more than one model: the tables name each row's model

    def of(self, measure: str) -> tuple[Ranking, ...]:
        """One measure's rankings, () where it ranked nothing."""
        return dict(self.measures).get(measure, ())


def worst_cases(cases: Sequence[CaseResult], models: Sequence[LoadedModel], limit: int = WORST_SHOWN) -> WorstCases:
    """The lists for the overview, from the CaseResults in manifest order and the LoadedModels."""
    own = list(own_top1(cases, models))
    return WorstCases(
        disagreements=model_disagreements(cases, models, limit) if len(models) > 1 else None,
        measures=tuple(
            (name, rankings) for name, measure in MEASURES.items() if (rankings := measure.worst(own, limit))
        ),
        show_model=len(models) > 1,
    )


def ranked(rows: Iterable[Row], key: Callable[[Row], SupportsRichComparison], limit: int) -> tuple[Row, ...]:
    """The `limit` lowest rows by `key`; the sort is stable, so ties keep the order the rows came in."""
    return tuple(sorted(rows, key=key)[:limit])


def case_title(case: CaseResult) -> str:
    return case.spec.title or case.case_id


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
