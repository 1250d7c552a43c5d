"""Grad-CAM++ (Chattopadhay, Sarkar, Howlader and Balasubramanian, WACV 2018): higher-order gradient weights."""

from __future__ import annotations

import torch

from generator.explain.base import register
from generator.explain.cam import GradientCam, Grid, spatial_sum

EPSILON = 1e-6  # pytorch-grad-cam's, in the denominator of the alphas


def grad_cam_plus_plus_weighting(activation: Grid, gradient: Grid) -> Grid:
    """Channel weights sum_ij relu(G_ij) alpha_ij, alpha = G^2 / (2 G^2 + sum(A) G^3) (the paper's eq. 19, with
    the exponential of the score approximated as its own derivatives), zero where G is; times A."""
    squared = gradient**2
    alpha = squared / (2 * squared + spatial_sum(activation) * squared * gradient + EPSILON)
    alpha = torch.where(gradient != 0, alpha, torch.zeros_like(alpha))
    return spatial_sum(torch.relu(gradient) * alpha) * activation


@register
class GradCamPlusPlus(GradientCam):
    name = "gradcam_plus_plus"
    summary = "Grad-CAM++ (Chattopadhay et al. 2018): higher-order gradient weights."
    order = 2
    title = "Grad-CAM++"
    weighting = staticmethod(grad_cam_plus_plus_weighting)
