"""Typed results that travel from the computation phase to figures and pages, and the registry of them.

Every type a cache entry may hold registers itself with `@result_type` where it is defined (an explainer's
result in its own module), so the cache, which imports only this module, can read it back by name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from generator.utils.records import result_type

Result = TypeVar("Result")

if TYPE_CHECKING:
    from generator.manifest.schema import CaseSpec

# What later stages put into a result. This module may not import them, not even for the type checker
# (tests/repository/test_layout.py reads every import, TYPE_CHECKING blocks included), so they are named here only.
ExplainerResult = (
    Any  # an explainer's own result dataclass (explain.gradcam.GradCamResult, explain.lime.LimeResult, ...)
)
TargetMetrics = Any  # measure.base.TargetMetrics
PairAgreement = Any  # measure.measurer.PairAgreement
CropRegion = Any  # run.region_geometry.CropRegion

@result_type
@dataclass(frozen=True)
class Prediction:
    index: int
    name: str
    probability: float


@dataclass(frozen=True)
class CasePredictions:
    """Every model's top-k on one case, and nothing else (no pixels): what the set page and the choice of the
    cases to explain read, for every case of a report."""

    spec: CaseSpec
    top_k: Mapping[str, tuple[Prediction, ...]]  # model key -> its top-k, most probable first

    @property
    def case_id(self) -> str:
        return self.spec.case_id


@result_type
@dataclass(frozen=True)
class ModelResult:
    """One model on one case: predictions and explanations keyed by target class index."""

    model_key: str
    top_k: tuple[Prediction, ...]
    targets: tuple[int, ...]  # class indices explained and shown (top-1 first)
    # explainer name -> {target: that explainer's result}
    explanations: dict[str, dict[int, ExplainerResult]] = field(default_factory=dict)
    metrics: dict[int, TargetMetrics] = field(default_factory=dict)
    probabilities: NDArray[np.float64] | None = None  # softmax over every class

    @property
    def top1(self) -> Prediction:
        return self.top_k[0]

    @property
    def own_metrics(self) -> TargetMetrics | None:
        """The measurements of the explanations of the model's own top-1 class (None when not measured)."""
        return self.metrics.get(self.top1.index)

    def explained(self, method: str, target: int) -> ExplainerResult | None:
        """The explainer's result for `target`, or None when it did not explain it (or is off)."""
        return self.explanations.get(method, {}).get(target)

    def with_metrics(self, metrics: dict[int, TargetMetrics]) -> ModelResult:
        return replace(self, metrics=metrics)

    def for_pages(self) -> ModelResult:
        """Without the explanations' pixel maps (drawn already): what pages and summaries read."""
        slim = {method: {t: without_pixels(r) for t, r in found.items()} for method, found in self.explanations.items()}
        return replace(self, explanations=slim)


@dataclass(frozen=True)
class CaseResult:
    spec: CaseSpec
    original: Image.Image | None  # RGB, orientation applied; None once the figures are drawn (for_pages)
    crop_array: NDArray[np.uint8] | None  # None once the figures are drawn (for_pages)
    segments: NDArray[np.integer] | None
    models: dict[str, ModelResult]  # model key -> its result
    comparisons: tuple[PairAgreement, ...] = ()  # model vs model per method and shared target
    regions: tuple[CropRegion, ...] = ()  # the regions the author marks, on the crop (masks dropped by for_pages)

    @property
    def case_id(self) -> str:
        return self.spec.case_id

    @property
    def segmented(self) -> bool:
        """Whether the case was cut into superpixels (an explainer that needs them ran)."""
        return self.segments is not None

    def with_comparisons(self, comparisons: Iterable[PairAgreement]) -> CaseResult:
        return replace(self, comparisons=tuple(comparisons))

    @property
    def object_region(self) -> CropRegion | None:
        """The region that is the object (the manifest's `object`, or the one named like the label), if any."""
        return next((region for region in self.regions if region.is_object), None)

    def for_pages(self) -> CaseResult:
        """The case once its figures are drawn: no photo, crop or maps, so that a build holds every case's
        numbers but only one case's pixels at a time. The superpixels become an empty array (still segmented)."""
        return replace(
            self,
            original=None,
            crop_array=None,
            segments=None if self.segments is None else np.empty((0, 0), dtype=self.segments.dtype),
            models={key: result.for_pages() for key, result in self.models.items()},
            regions=tuple(region.without_mask() for region in self.regions),
        )


def is_map(value: object) -> bool:
    return isinstance(value, np.ndarray) and value.ndim >= 2


def without_pixels(result: Result) -> Result:
    """An explainer's result with every array of two or more dimensions (its maps) dropped."""
    if not is_dataclass(result) or isinstance(result, type):
        return result
    maps: Mapping[str, None] = {f.name: None for f in fields(result) if is_map(getattr(result, f.name))}
    return replace(result, **maps) if maps else result


@dataclass(frozen=True)
class CaseFailure:
    spec: CaseSpec
    message: str

    @property
    def case_id(self) -> str:
        return self.spec.case_id
