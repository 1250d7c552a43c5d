"""HiResCAM (Draelos and Carin, 2020): the gradient times the activation at each position, summed over channels."""

from __future__ import annotations

from generator.explain.base import register
from generator.explain.cam import GradientCam, Grid


def hirescam_weighting(activation: Grid, gradient: Grid) -> Grid:
    """G * A, position by position: no averaging of the gradient over the grid."""
    return gradient * activation


@register
class HiResCam(GradientCam):
    name = "hirescam"
    summary = "HiResCAM (Draelos and Carin 2020): gradients times activations, per position."
    order = 3
    title = "HiResCAM"
    weighting = staticmethod(hirescam_weighting)
