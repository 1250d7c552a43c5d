"""Typed results that travel from the computation phase to figures and pages, and the registry of them.

Every type a cache entry may hold registers itself with `@result_type` where it is defined (an explainer's
result in its own module), so the cache, which imports only this module, can read it back by name.
"""

from dataclasses import dataclass, field, fields, is_dataclass, replace

import numpy as np

RESULT_TYPES = {}  # class name -> dataclass, for reading cache entries back


def result_type(cls):
    """Register a dataclass that results are made of (the cache stores it by its name and fields)."""
    RESULT_TYPES[cls.__name__] = cls
    return cls


@result_type
@dataclass(frozen=True)
class ModelResult:
    """One model on one case: predictions and explanations keyed by target class index."""

    model_key: str
    top_k: tuple  # tuple[Prediction]
    targets: tuple  # class indices explained and shown (top-1 first)
    explanations: dict = field(default_factory=dict)  # explainer name -> {target: that explainer's result}
    metrics: dict = field(default_factory=dict)  # target -> TargetMetrics
    probabilities: np.ndarray | None = None  # softmax over every class

    @property
    def top1(self):
        return self.top_k[0]

    @property
    def own_metrics(self):
        """The measurements of the explanations of the model's own top-1 class (None when not measured)."""
        return self.metrics.get(self.top1.index)

    def explained(self, method, target):
        """The explainer's result for `target`, or None when it did not explain it (or is off)."""
        return self.explanations.get(method, {}).get(target)

    def with_metrics(self, metrics):
        return replace(self, metrics=metrics)

    def for_pages(self):
        """Without the explanations' pixel maps (drawn already): what pages and summaries read."""
        slim = {method: {t: without_pixels(r) for t, r in found.items()} for method, found in self.explanations.items()}
        return replace(self, explanations=slim)


@dataclass(frozen=True)
class CaseResult:
    spec: object  # CaseSpec
    original: object  # PIL image, RGB, orientation applied
    crop_array: np.ndarray
    segments: np.ndarray | None
    models: dict  # model key -> ModelResult
    comparisons: tuple = ()  # PairAgreement, model vs model per method and shared target

    @property
    def case_id(self):
        return self.spec.case_id

    @property
    def segmented(self):
        """Whether the case was cut into superpixels (an explainer that needs them ran)."""
        return self.segments is not None

    def with_comparisons(self, comparisons):
        return replace(self, comparisons=tuple(comparisons))

    def for_pages(self):
        """The case once its figures are drawn: no photo, crop or maps, so that a build holds every case's
        numbers but only one case's pixels at a time. The superpixels become an empty array (still segmented)."""
        return replace(
            self,
            original=None,
            crop_array=None,
            segments=None if self.segments is None else np.empty((0, 0), dtype=self.segments.dtype),
            models={key: result.for_pages() for key, result in self.models.items()},
        )


def is_map(value):
    return isinstance(value, np.ndarray) and value.ndim >= 2


def without_pixels(result):
    """An explainer's result with every array of two or more dimensions (its maps) dropped."""
    if not is_dataclass(result):
        return result
    maps = {f.name: None for f in fields(result) if is_map(getattr(result, f.name))}
    return replace(result, **maps) if maps else result


@dataclass(frozen=True)
class CaseFailure:
    spec: object
    message: str

    @property
    def case_id(self):
        return self.spec.case_id
