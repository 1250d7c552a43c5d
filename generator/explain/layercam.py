"""LayerCAM (Jiang, Zhang, Hou, Cheng and Wei, IEEE TIP 2021): positive gradients times activations, per position."""

from __future__ import annotations

import torch

from generator.explain.base import register
from generator.explain.cam import GradientCam, Grid


def layercam_weighting(activation: Grid, gradient: Grid) -> Grid:
    """relu(G) * A, position by position."""
    return torch.relu(gradient) * activation


@register
class LayerCam(GradientCam):
    name = "layercam"
    summary = "LayerCAM (Jiang et al. 2021): positive gradients times activations, per position."
    order = 4
    title = "LayerCAM"
    weighting = staticmethod(layercam_weighting)
