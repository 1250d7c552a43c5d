"""Grad-CAM (Selvaraju et al., 2017) on any layer whose output is a grid: CNN blocks and transformer tokens."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import nn

from generator.explain.base import CaseInputs, HeatmapExplainer, model_device, register, scaled_to_peak
from generator.manifest.schema import GradCamSpec
from generator.run.model_source import GridLayout
from generator.run.results import result_type
from generator.run.target_layers import to_spatial

if TYPE_CHECKING:
    from generator.run.models import LoadedModel


@result_type
@dataclass(frozen=True)
class GradCamResult:
    target: int
    layer_map: NDArray[np.float64]  # ReLU'd map at the layer's resolution, unnormalised
    raw: NDArray[np.float64]  # upsampled to the input size, unnormalised
    heatmap: NDArray[np.float64]  # raw / max, in [0, 1]


@contextmanager
def captured_output(layer: nn.Module) -> Iterator[dict[str, torch.Tensor]]:
    """The layer's output of the next forward pass, under "output"; the hook is removed on exit."""
    saved: dict[str, torch.Tensor] = {}
    handle = layer.register_forward_hook(lambda _module, _inputs, output: saved.__setitem__("output", output))
    try:
        yield saved
    finally:
        handle.remove()


def grad_cam(
    module: nn.Module, layer: nn.Module, tensor: torch.Tensor, target: int, grid: GridLayout | None = None
) -> GradCamResult:
    """Grad-CAM of `target` on `layer`: GAP of the gradients as channel weights, weighted sum, ReLU, upsampled.

    Activations and gradients are read as N x C x h x w grids (`to_spatial`: token outputs of a ViT or a
    Swin are reshaped the standard way), so one recipe serves every family.
    """
    target = int(target)
    if target < 0:  # torch would read it from the end and label the map with the wrong class
        raise IndexError(f"Grad-CAM target {target} is negative; give a class index")
    inputs = tensor.detach().to(model_device(module, tensor)).clone().requires_grad_(True)
    with captured_output(layer) as saved, torch.enable_grad():
        logits = module(inputs)
        if "output" not in saved:
            raise RuntimeError(
                "the Grad-CAM layer did not run in the forward pass; choose a layer on the output's path"
            )
        (gradient,) = torch.autograd.grad(logits[0, target], saved["output"])
    grid = grid or GridLayout()
    activation = to_spatial(saved["output"].detach(), grid.channels_last, grid.prefix_tokens).float()
    gradient = to_spatial(gradient, grid.channels_last, grid.prefix_tokens).float()
    weights = gradient.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * activation).sum(dim=1, keepdim=True))
    upsampled = F.interpolate(cam, size=tuple(tensor.shape[-2:]), mode="bilinear", align_corners=False)
    layer_map = cam[0, 0].cpu().double().numpy()
    raw = upsampled[0, 0].cpu().double().numpy()
    return GradCamResult(target, layer_map, raw, scaled_to_peak(raw))


@register
class GradCam(HeatmapExplainer[GradCamSpec, GradCamResult]):
    name = "gradcam"
    title = "Grad-CAM"
    uses_target_layer = True
    needs_gradients = True
    section = (
        "Where each model's Grad-CAM layer (see the [methods page](../methods.md#models)) finds evidence for the "
        "target class (red: more). One row per target class, one column per model."
    )
    method_text = (
        "Grad-CAM on each model's layer above (by default the last spatial feature map the classifier head reads): "
        "gradients of the target class score with respect to the layer's output are averaged over space into "
        "channel weights, the weighted sum of the channels is passed through a ReLU and upsampled bilinearly to "
        "{{ manifest.preprocess.crop }}x{{ manifest.preprocess.crop }}, then divided by its maximum. A "
        "transformer's token outputs are read as a grid first (a ViT's class token dropped, a Swin's positions "
        "kept in place). Targets: each model's top-1 class and the classes a case lists under `targets`."
    )

    def explain(self, model: LoadedModel, inputs: CaseInputs, targets: tuple[int, ...]) -> tuple[GradCamResult, ...]:
        return tuple(
            grad_cam(model.module, model.target_layer, model.input_tensor(inputs.image), target, model.grid)
            for target in targets
        )
