"""Sentences about where each model's maps lie on the case's regions, stated from the region measures.

They read each model's explanation of its own top-1 class (as the other observations do): "ResNet50's <method>
puts 41% of its mass on 'back seat' (8% of the crop); ResNet18's 22%." A case without regions gets none.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from generator.explain.base import method_title
from generator.measure.base import page_order
from generator.measure.pointing.tables import scores_of
from generator.utils.numbers import is_number, pct

if TYPE_CHECKING:
    from generator.measure.pointing.scores import RegionScore
    from generator.run.region_geometry import CropRegion
    from generator.run.results import CaseResult

OwnScores = dict[str, dict[str, "RegionScore"]]  # model label -> method -> score, on one region


def own_scores(case: CaseResult, labels: Mapping[str, str], region: CropRegion) -> OwnScores:
    """Each model's scores on the region, of its maps of its own top-1 class, by method."""
    out: OwnScores = {}
    for key, result in case.models.items():
        by_method = scores_of(result).get(result.top1.index, {})
        found = {method: scores[region.name] for method, scores in by_method.items() if region.name in scores}
        if found:
            out[labels[key]] = found
    return out


def region_sentences(case: CaseResult, labels: Mapping[str, str]) -> list[str]:
    """The sentences of every region in the crop (`labels`: model key -> label)."""
    sentences = []
    for region in case.regions:
        if region.outside:
            continue
        scores = own_scores(case, labels, region)
        methods = page_order({method for by_method in scores.values() for method in by_method})
        for method in methods:
            sentences += mass_sentence(scores, method, region)
        if region.is_object:
            sentences += pointing_sentence(scores, methods, region)
        for method in methods:
            sentences += list(superpixel_sentences(scores, method, region))
    return sentences


def mass_sentence(scores: OwnScores, method: str, region: CropRegion) -> list[str]:
    """"A's <method> puts 41% of its mass on 'cat' (8% of the crop); B's 22%." over the models that measured it."""
    measured = [(label, found[method].mass) for label, found in scores.items() if method in found]
    measured = [(label, mass) for label, mass in measured if is_number(mass)]
    if not measured:
        return []
    (first, mass), rest = measured[0], measured[1:]
    text = (
        f"{first}'s {method_title(method)} puts {pct(mass, 0)} of its mass on '{region.name}' "
        f"({pct(region.crop_share, 0)} of the crop)"
    )
    return [text + "".join(f"; {label}'s {pct(value, 0)}" for label, value in rest) + "."]


def pointing_sentence(scores: OwnScores, methods: list[str], region: CropRegion) -> list[str]:
    """Which models' maps point at the object and which miss it: "A's <m1> and <m2> point at it; B's <m2> misses it"."""
    hits: list[str] = []
    misses: list[str] = []
    for label, found in scores.items():
        for outcome, names in ((True, hits), (False, misses)):
            titles = [method_title(m) for m in methods if m in found and found[m].pointing_hit is outcome]
            if titles:
                names.append(f"{label}'s {joined(titles)}")
    parts = [f"{joined(hits)} point{'s' if single(hits) else ''} at it"] if hits else []
    parts += [f"{joined(misses)} miss{'es' if single(misses) else ''} it"] if misses else []
    return [f"Pointing game on the object '{region.name}': " + "; ".join(parts) + "."] if parts else []


def superpixel_sentences(scores: OwnScores, method: str, region: CropRegion) -> Iterator[str]:
    """"None of A's top 5 <method> superpixels touches 'desk'.", for each model whose top superpixels all miss it."""
    for label, found in scores.items():
        score = found.get(method)
        if score is not None and score.top_superpixels == ():
            yield f"None of {label}'s top {score.k} {method_title(method)} superpixels touches '{region.name}'."


def single(subjects: list[str]) -> bool:
    """One map: "A's <m1>" (not "A's <m1> and <m2>", not two models)."""
    return len(subjects) == 1 and " and " not in subjects[0]


def joined(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
