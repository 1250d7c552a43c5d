"""Across-case summaries for the overview and comparison pages."""

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Summary:
    cases: int
    agreement: float | None  # share of cases where all models agree on top-1
    accuracy: dict  # model label -> (correct, labelled)


@dataclass(frozen=True)
class MetricMeans:
    """Means over cases of each model's top-1 measurements, per method."""

    model: str
    deletion: dict  # "gradcam" | "lime" | "random" -> mean AUC
    insertion: dict
    concentration: float
    methods_spearman: float
    stability: float
    sanity_rho: float


@dataclass(frozen=True)
class Disagreement:
    case_id: str
    title: str
    what: str  # e.g. "ResNet18: Grad-CAM vs LIME" or "Grad-CAM: ResNet18 vs ResNet50 · tabby"
    spearman: float


@dataclass(frozen=True)
class PairComparison:
    """Two models on one case whose top-1 classes differ."""

    case_id: str
    title: str
    model_a: object  # ModelColumn
    model_b: object
    a_on_b_class: float  # model A's probability for B's top-1 class
    b_on_a_class: float


def summarise(case_pages):
    accuracy = {}
    for page in case_pages:
        for column in page.columns:
            correct, labelled = accuracy.get(column.label, (0, 0))
            if column.correct is not None:
                correct, labelled = correct + int(column.correct), labelled + 1
            accuracy[column.label] = (correct, labelled)
    agreement = sum(p.agree for p in case_pages) / len(case_pages) if case_pages else None
    return Summary(len(case_pages), agreement, accuracy)


def mean(values):
    values = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.mean(values)) if values else float("nan")


def metric_means(cases, models):
    """Per model, the mean over cases of the measurements of its own top-1 explanation."""
    out = []
    for model in models:
        own = [c.models[model.key].metrics.get(c.models[model.key].top1.index) for c in cases if model.key in c.models]
        own = [m for m in own if m is not None]
        if not own:
            continue
        methods = sorted({name for m in own for name in m.faithfulness})
        out.append(
            MetricMeans(
                model=model.label,
                deletion={
                    n: mean([m.faithfulness[n].deletion_auc for m in own if n in m.faithfulness]) for n in methods
                },
                insertion={
                    n: mean([m.faithfulness[n].insertion_auc for m in own if n in m.faithfulness]) for n in methods
                },
                concentration=mean([m.concentration for m in own]),
                methods_spearman=mean([m.methods_agreement.spearman for m in own if m.methods_agreement]),
                stability=mean([m.stability.mean_jaccard for m in own if m.stability]),
                sanity_rho=mean([m.sanity_rho for m in own]),
            )
        )
    return out


def largest_disagreements(cases, models_by_key, categories, limit=5):
    """Where the methods (per model) or the models (per method) rank superpixels least alike."""
    rows = []
    for case in cases:
        title = case.spec.title or case.case_id
        for key, result in case.models.items():
            own = result.metrics.get(result.top1.index)
            if own is not None and own.methods_agreement is not None:
                what = f"{models_by_key[key].label}: Grad-CAM vs LIME · {categories[result.top1.index]}"
                rows.append(Disagreement(case.case_id, title, what, own.methods_agreement.spearman))
        for pair in case.comparisons:
            method = "Grad-CAM" if pair.method == "gradcam" else "LIME"
            models = f"{models_by_key[pair.model_a].label} vs {models_by_key[pair.model_b].label}"
            what = f"{method}: {models} · {categories[pair.target]}"
            rows.append(Disagreement(case.case_id, title, what, pair.agreement.spearman))
    rows = [r for r in rows if not math.isnan(r.spearman)]
    return sorted(rows, key=lambda r: r.spearman)[:limit]


def disagreeing_pairs(cases, case_pages):
    """Every pair of models whose top-1 differs, with each model's confidence in the other's class."""
    pages = {page.case_id: page for page in case_pages}
    out = []
    for case in cases:
        page = pages[case.case_id]
        for i, a in enumerate(page.columns):
            for b in page.columns[i + 1 :]:
                if a.top_k[0].index == b.top_k[0].index:
                    continue
                out.append(
                    PairComparison(
                        case.case_id,
                        page.title,
                        a,
                        b,
                        a_on_b_class=case.models[a.key].probabilities[b.top_k[0].index],
                        b_on_a_class=case.models[b.key].probabilities[a.top_k[0].index],
                    )
                )
    return out
