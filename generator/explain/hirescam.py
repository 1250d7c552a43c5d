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
    title = "HiResCAM"
    weighting = staticmethod(hirescam_weighting)
    method_text = (
        "HiResCAM (Draelos and Carin 2020) on the same layer: the gradient times the activation at every position "
        "of the grid, summed over the channels, without first averaging the gradient over the grid, then a ReLU "
        "and the bilinear upsampling. For a model that ends in global average pooling and one linear layer, the "
        "map is exactly each position's contribution to the target's score. One forward and one backward pass per "
        "target."
    )
