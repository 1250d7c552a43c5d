"""Agreement: how alike two maps of the same class rank the image, method against method and model against model.

Spearman's rho and the share of the top k in common, over the case's superpixels' means when a method segments
the case (else pixel by pixel). Methods are compared on each model's TargetMetrics; models, per method, on the
case's comparisons (only models with the same class list: a target index then means the same class).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from generator.explain.base import agreement_key, agreement_pair, method_title
from generator.measure.base import Measure, MetricColumn, ModelInputs, OwnMetrics, TargetMetrics, record_value, register
from generator.measure.metrics import PIXELS, SUPERPIXELS, safe_spearman, superpixel_means, top_k
from generator.utils.numbers import is_number, num, pct
from generator.utils.records import result_type

if TYPE_CHECKING:
    from generator.explain.base import AnyExplainer, SaliencyMap, Segments
    from generator.manifest.schema import Manifest, MetricsSpec
    from generator.run.models import LoadedModel
    from generator.run.results import CaseResult

COMPARED = {SUPERPIXELS: "averaged per superpixel", PIXELS: "pixel by pixel"}
AGREE_RHO = 0.5  # two maps' Spearman at or above this: they agree
PARTLY_RHO = 0.2  # at or above this (and below AGREE_RHO): they partly agree
HALF = 0.5  # "at least half of their top regions"


@result_type
@dataclass(frozen=True)
class Agreement:
    spearman: float  # rank correlation of the two score vectors; NaN when either is constant
    top_k_overlap: float  # |topk(a) & topk(b)| / k, in [0, 1]
    k: int  # the k the overlap counts (the requested one, capped at the vector's length)
    unit: str  # what the vectors' entries are: SUPERPIXELS or PIXELS


@dataclass(frozen=True)
class Disagreement:
    case_id: str
    title: str
    what: str  # "<model>: <method> vs <method> · <class>" or "<method>: <model> vs <model> · <class>"
    spearman: float
    unit: str  # what the two rankings rank (Agreement.unit)


@dataclass(frozen=True)
class PairAgreement:
    method: str
    target: int
    model_a: str
    model_b: str
    agreement: Agreement


def agreement(a: ArrayLike, b: ArrayLike, k: int, unit: str) -> Agreement:
    """Spearman and top-k overlap of two score vectors over the same `unit`s (superpixel means, or pixels).

    k is capped at the vector length, and the overlap is divided by that capped k, so it stays in [0, 1]. Both
    are undefined (NaN) together: a constant vector ranks nothing, so it has no top k either (its order would
    be the index order).
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    spearman = safe_spearman(a, b)
    k = min(k, np.size(a))
    if np.isnan(spearman):
        return Agreement(spearman, float("nan"), k, unit)
    return Agreement(spearman, np.intersect1d(top_k(a, k), top_k(b, k)).size / k, k, unit)


def agreement_unit(explainers: Iterable[AnyExplainer]) -> str:
    """The unit every agreement of a build is computed over: superpixels when an explainer segments the case."""
    return SUPERPIXELS if any(e.segments_case for e in explainers) else PIXELS


def methods_agreement(maps: Mapping[str, SaliencyMap], segments: Segments | None, k: int) -> dict[str, Agreement]:
    """Every pair of methods' maps of one target, compared per superpixel (per pixel without superpixels)."""
    return {
        agreement_key(a, b): compare_maps(maps[a], maps[b], segments, k) for a, b in itertools.combinations(maps, 2)
    }


def compare_maps(map_a: SaliencyMap, map_b: SaliencyMap, segments: Segments | None, k: int) -> Agreement:
    """The Agreement of two maps of one case, over its superpixels' means (or every pixel without superpixels)."""
    if segments is None:
        return agreement(map_a.ravel(), map_b.ravel(), k, PIXELS)
    means_a, means_b = (superpixel_means(m, segments) for m in (map_a, map_b))
    return agreement(means_a, means_b, k, SUPERPIXELS)


def compare_models(
    case: CaseResult, explainers: Iterable[AnyExplainer], k: int, classes: Mapping[str, Sequence[str]] | None = None
) -> list[PairAgreement]:
    """Model-vs-model agreement per method on every target both models explained.

    Only models with the same class list (`classes`: model key -> names) compare: a target index means the
    same class for both."""
    pairs = []
    for (key_a, a), (key_b, b) in itertools.combinations(case.models.items(), 2):
        if classes is not None and classes[key_a] != classes[key_b]:
            continue
        for target in (t for t in a.targets if t in b.targets):
            for explainer in explainers:
                found = [r.explained(explainer.name, target) for r in (a, b)]
                if None in found:
                    continue
                map_a, map_b = (explainer.saliency(f, case) for f in found)  # saliency reads only the segments
                pairs.append(
                    PairAgreement(explainer.name, target, key_a, key_b, compare_maps(map_a, map_b, case.segments, k))
                )
    return pairs


def shown_k(agreements: Iterable[Agreement]) -> str:
    """The k that a heading or sentence names for these Agreements: theirs when they share one, else "k"."""
    ks = {found.k for found in agreements}
    return str(ks.pop()) if len(ks) == 1 else "k"


@register
class MapAgreement(Measure):
    name = "map_agreement"
    order = 40
    case_section = True  # model against model (its columns, method against method, join the shared table)

    @classmethod
    def section_shown(cls, case: CaseResult, table: Any) -> bool:
        return bool(case.comparisons)

    topic = "agreement"

    @classmethod
    def described(cls, manifest: Manifest, explainers: Sequence[AnyExplainer], model_count: int) -> list[str]:
        titles = [e.title for e in explainers]
        return titles if len(titles) > 1 or model_count > 1 else []

    @classmethod
    def page_context(cls, manifest: Manifest, explainers: Sequence[AnyExplainer]) -> dict[str, Any]:
        unit = agreement_unit(explainers)
        return {
            "agreement": {"k": manifest.metrics.top_k, "unit": unit, "compared": COMPARED[unit]},
            "shown_k": shown_k,
        }

    @classmethod
    def across_models(
        cls,
        case: CaseResult,
        explainers: Sequence[AnyExplainer],
        settings: MetricsSpec,
        classes: Mapping[str, Sequence[str]],
    ) -> CaseResult:
        return case.with_comparisons(compare_models(case, explainers, settings.top_k, classes))

    def measure(self, found: ModelInputs) -> dict[int, dict[str, Any]]:
        segments, k = found.inputs.segments, self.settings.top_k
        return {target: methods_agreement(maps, segments, k) for target, maps in found.maps.items()}

    @classmethod
    def overview(cls, cases: Sequence[CaseResult], models_by_key: Mapping[str, LoadedModel]) -> dict[str, Any]:
        return {"disagreements": largest_disagreements(cases, models_by_key)}

    @classmethod
    def keys(cls, records: Iterable[TargetMetrics]) -> list[str]:
        return sorted({key for m in records for key in m.of(cls.name)})

    @classmethod
    def columns(cls, records: Sequence[TargetMetrics], keys: Sequence[str]) -> list[MetricColumn]:
        columns = []
        for pair in keys:
            a, b = (method_title(name) for name in agreement_pair(pair))
            k = shown_k(m.of(cls.name)[pair] for m in records if pair in m.of(cls.name))
            flat = f"undefined: {a} or {b} gives every region the same score (a map zero everywhere)"
            columns += [
                MetricColumn(
                    f"{a} vs {b} ρ",
                    record_value(cls.name, pair, "spearman"),
                    lambda v: num(v, 2),
                    undefined=flat,
                    higher_is_better=True,
                ),
                MetricColumn(
                    f"{a} vs {b} top-{k} overlap",
                    record_value(cls.name, pair, "top_k_overlap"),
                    lambda v: pct(v, 0),
                    undefined=flat,
                    in_overview=False,
                    higher_is_better=True,
                ),
            ]
        return columns

    @classmethod
    def sentences(cls, model: str, own: TargetMetrics) -> list[str]:
        """How far each pair of methods agrees on the model's own top-1 class."""
        out = []
        for pair, a in own.of(cls.name).items():
            if not is_number(a.spearman):
                continue
            first, second = (method_title(method) for method in agreement_pair(pair))
            verdict = "agree" if a.spearman >= AGREE_RHO else "partly agree" if a.spearman >= PARTLY_RHO else "disagree"
            shared = round(a.top_k_overlap * a.k)
            out.append(
                f"For {model}, {first} and {second} {verdict} (Spearman {a.spearman:.2f}; {shared} of the top {a.k} "
                f"{a.unit} shared)."
            )
        return out

    @classmethod
    def findings(cls, own: OwnMetrics, cases: Sequence[CaseResult], labels: Mapping[str, str]) -> list[str]:
        sentences = overlap_findings(cases, labels) if len(labels) > 1 else []
        for label, group in own:
            for pair in dict.fromkeys(key for m in group for key in m.of(cls.name)):
                rhos = [m.of(cls.name)[pair].spearman for m in group if pair in m.of(cls.name)]
                rhos = [rho for rho in rhos if is_number(rho)]
                if rhos:
                    first, second = (method_title(method) for method in agreement_pair(pair))
                    agree = sum(rho >= AGREE_RHO for rho in rhos)
                    sentences.append(
                        f"For {label}, {first} and {second} agree (Spearman ρ of at least {AGREE_RHO}) on {agree} of "
                        f"{len(rhos)} cases."
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


def largest_disagreements(
    cases: Sequence[CaseResult], models_by_key: Mapping[str, LoadedModel], limit: int = 5
) -> list[Disagreement]:
    """Where the methods (per model) or the models (per method) rank the image's regions least alike."""
    rows = []
    for case in cases:
        title = case.spec.title or case.case_id
        for key, result in case.models.items():
            own = result.own_metrics
            for pair, agreement in (own.of(MapAgreement.name) if own is not None else {}).items():
                methods = " vs ".join(method_title(method) for method in agreement_pair(pair))
                what = f"{models_by_key[key].label}: {methods} · {result.top1.name}"
                rows.append(Disagreement(case.case_id, title, what, agreement.spearman, agreement.unit))
        for pair in case.comparisons:
            method = method_title(pair.method)
            models = f"{models_by_key[pair.model_a].label} vs {models_by_key[pair.model_b].label}"
            what = f"{method}: {models} · {models_by_key[pair.model_a].categories[pair.target]}"
            rows.append(Disagreement(case.case_id, title, what, pair.agreement.spearman, pair.agreement.unit))
    rows = [r for r in rows if not math.isnan(r.spearman)]
    return sorted(rows, key=lambda r: r.spearman)[:limit]
