"""Short factual sentences generated from the results, regenerated on every build."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from generator.explain import EXPLAINERS, method_title
from generator.measure import MEASURES
from generator.render.pages_format import pct
from generator.render.summary import own_top1_metrics
from generator.run.class_names import label_index

if TYPE_CHECKING:
    from generator.manifest.schema import CaseSpec
    from generator.run.models import LoadedModel
    from generator.run.results import CaseResult, ModelResult


def case_observations(case: CaseResult, models_by_key: Mapping[str, LoadedModel]) -> list[str]:
    """Plain-text sentences about one case: predictions, agreement, and what each measure says."""
    results = list(case.models.values())
    sentences = [prediction_sentence(models_by_key[r.model_key], r, case.spec) for r in results]
    if len(results) > 1:
        tops = {r.top1.index for r in results}
        sentences.append(
            "The models agree on the top-1 class." if len(tops) == 1 else "The models disagree on the top-1 class."
        )
    own = [(models_by_key[r.model_key].label, r.own_metrics) for r in results if r.own_metrics is not None]
    for measure in MEASURES.values():
        sentences += measure.case_sentences(own)
    for r in results:
        name = models_by_key[r.model_key].label
        if r.own_metrics is None:
            continue
        # the measures that perturb the image first: a blank map's sentence explains their numbers
        sentences += [s for m in MEASURES.values() if m.observed_first for s in m.sentences(name, r.own_metrics)]
        sentences += blank_sentences(name, r)
        sentences += [s for m in MEASURES.values() if not m.observed_first for s in m.sentences(name, r.own_metrics)]
    labels = {key: model.label for key, model in models_by_key.items()}
    return sentences + [s for m in MEASURES.values() for s in m.case_findings(case, labels)]


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


def blank_sentences(name: str, result: ModelResult) -> list[str]:
    """The explanations of the model's own top-1 class that mark nothing (a probability that did not move)."""
    top = result.top1
    return [
        f"{name}'s {method_title(method)} explanation of {top.name} is zero everywhere: the model's probability "
        "for it did not change when parts of the image were hidden, so it marks no region."
        for method, found in result.explanations.items()
        if top.index in found and EXPLAINERS[method].is_blank(found[top.index])
    ]


def report_findings(cases: Sequence[CaseResult], models: Sequence[LoadedModel]) -> list[str]:
    """Cross-case sentences for the top of the overview, each backed by a number the report shows.

    Means are those of the overview's table (the same own-top-1 metrics, the same mean); counts over cases are
    of the cases whose pages show the numbers.
    """
    if not cases:
        return []
    own = own_top1_metrics(cases, models)
    labels = {model.key: model.label for model in models}
    return [sentence for measure in MEASURES.values() for sentence in measure.findings(own, cases, labels)]
