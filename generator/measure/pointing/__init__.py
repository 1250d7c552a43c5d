"""The region measures: where each map lies on the regions the author marks (mass, lift, pointing game, rank accuracy).

One measure in a package: its math (`scores`), its case-page and overview tables (`tables`) and its sentences
(`sentences`). It reads the case's regions, so it is computed on every build from the cached maps (a few array
sums per map), outside the metrics' cache: adding, moving or renaming a region, or changing
`metrics.pointing_tolerance`, recomputes only it. Its page text is its own templates: the case page's regions
section (`pointing.case_part.md.j2`), the overview's means on the object (`pointing.means.md.j2`) and misses
(`pointing.worst.md.j2`), the methods page's regions section (`pointing.methods.md.j2`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import Field

from generator.manifest.schema import Strict
from generator.measure.base import Measure, ModelInputs, Own, Ranking, own_top1, register, settings_of
from generator.measure.pointing.scores import NAME, RegionScore, RegionScores, region_score
from generator.measure.pointing.sentences import region_sentences
from generator.measure.pointing.tables import ObjectMeans, object_misses, object_scores, object_summary, region_section

if TYPE_CHECKING:
    from generator.explain.base import AnyExplainer, CaseInputs, SaliencyMap
    from generator.manifest.schema import Manifest, MetricsSpec
    from generator.run.models import LoadedModel
    from generator.run.region_geometry import CropRegion
    from generator.run.results import CaseResult


class PointingSpec(Strict):
    """Its key of the manifest's `metrics` section."""

    pointing_tolerance: float = Field(
        15.0,
        ge=0,
        le=1024,
        exclude=True,  # read from the cached maps, never part of the metrics' cache key: changing it runs no model
        description="The pointing game's tolerance in crop pixels: a map's maximum within this distance of a region "
        "hits it (TorchRay's benchmark: 15 on a 224 crop; 0: inside only).",
    )


@register
class Pointing(Measure):
    name = NAME
    spec = PointingSpec
    spec_places = {"pointing_tolerance": 100}
    order = 70  # after every measure of the explanations alone: its overview list comes last
    words = ("lift", "rank_accuracy", "rank accuracy")
    timed = True
    reads_regions = True

    def __init__(self, settings: MetricsSpec, explainers: Sequence[AnyExplainer], seed: int) -> None:
        super().__init__(settings, explainers, seed)
        self.own = settings_of(PointingSpec, settings)

    @classmethod
    def described(cls, manifest: Manifest, explainers: Sequence[AnyExplainer], model_count: int) -> list[str]:
        """None: its methods-page text is a section of its own (`methods_part`), not rows of the metrics' table."""
        return []

    @classmethod
    def page_context(cls, manifest: Manifest, explainers: Sequence[AnyExplainer]) -> dict[str, Any]:
        return {"pointing_segmented": [e.title for e in explainers if e.segments_case]}

    def measure(self, found: ModelInputs) -> dict[int, dict[str, Any]]:
        """{target: {method: {region name: RegionScore}}} for every map of the model on the case's regions.

        A region outside the crop gets no score (its page line says it is outside). The superpixels a method's
        top-k are counted in are the case's, for the methods that segment it."""
        inside = [region for region in found.regions if not region.outside]
        if not inside:
            return {}
        segmented = {e.name for e in self.explainers if e.segments_case}
        out: RegionScores = {}
        for target, maps in found.maps.items():
            out[target] = {
                method: {region.name: self.scored(smap, region, found.inputs, method in segmented) for region in inside}
                for method, smap in maps.items()
            }
        return out

    def scored(self, saliency: SaliencyMap, region: CropRegion, inputs: CaseInputs, segmented: bool) -> RegionScore:
        assert region.mask is not None, "region measures read the masks before the case drops them (for_pages)"
        segments = inputs.segments if segmented else None
        tolerance, k = self.own.pointing_tolerance, self.settings.top_k
        return region_score(saliency, region.mask, tolerance=tolerance, segments=segments, k=k)

    @classmethod
    def case_part(cls, case: CaseResult, models_by_key: Mapping[str, LoadedModel], crop: int) -> Any:
        return region_section(case, models_by_key, crop)

    @classmethod
    def case_findings(cls, case: CaseResult, labels: Mapping[str, str]) -> list[str]:
        return region_sentences(case, labels)

    @classmethod
    def overview_means(cls, cases: Sequence[CaseResult], models_by_key: Mapping[str, LoadedModel]) -> Any:
        on_object = object_scores(own_top1(cases, models_by_key.values()))
        table = object_summary(on_object, len(models_by_key) > 1)
        return None if table is None else ObjectMeans(table, len({found.case_id for found in on_object}))

    @classmethod
    def worst(cls, own: Sequence[Own], limit: int) -> tuple[Ranking, ...]:
        """One list of every method's maps that miss the object (laid out by `pointing.worst.md.j2`)."""
        missed = object_misses(object_scores(own), limit)
        return (Ranking("", "", missed),) if missed else ()

    @classmethod
    def methods_part(cls, cases: Sequence[CaseResult]) -> bool:
        return any(case.regions for case in cases)
