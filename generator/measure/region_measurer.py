"""The region measures of one model on one case, read from its explanations' maps: no model runs.

They are computed on every build from the cached explanations (not cached themselves: a few array sums per
map), so adding, moving or renaming a region, or changing `metrics.pointing_tolerance`, recomputes only them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from generator.measure.region_scores import RegionScore, region_score

if TYPE_CHECKING:
    from generator.explain.base import CaseInputs, SaliencyMap
    from generator.measure.measurer import Measurer
    from generator.run.region_geometry import CropRegion
    from generator.run.results import ModelResult, RegionScores


def region_scores(
    measurer: Measurer, result: ModelResult, inputs: CaseInputs, regions: Sequence[CropRegion]
) -> RegionScores:
    """{target: {method: {region name: RegionScore}}} for every map of the model's result on the case's regions.

    A region outside the crop gets no score (its page line says it is outside). The superpixels a method's
    top-k are counted in are the case's, for the methods that segment it."""
    inside = [region for region in regions if not region.outside]
    if not inside:
        return {}
    segmented = {e.name for e in measurer.explainers if e.segments_case}
    settings = measurer.settings
    out: RegionScores = {}
    for target in result.targets:
        maps = measurer.saliency_maps(result, target, inputs)
        out[target] = {
            method: {
                region.name: scored(smap, region, settings.pointing_tolerance, settings.top_k, inputs, method in segmented)
                for region in inside
            }
            for method, smap in maps.items()
        }
    return out


def scored(
    saliency: SaliencyMap, region: CropRegion, tolerance: float, k: int, inputs: CaseInputs, segmented: bool
) -> RegionScore:
    assert region.mask is not None, "region measures read the masks before the case drops them (for_pages)"
    segments = inputs.segments if segmented else None
    return region_score(saliency, region.mask, tolerance=tolerance, segments=segments, k=k)
