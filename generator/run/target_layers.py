"""Grad-CAM's layer found by rule, checked, and read as an N x C x h x w grid: what every model source shares.

A source may name its family's layer (generator.run.sources: torchvision's table, timm's and HuggingFace's
rules); otherwise `find_grid_layer` takes the last spatial map the head reads. `probe_target_layer` checks
the chosen layer on one forward pass, and `to_spatial` reads its output as a grid.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from generator.run.devices import module_device
from generator.run.model_source import GridLayout
from generator.utils.errors import WeightsError


class NotSpatial(ValueError):
    """A layer's output cannot be read as a grid of positions."""


@dataclass(frozen=True)
class LayerProbe:
    """What one forward pass showed of a Grad-CAM layer: its output's shape and the grid it gives."""

    output_shape: tuple[int, ...]
    grid: tuple[int, int]  # (h, w)


def is_nhwc(shape: Sequence[int], channels_last: bool = False) -> bool:
    """Whether a 4-D output is N x h x w x C: the middle two sizes match and the last differs (Swin's stages),
    or all three match and the model says so (`channels_last`)."""
    _, a, b, c = shape
    return (a == b and b != c) or (a == b == c and channels_last)


def to_spatial(activation: torch.Tensor, channels_last: bool = False, prefix_tokens: int | None = None) -> torch.Tensor:
    """A layer's output as N x C x h x w.

    4-D outputs are NCHW, or NHWC where the last two sizes differ and the middle two match (Swin's stages);
    `channels_last` settles a cube (h == w == C). 3-D token outputs N x L x C become a square grid once the
    model's `prefix_tokens` (class, distillation, register tokens) are dropped; without the count, L itself
    or L - 1 (a class token first: the standard ViT reshape) must be a square.
    """
    if activation.dim() == 4:
        return activation.permute(0, 3, 1, 2) if is_nhwc(activation.shape, channels_last) else activation
    if activation.dim() == 3:
        n, length, channels = activation.shape
        for skip in (0, 1) if prefix_tokens is None else (prefix_tokens,):
            side = math.isqrt(max(length - skip, 0))
            if side * side == length - skip and side > 0:
                return activation[:, skip:].reshape(n, side, side, channels).permute(0, 3, 1, 2)
    raise NotSpatial(f"its output of shape {tuple(activation.shape)} is not a spatial map")


def is_grid(output: object, grid: GridLayout) -> bool:
    """Whether a module's output reads as a map of more than one position."""
    if not isinstance(output, torch.Tensor) or output.dim() not in (3, 4) or output.shape[0] != 1:
        return False
    try:
        height, width = to_spatial(output, grid.channels_last, grid.prefix_tokens).shape[-2:]
    except NotSpatial:
        return False
    return height * width > 1


def find_grid_layer(module: nn.Module, crop: int, grid: GridLayout, label: str) -> str:
    """The Grad-CAM layer by rule, for a model without a family entry: the last spatial map the head reads.

    One forward pass on a blank crop records, in the order they finish, the modules whose output reads as a
    grid (`is_grid`); the last to finish is the outermost module around the last such map (a CNN's last
    stage, a transformer's last block or final norm), the map the pooling and the head then read. An
    `nn.Identity` is passed over: a placeholder (timm's `norm_pre`) repeats the map of the module before it.
    """
    finished: list[str] = []
    names = {id(m): name for name, m in module.named_modules() if name}

    def record(layer: nn.Module, _inputs: object, output: object) -> None:
        if is_grid(output, grid) and id(layer) in names and not isinstance(layer, nn.Identity):
            finished.append(names[id(layer)])

    handles = [m.register_forward_hook(record) for name, m in module.named_modules() if name]
    try:
        with torch.inference_mode():
            module(torch.zeros(1, 3, crop, crop, device=module_device(module)))
    finally:
        for handle in handles:
            handle.remove()
    if not finished:
        raise WeightsError(
            f"model '{label}': no layer gives a spatial map for Grad-CAM; set target_layer in the manifest"
        )
    return finished[-1]


def probe_target_layer(
    module: nn.Module,
    layer_name: str,
    crop: int,
    label: str,
    channels_last: bool = False,
    prefix_tokens: int | None = None,
) -> LayerProbe:
    """Run the network once on a blank crop; fail with the model's name if the layer gives no spatial map."""
    layer = find_module(module, layer_name, label)
    seen: list[object] = []
    handle = layer.register_forward_hook(lambda _module, _inputs, output: seen.append(output))
    try:
        blank = torch.zeros(1, 3, crop, crop, device=module_device(module))
        with torch.inference_mode():
            module(blank)
    except Exception as error:  # a network that cannot take this input size raises anything
        raise WeightsError(
            f"model '{label}': cannot run on a {crop}x{crop} crop ({type(error).__name__}: {error}). "
            "Set preprocess.crop to a size the architecture accepts (224 for ViT and Swin)."
        ) from None
    finally:
        handle.remove()
    if not seen:
        raise WeightsError(
            f"model '{label}': target_layer '{layer_name}' does not run when the model classifies "
            "(an auxiliary head?); choose a layer on the path to the output"
        )
    output = seen[-1]
    try:
        if not isinstance(output, torch.Tensor):
            raise NotSpatial(f"its output is a {type(output).__name__}, not a tensor")
        height, width = to_spatial(output, channels_last, prefix_tokens).shape[-2:]
        if height * width < 2:
            raise NotSpatial(f"its output of shape {tuple(output.shape)} is a single position, no map")
    except NotSpatial as error:
        raise WeightsError(
            f"model '{label}': target_layer '{layer_name}' cannot be used for Grad-CAM: {error}; "
            "choose a convolutional block or a transformer block"
        ) from None
    return LayerProbe(tuple(output.shape), (height, width))


def find_module(module: nn.Module, dotted: str, label: str | None = None) -> nn.Module:
    try:
        return module.get_submodule(dotted)
    except AttributeError:
        raise WeightsError(
            f"model '{label or type(module).__name__}': target_layer '{dotted}' does not exist; "
            f"top-level modules are: {', '.join(n for n, _ in module.named_children())}"
        ) from None
