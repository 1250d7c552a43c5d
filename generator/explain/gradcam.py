"""Grad-CAM (Selvaraju et al., 2017) through Captum's LayerGradCam."""

from dataclasses import dataclass

import numpy as np
import torch

from generator.explain.base import Explainer, register


@dataclass(frozen=True)
class GradCamResult:
    target: int
    layer_map: np.ndarray  # ReLU'd map at the layer's resolution, unnormalised
    raw: np.ndarray  # upsampled to the input size, unnormalised
    heatmap: np.ndarray  # raw / max, in [0, 1]


def grad_cam(module, layer, tensor, target):
    """Grad-CAM of `target` on `layer`: GAP of the gradients as channel weights, weighted sum, ReLU, upsampled."""
    target = int(target)
    if target < 0:  # torch would read it from the end and label the map with the wrong class
        raise IndexError(f"Grad-CAM target {target} is negative; give a class index")
    parameter = next(module.parameters(), None)
    device = tensor.device if parameter is None else parameter.device  # the input goes where the model is
    inputs = tensor.detach().to(device).clone().requires_grad_(True)
    from captum.attr import LayerAttribution, LayerGradCam  # here, not at the top: 1 s a no-op rebuild never needs

    cam = LayerGradCam(module, layer)
    with torch.enable_grad():
        attribution = cam.attribute(inputs, target=target, relu_attributions=True)
    upsampled = LayerAttribution.interpolate(attribution, tuple(tensor.shape[-2:]), interpolate_mode="bilinear")
    layer_map = attribution[0].sum(0).detach().cpu().double().numpy()
    raw = upsampled[0, 0].detach().cpu().double().numpy()
    peak = raw.max()
    heatmap = raw / peak if peak > 0 else np.zeros_like(raw)
    return GradCamResult(target, layer_map, raw, heatmap)


@register
class GradCam(Explainer):
    name = "gradcam"
    title = "Grad-CAM"

    def explain(self, model, inputs, targets):
        return tuple(grad_cam(model.module, model.target_layer, inputs.image.tensor, target) for target in targets)
