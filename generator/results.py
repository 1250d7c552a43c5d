"""Typed results that travel from the computation phase to figures and pages."""

from dataclasses import dataclass, field, replace

import numpy as np


@dataclass(frozen=True)
class ModelResult:
    """One model on one case: predictions and explanations keyed by target class index."""

    model_key: str
    top_k: tuple  # tuple[Prediction]
    targets: tuple  # class indices explained and shown (top-1 first)
    gradcam: dict = field(default_factory=dict)  # target -> GradCamResult
    lime: dict = field(default_factory=dict)  # target -> LimeResult
    metrics: dict = field(default_factory=dict)  # target -> TargetMetrics
    probabilities: np.ndarray | None = None  # softmax over every class

    @property
    def top1(self):
        return self.top_k[0]

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
