"""Across-case summaries for the overview and comparison pages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from generator.measure.base import TargetMetrics
    from generator.render.page_data import CasePage, ModelColumn
    from generator.run.models import LoadedModel
    from generator.run.results import CaseResult, ModelResult


@dataclass(frozen=True)
class Summary:
    cases: int
    agreement: float | None  # share of cases where all models agree on top-1
    accuracy: dict[str, tuple[int, int]]  # model label -> (correct, labelled)


@dataclass(frozen=True)
class PairComparison:
    """Two models on one case whose top-1 classes differ."""

    case_id: str
    title: str
    model_a: ModelColumn
    model_b: ModelColumn
    a_on_b_class: float  # model A's probability for B's top-1 class
    b_on_a_class: float
    shown_method: str | None = None  # the first explainer whose maps of both top-1 classes exist


def summarise(case_pages: Sequence[CasePage]) -> Summary:
    accuracy: dict[str, tuple[int, int]] = {}
    for page in case_pages:
        for column in page.columns:
            correct, labelled = accuracy.get(column.label, (0, 0))
            if column.correct is not None:
                correct, labelled = correct + int(column.correct), labelled + 1
            accuracy[column.label] = (correct, labelled)
    compared = case_pages and len(case_pages[0].columns) > 1
    agreement = sum(p.agree for p in case_pages) / len(case_pages) if compared else None
    return Summary(len(case_pages), agreement, accuracy)


def own_top1_metrics(
    cases: Sequence[CaseResult], models: Sequence[LoadedModel]
) -> list[tuple[str, list[TargetMetrics]]]:
    """Per model that measured anything: its label and the metrics of its own top-1 explanation on each case."""
    out = []
    for model in models:
        results = [case.models[model.key] for case in cases if model.key in case.models]
        own = [r.own_metrics for r in results if r.own_metrics is not None]
        if own:
            out.append((model.label, own))
    return out


def disagreeing_pairs(
    cases: Sequence[CaseResult], case_pages: Sequence[CasePage], models_by_key: Mapping[str, LoadedModel]
) -> list[PairComparison]:
    """Every pair of models (of the same classes) whose top-1 differs, with each one's confidence in the other's."""
    pages = {page.case_id: page for page in case_pages}
    out = []
    for case in cases:
        page = pages[case.case_id]
        for i, a in enumerate(page.columns):
            for b in page.columns[i + 1 :]:
                same_classes = models_by_key[a.key].categories == models_by_key[b.key].categories
                if a.top_k[0].index == b.top_k[0].index or not same_classes:
                    continue
                out.append(
                    PairComparison(
                        case.case_id,
                        page.title,
                        a,
                        b,
                        a_on_b_class=probability_of(case.models[a.key], b.top_k[0].index),
                        b_on_a_class=probability_of(case.models[b.key], a.top_k[0].index),
                        shown_method=explained_by_both(case.models[a.key], case.models[b.key]),
                    )
                )
    return out


def probability_of(result: ModelResult, index: int) -> float:
    """The model's probability for class `index` (every computed ModelResult holds its probabilities)."""
    assert result.probabilities is not None, f"no probabilities for {result.model_key}"
    return result.probabilities[index]


def explained_by_both(result_a: ModelResult, result_b: ModelResult) -> str | None:
    """The first method (in the registry's order) that explained each model's own top-1 class."""
    for method in result_a.explanations:
        if all(r.explained(method, r.top1.index) is not None for r in (result_a, result_b)):
            return method
    return None
