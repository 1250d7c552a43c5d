"""XGrad-CAM (Fu, Hu, Zhang, Han and Chen, BMVC 2020): gradients weighted by the normalised activations."""

from __future__ import annotations

from generator.explain.base import register
from generator.explain.cam import GradientCam, Grid, spatial_sum

EPSILON = 1e-7  # pytorch-grad-cam's, beside a channel's activation sum


def xgradcam_weighting(activation: Grid, gradient: Grid) -> Grid:
    """Channel weights sum_ij G_ij A_ij / sum_ij A_ij, times A."""
    return spatial_sum(gradient * activation / (spatial_sum(activation) + EPSILON)) * activation


@register
class XGradCam(GradientCam):
    name = "xgradcam"
    summary = "XGrad-CAM (Fu et al. 2020): gradients weighted by normalised activations."
    order = 5
    title = "XGrad-CAM"
    weighting = staticmethod(xgradcam_weighting)
