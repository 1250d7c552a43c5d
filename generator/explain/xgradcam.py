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
    title = "XGrad-CAM"
    weighting = staticmethod(xgradcam_weighting)
    method_text = (
        "XGrad-CAM (Fu et al. 2020) on the same layer: each channel's weight is the sum over the grid of the "
        "gradient times the activation divided by the channel's activation sum (the weights that make the map "
        "satisfy the paper's sensitivity and conservation axioms); weighted sum, ReLU, bilinear upsampling. One "
        "forward and one backward pass per target."
    )
