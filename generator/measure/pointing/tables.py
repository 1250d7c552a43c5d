"""Where the maps lie on the regions the author marks: the case pages' region section and the overview's tables.

A case without regions shows none of it; a method that did not run has no row. The overview reads each
model's explanation of its own top-1 class (as its other means do) on the cases that mark an object.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from markupsafe import Markup

from generator.explain.base import method_title
from generator.measure.base import page_order
from generator.measure.pointing.scores import NAME, RegionScore, RegionScores
from generator.utils.cells import markdown_text, with_reason
from generator.utils.numbers import UNDEFINED, is_number, mean, pct
from generator.utils.tables import Table

if TYPE_CHECKING:
    from generator.measure.base import Own
    from generator.run.models import LoadedModel
    from generator.run.region_geometry import CropRegion
    from generator.run.results import CaseResult, ModelResult

NO_POSITIVE = "undefined: the map has no positive value, so it points nowhere and has no mass to share"
NO_POSITIVE_MEAN = (
    "undefined: on every case the map has no positive value, so it points nowhere and has no mass to share"
)


@dataclass(frozen=True)
class RegionSection:
    """A case page's regions: what the crop keeps of each, the measures table and the superpixels table."""

    notes: tuple[str, ...]  # plain text: the object, regions outside the crop or cut by it
    table: Table | None  # rows model · method · target, a column per region in the crop
    superpixels: Table | None  # rows model · method · target (methods that segment), cells: top-k ranks touching


@dataclass(frozen=True)
class ScoredMap:
    """One model's map of one target by one method, with its scores on the case's regions."""

    model: str  # label
    method: str
    target: str  # class name
    scores: Mapping[str, RegionScore]  # region name -> score


def region_header(region: CropRegion) -> str:
    role = " (object)" if region.is_object else ""
    return f"{region.name}{role} · {pct(region.crop_share, 0)} of the crop"


def explained(text: str) -> Markup:
    """An overview cell's text; "n/a" with the reason as its tooltip."""
    return with_reason(text, NO_POSITIVE_MEAN) if text == UNDEFINED else Markup.escape(text)


def score_cell(score: RegionScore) -> Markup:
    """"mass · lift · pointing game · rank accuracy" of one map on one region."""
    if not is_number(score.mass):
        return with_reason(UNDEFINED, NO_POSITIVE)
    hit = {True: "✓", False: "✗", None: UNDEFINED}[score.pointing_hit]
    lift = f"{score.lift:.1f}×" if is_number(score.lift) else UNDEFINED
    return Markup.escape(f"{pct(score.mass, 0)} · {lift} · {hit} · {pct(score.rank_accuracy, 0)}")


def scores_of(result: ModelResult) -> RegionScores:
    """{target: {method: {region name: score}}} of one model on one case ({} per target: no region in the crop)."""
    return {target: metrics.of(NAME) for target, metrics in result.metrics.items()}


def scored_maps(case: CaseResult, models_by_key: Mapping[str, LoadedModel]) -> Iterator[ScoredMap]:
    """Every scored map of the case: models in the case's order, then methods in page order, then targets."""
    for key, result in case.models.items():
        model = models_by_key[key]
        regions = scores_of(result)
        methods = page_order({method for by_method in regions.values() for method in by_method})
        for method in methods:
            for target in result.targets:
                scores = regions.get(target, {}).get(method)
                if scores is not None:
                    yield ScoredMap(model.label, method, model.categories[target], scores)


def region_notes(case: CaseResult, crop: int) -> tuple[str, ...]:
    notes = []
    found = case.object_region
    if found is not None:
        notes.append(f"The object is '{found.name}'.")
    for region in case.regions:
        if region.outside:
            notes.append(f"{region.name}: no part of it is in the {crop}x{crop} crop, so it is not measured.")
        elif region.share_kept < 1.0:
            notes.append(
                f"{region.name}: {pct(region.share_kept, 0)} of it is in the {crop}x{crop} crop; the crop cuts off "
                "the rest, and the measures read what is left."
            )
    return tuple(notes)


def region_section(
    case: CaseResult, models_by_key: Mapping[str, LoadedModel], crop: int
) -> RegionSection | None:
    """The case page's region section; None when the case marks no region."""
    if not case.regions:
        return None
    inside = [region for region in case.regions if not region.outside]
    maps = list(scored_maps(case, models_by_key))
    return RegionSection(region_notes(case, crop), measures_table(maps, inside), superpixels_table(maps, inside))


def row_head(found: ScoredMap) -> tuple[Markup, Markup, Markup]:
    return markdown_text(found.model), Markup(method_title(found.method)), markdown_text(found.target)


def measures_table(maps: Sequence[ScoredMap], inside: Sequence[CropRegion]) -> Table | None:
    if not maps or not inside:
        return None
    header = ("Model", "Method", "Target", *(str(markdown_text(region_header(r))) for r in inside))
    rows = tuple((*row_head(m), *(score_cell(m.scores[r.name]) for r in inside)) for m in maps)
    return Table(header, ("---",) * 3 + (":-:",) * len(inside), rows)


def superpixels_table(maps: Sequence[ScoredMap], inside: Sequence[CropRegion]) -> Table | None:
    segmented = [m for m in maps if any(s.top_superpixels is not None for s in m.scores.values())]
    if not segmented or not inside:
        return None
    def cell(score: RegionScore) -> str:
        ranks = score.top_superpixels or ()
        return ", ".join(str(rank) for rank in ranks) if ranks else "none"

    header = ("Model", "Method", "Target", *(str(markdown_text(r.name)) for r in inside))
    rows = tuple((*row_head(m), *(Markup.escape(cell(m.scores[r.name])) for r in inside)) for m in segmented)
    return Table(header, ("---",) * 3 + (":-:",) * len(inside), rows)


# --- the overview -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectScore:
    """One model's map of its own top-1 class by one method, on one case's object."""

    case_id: str
    title: str
    model: str  # label
    method: str
    top1: str  # the class the map explains
    object_name: str
    score: RegionScore


def object_scores(own: Iterable[Own]) -> list[ObjectScore]:
    """Every (case with an object in the crop, model, method) score of each model's explanation of its own top-1
    class, in the order of `own` (cases, then models), then methods in page order."""
    out = []
    for case, model, metrics in own:
        region = case.object_region
        if region is None or region.outside:
            continue
        found = {method: scores[region.name] for method, scores in metrics.of(NAME).items() if region.name in scores}
        for method in page_order(found):
            title = case.spec.title or case.case_id
            top1 = model.categories[metrics.target]
            out.append(ObjectScore(case.case_id, title, model.label, method, top1, region.name, found[method]))
    return out


@dataclass(frozen=True)
class ObjectMeans:
    """The overview's means on the object: per model and method, over the cases that mark one in the crop."""

    table: Table
    cases: int  # the cases that mark an object in the crop


def object_summary(scores: Sequence[ObjectScore], show_model: bool) -> Table | None:
    """Per model and method: cases, pointing-game accuracy and the mean mass, lift and rank accuracy on the object."""
    groups: dict[tuple[str, str], list[RegionScore]] = {}
    for found in scores:
        groups.setdefault((found.model, found.method), []).append(found.score)
    if not groups:
        return None
    rows = []
    for (model, method), group in groups.items():
        hits = [s.pointing_hit for s in group if s.pointing_hit is not None]
        pointing = f"{sum(hits)}/{len(hits)} ({pct(sum(hits) / len(hits), 0)})" if hits else UNDEFINED
        means = [mean([getattr(s, field) for s in group]) for field in ("mass", "lift", "rank_accuracy")]
        lift = f"{means[1]:.2f}×" if is_number(means[1]) else UNDEFINED
        cells = (
            Markup(method_title(method)),
            Markup(str(len(group))),
            *(explained(text) for text in (pointing, pct(means[0]), lift, pct(means[2]))),
        )
        rows.append(((markdown_text(model),) if show_model else ()) + cells)
    head = ("Method", "Cases", "Pointing game ↑", "Mass on the object ↑", "Lift ↑", "Rank accuracy ↑")
    header = (("Model",) if show_model else ()) + head
    align = (("---",) if show_model else ()) + ("---", "--:", "--:", "--:", "--:", "--:")
    return Table(header, align, tuple(rows))


def misses(score: RegionScore) -> bool:
    """The map's maximum misses the object, or it puts less of its mass there than a uniform map (lift < 1)."""
    return score.pointing_hit is False or (is_number(score.lift) and score.lift < 1.0)


def object_misses(scores: Sequence[ObjectScore], limit: int) -> tuple[ObjectScore, ...]:
    """The maps that miss the object: the pointing game's misses first, then by the least mass on it."""
    missed = [found for found in scores if is_number(found.score.mass) and misses(found.score)]
    return tuple(sorted(missed, key=lambda found: (bool(found.score.pointing_hit), found.score.mass))[:limit])
