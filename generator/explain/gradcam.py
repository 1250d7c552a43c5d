"""Grad-CAM (Selvaraju et al., 2017) on any layer whose output is a grid: CNN blocks and transformer tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from generator.explain.base import CaseInputs, register
from generator.explain.cam import CamResult, GradientCam, Grid, gradient_cam
from generator.manifest.schema import Strict
from generator.run.model_source import GridLayout

if TYPE_CHECKING:
    from generator.run.models import LoadedModel


class GradCamSpec(Strict):
    enabled: bool = True


GradCamResult = CamResult  # the family's one result type (cached results and tests name it so)


def grad_cam_weighting(activation: Grid, gradient: Grid) -> Grid:
    """Grad-CAM's channel weights, the gradients averaged over the grid (global average pooling), times A."""
    return gradient.mean(dim=(2, 3), keepdim=True) * activation


def grad_cam(
    module: nn.Module, layer: nn.Module, tensor: torch.Tensor, target: int, grid: GridLayout | None = None
) -> CamResult:
    """Grad-CAM of `target` on `layer`: GAP of the gradients as channel weights, weighted sum, ReLU, upsampled.

    Activations and gradients are read as N x C x h x w grids (`to_spatial`: token outputs of a ViT or a
    Swin are reshaped the standard way), so one recipe serves every family.
    """
    return gradient_cam(module, layer, tensor, target, grad_cam_weighting, grid)


@register
class GradCam(GradientCam):
    name = "gradcam"
    title = "Grad-CAM"
    spec = GradCamSpec
    summary = "Grad-CAM (Selvaraju et al. 2017) on each model's Grad-CAM layer (on: the reference recipe)."
    order = 0

    weighting = staticmethod(grad_cam_weighting)

    def explain(self, model: LoadedModel, inputs: CaseInputs, targets: tuple[int, ...]) -> tuple[CamResult, ...]:
        tensor = model.input_tensor(inputs.image)
        return tuple(grad_cam(model.module, model.target_layer, tensor, t, model.grid) for t in targets)
