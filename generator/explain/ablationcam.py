"""Ablation-CAM (Desai and Ramaswamy, WACV 2020): each channel of the layer is ablated in turn; the share of the
target's logit that is lost without it weighs it. No gradient: one forward pass per channel, shared by every target.

As in pytorch-grad-cam, a channel is ablated to 0 where the layer's smallest output is 0 (after a ReLU: a
ResNet's blocks) and otherwise to that minimum minus 1e7 (a transformer's tokens)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from generator.explain.base import register
from generator.explain.cam import ChannelPassCam, ChannelPasses, LayerReading, channel_axis, channel_batches
from generator.run.devices import module_device
from generator.run.fast_forward import eager_forward

if TYPE_CHECKING:
    from torch import nn

ABLATED_BELOW_MINIMUM = 1e7  # pytorch-grad-cam's ablation value on a layer whose output goes below 0


def ablation_value(reading: LayerReading) -> float:
    return 0.0 if reading.output_min == 0 else reading.output_min - ABLATED_BELOW_MINIMUM


def ablate_channels(layer: nn.Module, channels: list[int], axis: int, value: float) -> torch.utils.hooks.RemovableHandle:
    """A forward hook on `layer`: the i-th image of the batch has its channel channels[i] set to `value`."""

    def ablated(_module: nn.Module, _inputs: object, output: torch.Tensor) -> torch.Tensor:
        output = output.clone()
        for i, channel in enumerate(channels):
            output[i].select(axis if axis < 0 else axis - 1, channel).fill_(value)
        return output

    return layer.register_forward_hook(ablated)


@register
class AblationCam(ChannelPassCam):
    name = "ablationcam"
    summary = (
        "Ablation-CAM (Desai and Ramaswamy 2020): each channel weighted by the score lost without it; one "
        "forward pass per channel."
    )
    order = 8
    title = "Ablation-CAM"

    def batched_work(self) -> None:
        """Batched, but through the network as it is (a hook ablates the channels): not the fused forward."""
        return None

    def channel_scores(self, passes: ChannelPasses) -> torch.Tensor:
        model, reading = passes.model, passes.reading
        device = module_device(model.module, passes.tensor.device)
        forward = eager_forward(model.module, self.precision, device)
        axis = channel_axis(reading.native_shape, passes.channels, model.grid)
        value = ablation_value(reading)
        image = passes.tensor.to(device)
        scores = []
        with torch.inference_mode():
            for channels in channel_batches(passes.channels, self.batch_size()):
                handle = ablate_channels(model.target_layer, list(channels), axis, value)
                try:
                    logits = forward(image.repeat(len(channels), 1, 1, 1)).float()
                finally:
                    handle.remove()
                scores.append(logits[:, list(passes.targets)].cpu())
                passes.advance(len(channels))
        return torch.cat(scores)

    def weights(self, scores: torch.Tensor, reading: LayerReading, targets: Sequence[int]) -> torch.Tensor:
        original = reading.logits[0, list(targets)].float().cpu()[None, :]
        return (original - scores) / original
