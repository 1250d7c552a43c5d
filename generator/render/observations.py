"""Short factual sentences generated from the results, regenerated on every build."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from generator.explain import EXPLAINERS, method_title
from generator.explain.base import agreement_pair
from generator.render.pages_format import is_number, mean, pct, shown_k
from generator.render.region_observations import region_sentences
from generator.render.summary import own_top1_metrics
from generator.run.class_names import label_index

if TYPE_CHECKING:
    from generator.manifest.schema import CaseSpec
    from generator.measure.measurer import TargetMetrics
    from generator.measure.metrics import Agreement
    from generator.run.models import LoadedModel
    from generator.run.results import CaseResult, ModelResult

OwnMetrics = Sequence[tuple[str, Sequence["TargetMetrics"]]]  # (model label, own top-1 metrics per case)

AGREE_RHO = 0.5  # two maps' Spearman at or above this: they agree
PARTLY_RHO = 0.2  # at or above this (and below AGREE_RHO): they partly agree
HALF = 0.5  # "at least half of their top regions"


def case_observations(case: CaseResult, models_by_key: Mapping[str, LoadedModel]) -> list[str]:
    """Plain-text sentences about one case: predictions, agreement, and what the measurements say."""
    results = list(case.models.values())
    sentences = [prediction_sentence(models_by_key[r.model_key], r, case.spec) for r in results]
    if len(results) > 1:
        tops = {r.top1.index for r in results}
        sentences.append(
            "The models agree on the top-1 class." if len(tops) == 1 else "The models disagree on the top-1 class."
        )
    sentences += concentration_sentences(results, models_by_key)
    for r in results:
        name = models_by_key[r.model_key].label
        own = r.own_metrics
        if own is None:
            continue
        sentences += faithfulness_sentences(name, own)
        sentences += road_sentences(name, own)
        sentences += blank_sentences(name, r)
        sentences += agreement_sentences(name, own)
        for method in own.unstable:
            sentences.append(
                f"{name}'s {method_title(method)} explanation is unstable across seeds "
                f"(its top regions' Jaccard across runs {own.stability[method].mean_jaccard:.2f})."
            )
        for method, rho in own.sanity.items():
            if own.sanity_flagged(method):
                sentences.append(
                    f"{name}'s {method_title(method)} barely changes when its target layer is randomised "
                    f"(rank correlation {rho:.2f}): treat it with suspicion."
                )
    return sentences + region_sentences(case, models_by_key)


def agreement_sentences(name: str, own: TargetMetrics) -> list[str]:
    """How far each pair of methods agrees on the model's own top-1 class."""
    out = []
    for pair, a in own.methods_agreement.items():
        if not is_number(a.spearman):
            continue
        first, second = (method_title(method) for method in agreement_pair(pair))
        verdict = "agree" if a.spearman >= AGREE_RHO else "partly agree" if a.spearman >= PARTLY_RHO else "disagree"
        shared = round(a.top_k_overlap * a.k)
        out.append(
            f"For {name}, {first} and {second} {verdict} (Spearman {a.spearman:.2f}; {shared} of the top {a.k} "
            f"{a.unit} shared)."
        )
    return out


def prediction_sentence(model: LoadedModel, result: ModelResult, spec: CaseSpec) -> str:
    top = result.top1
    text = f"{model.label} predicts {top.name} ({pct(top.probability)})"
    label = label_index(model, spec)
    if spec.label is not None and label is None:
        text += f"; the ground truth, {spec.label}, is not among its classes"
    if label is not None:
        text += ", which is correct" if top.index == label else f"; the ground truth is {model.categories[label]}"
        if top.index != label:
            rank = next((i + 1 for i, p in enumerate(result.top_k) if p.index == label), None)
            text += (
                f" (rank {rank} in its top-{len(result.top_k)})" if rank else f" (not in its top-{len(result.top_k)})"
            )
    return text + "."


def concentration_sentences(results: Sequence[ModelResult], models_by_key: Mapping[str, LoadedModel]) -> list[str]:
    """Per method with a concentration, which model's map of its own top-1 class is the most focused."""
    own = [(models_by_key[r.model_key].label, r.own_metrics) for r in results if r.own_metrics is not None]
    methods = dict.fromkeys(method for _, m in own for method in m.concentration)
    out = []
    for method in methods:
        title = method_title(method)
        values = [(name, m.concentration[method]) for name, m in own if is_number(m.concentration.get(method))]
        if len(values) == 1:
            out += [f"{name}'s {title} holds half its mass in {pct(v)} of the image." for name, v in values]
        elif values:
            (small_name, small), (large_name, large) = min(values, key=lambda v: v[1]), max(values, key=lambda v: v[1])
            out.append(
                f"{small_name}'s {title} is the most focused: half its mass lies in {pct(small)} of the image, "
                f"against {pct(large)} for {large_name}."
            )
    return out


def blank_sentences(name: str, result: ModelResult) -> list[str]:
    """The explanations of the model's own top-1 class that mark nothing (a probability that did not move)."""
    top = result.top1
    return [
        f"{name}'s {method_title(method)} explanation of {top.name} is zero everywhere: the model's probability "
        "for it did not change when parts of the image were hidden, so it marks no region."
        for method, found in result.explanations.items()
        if top.index in found and EXPLAINERS[method].is_blank(found[top.index])
    ]


def faithfulness_sentences(name: str, target_metrics: TargetMetrics) -> list[str]:
    """Compare each map with the random baseline on deletion and insertion separately."""
    faith = target_metrics.faithfulness
    if "random" not in faith:
        return []
    baseline = faith["random"]
    out = []
    for method, f in faith.items():
        if method == "random":
            continue
        title = method_title(method)
        deletion = f"deletion AUC {f.deletion_auc:.3f} vs {baseline.deletion_auc:.3f}"
        insertion = f"insertion AUC {f.insertion_auc:.3f} vs {baseline.insertion_auc:.3f}"
        beats = (f.deletion_auc < baseline.deletion_auc, f.insertion_auc > baseline.insertion_auc)
        verdict = {
            (True, True): "beats the random baseline on both deletion and insertion",
            (True, False): "beats the random baseline on deletion but not on insertion",
            (False, True): "beats the random baseline on insertion but not on deletion",
            (False, False): "does not beat the random baseline",
        }[beats]
        out.append(f"{name}'s {title} map {verdict} ({deletion}; {insertion}).")
    return out


def road_sentences(name: str, target_metrics: TargetMetrics) -> list[str]:
    """Compare each map's ROAD score (LeRF minus MoRF) with the random map's."""
    found = target_metrics.road
    if "random" not in found:
        return []
    baseline = found["random"]
    out = []
    for method, curves in found.items():
        if method == "random":
            continue
        verdict = "beats" if curves.score > baseline.score else "does not beat"
        out.append(
            f"Under ROAD, {name}'s {method_title(method)} map {verdict} the random map (score {curves.score:.3f} vs "
            f"{baseline.score:.3f}; MoRF {curves.morf_auc:.3f}, LeRF {curves.lerf_auc:.3f})."
        )
    return out


def report_findings(cases: Sequence[CaseResult], models: Sequence[LoadedModel]) -> list[str]:
    """Cross-case sentences for the top of the overview, each backed by a number the report shows.

    Concentration means are those of the overview's table (the same own-top-1 metrics, the same mean);
    agreements count the cases whose pages show the rank correlations and overlaps.
    """
    if not cases:
        return []
    own = own_top1_metrics(cases, models)
    sentences = concentration_findings(own)
    if len(models) > 1:  # (top-1 agreement is in the summary below)
        sentences += overlap_findings(cases, {model.key: model.label for model in models})
    return sentences + methods_agreement_findings(own)


def concentration_findings(own: OwnMetrics) -> list[str]:
    sentences = []
    for method in dict.fromkeys(name for _, group in own for m in group for name in m.concentration):
        found = [(label, mean([m.concentration.get(method) for m in group])) for label, group in own]
        means = [(label, value) for label, value in found if is_number(value)]
        if len(means) < 2:
            continue
        (small_name, small), (large_name, large) = min(means, key=lambda v: v[1]), max(means, key=lambda v: v[1])
        sentences.append(
            f"On average {small_name}'s {method_title(method)} is the most concentrated: half of its mass lies in "
            f"{pct(small)} of the image, against {pct(large)} for {large_name} (each model's own top-1 class)."
        )
    return sentences


def overlap_findings(cases: Sequence[CaseResult], labels: Mapping[str, str]) -> list[str]:
    """Per method and pair of models: on how many cases their top-k regions for the same class overlap by half."""
    pairs: dict[tuple[str, str, str], dict[str, list[Agreement]]] = {}  # (method, label, label) -> per case
    for case in cases:
        for pair in case.comparisons:
            key = (pair.method, labels[pair.model_a], labels[pair.model_b])
            if is_number(pair.agreement.top_k_overlap):  # a map zero everywhere has no top regions
                pairs.setdefault(key, {}).setdefault(case.case_id, []).append(pair.agreement)
    sentences = []
    for (method, a, b), per_case in pairs.items():
        shared = sum(max(found.top_k_overlap for found in agreements) >= HALF for agreements in per_case.values())
        k = shown_k(found for agreements in per_case.values() for found in agreements)
        sentences.append(
            f"{a} and {b} share at least half of their top {k} {method_title(method)} regions for the same class on "
            f"{shared} of {len(per_case)} cases."
        )
    return sentences


def methods_agreement_findings(own: OwnMetrics) -> list[str]:
    sentences = []
    for label, group in own:
        for pair in dict.fromkeys(key for m in group for key in m.methods_agreement):
            rhos = [m.methods_agreement[pair].spearman for m in group if pair in m.methods_agreement]
            rhos = [rho for rho in rhos if is_number(rho)]
            if rhos:
                first, second = (method_title(method) for method in agreement_pair(pair))
                agree = sum(rho >= AGREE_RHO for rho in rhos)
                sentences.append(
                    f"For {label}, {first} and {second} agree (Spearman ρ of at least {AGREE_RHO}) on {agree} of "
                    f"{len(rhos)} cases."
                )
    return sentences
