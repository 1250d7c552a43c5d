"""Typed results that travel from the computation phase to figures and pages, and the registry of them.

Every type a cache entry may hold registers itself with `@result_type` where it is defined (an explainer's
result in its own module), so the cache, which imports only this module, can read it back by name.
"""

from dataclasses import dataclass, field, replace

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

    def explained(self, method, target):
        """The explainer's result for `target`, or None when it did not explain it (or is off)."""
        return self.explanations.get(method, {}).get(target)

    def with_metrics(self, metrics):
        return replace(self, metrics=metrics)


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

    def with_comparisons(self, comparisons):
        return replace(self, comparisons=tuple(comparisons))


@dataclass(frozen=True)
class CaseFailure:
    spec: object
    message: str

    @property
    def case_id(self):
        return self.spec.case_id
