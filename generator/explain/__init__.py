"""Explainers: one small interface, one module per method, a registry from manifest name to class."""

from generator.explain.base import EXPLAINERS, CaseInputs, Explainer, enabled_explainers, method_title
from generator.explain.gradcam import GradCam, GradCamResult
from generator.explain.lime import Lime, LimeResult, segment_image

__all__ = [
    "EXPLAINERS",
    "CaseInputs",
    "Explainer",
    "GradCam",
    "GradCamResult",
    "Lime",
    "LimeResult",
    "enabled_explainers",
    "method_title",
    "segment_image",
]
