"""The class activation map family's shared machinery: one hook on the model's layer, one way to read its output
as a grid, one way from channel weights to a map, one upsampling.

Every CAM method reads the layer's activations A (N x C x h x w once read as a grid, `to_spatial`: the token
outputs of a ViT or a Swin reshaped the standard way) and, when it uses gradients, the gradient G of the target's
logit with respect to them. A method gives either channel weights w (the map is ReLU(sum_c w_c A_c)) or a
weighted N x C x h x w tensor whose channel sum is the map (HiResCAM, LayerCAM); the map is upsampled bilinearly
to the crop. The gradient-free methods (Score-CAM, Ablation-CAM) run one forward pass per channel, batched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal, Union

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from pydantic import BaseModel, Field
from torch import nn

from generator.explain.base import CaseInputs, HeatmapExplainer, scaled_to_peak
from generator.manifest.schema import Strict
from generator.run.devices import batch_size_for, module_device
from generator.run.model_source import GridLayout
from generator.run.target_layers import is_nhwc, to_spatial
from generator.utils.progress import progress
from generator.utils.records import result_type

if TYPE_CHECKING:
    from generator.run.models import LoadedModel

Grid = torch.Tensor  # N x C x h x w, float32


@result_type
@dataclass(frozen=True)
class CamResult:
    target: int
    layer_map: NDArray[np.float64]  # ReLU'd map at the layer's resolution, unnormalised
    raw: NDArray[np.float64]  # upsampled to the input size, unnormalised
    heatmap: NDArray[np.float64]  # raw / max, in [0, 1]


@dataclass(frozen=True)
class LayerReading:
    """One forward (and backward) pass: the layer's output as a grid, its gradient, the model's logits."""

    activation: Grid  # 1 x C x h x w, detached
    gradient: Grid | None  # d logit[target] / d activation, as a grid; None without a target
    logits: torch.Tensor  # 1 x outputs, detached
    native_shape: tuple[int, ...]  # the layer's output shape as the model produces it (tokens, NHWC or NCHW)
    output_min: float  # the smallest value of that output (class tokens included)


@contextmanager
def captured_output(layer: nn.Module) -> Iterator[dict[str, torch.Tensor]]:
    """The layer's output of the next forward pass, under "output"; the hook is removed on exit."""
    saved: dict[str, torch.Tensor] = {}
    handle = layer.register_forward_hook(lambda _module, _inputs, output: saved.__setitem__("output", output))
    try:
        yield saved
    finally:
        handle.remove()


def checked_target(target: int) -> int:
    target = int(target)
    if target < 0:  # torch would read it from the end and label the map with the wrong class
        raise IndexError(f"CAM target {target} is negative; give a class index")
    return target


def read_layer(
    module: nn.Module, layer: nn.Module, tensor: torch.Tensor, target: int | None, grid: GridLayout | None = None
) -> LayerReading:
    """The layer's activations (and, for a target, their gradient) on the input, read as grids."""
    grid = grid or GridLayout()
    inputs = tensor.detach().to(module_device(module, tensor.device)).clone().requires_grad_(target is not None)
    with captured_output(layer) as saved, torch.set_grad_enabled(target is not None):
        logits = module(inputs)
        if "output" not in saved:
            raise RuntimeError("the CAM layer did not run in the forward pass; choose a layer on the output's path")
        output = saved["output"]
        gradient = None
        if target is not None:
            (native_gradient,) = torch.autograd.grad(logits[0, checked_target(target)], output)
            gradient = to_spatial(native_gradient, grid.channels_last, grid.prefix_tokens).float()
    activation = to_spatial(output.detach(), grid.channels_last, grid.prefix_tokens).float()
    return LayerReading(activation, gradient, logits.detach(), tuple(output.shape), float(output.detach().min()))


def upsampled(layer_map: torch.Tensor, size: Sequence[int], corners_aligned: bool = False) -> torch.Tensor:
    """An N x 1 x h x w (or N x C x h x w) map, bilinearly upsampled to `size` (the crop): the family's one upsampling.

    `corners_aligned` maps the grid's corner cells' centres onto the crop's corner pixels (Score-CAM's masks,
    as pytorch-grad-cam draws them); otherwise cell edges meet pixel edges (every map)."""
    return F.interpolate(layer_map, size=tuple(size), mode="bilinear", align_corners=corners_aligned)


def cam_result(target: int, weighted: Grid, size: Sequence[int]) -> CamResult:
    """The map of a weighted 1 x C x h x w tensor: channel sum, ReLU, upsampled, scaled to its peak."""
    cam = F.relu(weighted.sum(dim=1, keepdim=True))
    raw = upsampled(cam, size)[0, 0].cpu().double().numpy()
    return CamResult(int(target), cam[0, 0].cpu().double().numpy(), raw, scaled_to_peak(raw))


def spatial_sum(values: Grid) -> Grid:
    """Per channel, the sum over the grid's positions, kept as N x C x 1 x 1."""
    return values.sum(dim=(2, 3), keepdim=True)


Weighting = Callable[[Grid, Grid], Grid]  # (activation, gradient) -> the weighted grid whose channel sum is the map


def gradient_cam(
    module: nn.Module,
    layer: nn.Module,
    tensor: torch.Tensor,
    target: int,
    weighting: Weighting,
    grid: GridLayout | None = None,
) -> CamResult:
    """A gradient CAM of `target` on `layer`: the method's weighting of (A, G), channel sum, ReLU, upsampled."""
    reading = read_layer(module, layer, tensor, checked_target(target), grid)
    assert reading.gradient is not None
    return cam_result(target, weighting(reading.activation, reading.gradient), tensor.shape[-2:])


class CamVariantSpec(Strict):
    enabled: bool = Field(False, description="Run this member of the CAM family on each model's layer (`target_layer`).")


class ChannelPassesSpec(CamVariantSpec):
    batch_size: Union[Literal["auto"], Annotated[int, Field(ge=1, le=4096)]] = Field(
        "auto",
        description="Images per forward pass of the one pass per channel of the layer; auto: the fastest batch "
        "measured on the device's kind (as every `batch_size: auto`).",
    )


class CamExplainer(HeatmapExplainer[BaseModel, CamResult]):
    """A member of the CAM family on each model's layer: the class attributes and the cache's code modules."""

    spec: ClassVar[type[BaseModel]] = CamVariantSpec
    uses_target_layer: ClassVar[bool] = True
    needs_gradients: ClassVar[bool] = True  # the layer's activations: an opaque model (ONNX) exposes none

    def code_modules(self) -> tuple[str, ...]:
        return (*super().code_modules(), __name__)


class GradientCam(CamExplainer):
    """A CAM whose map comes from one forward and one backward pass per target: `weighting` says how."""

    @staticmethod
    def weighting(activation: Grid, gradient: Grid) -> Grid:
        raise NotImplementedError

    def explain(self, model: LoadedModel, inputs: CaseInputs, targets: tuple[int, ...]) -> tuple[CamResult, ...]:
        tensor = model.input_tensor(inputs.image)
        return tuple(
            gradient_cam(model.module, model.target_layer, tensor, t, self.weighting, model.grid) for t in targets
        )


# --- the gradient-free members: one forward pass per channel, batched ---------------------------------------


def channel_axis(native_shape: Sequence[int], channels: int, grid: GridLayout) -> int:
    """Where the channels are in the layer's own output: last for tokens and NHWC grids (`to_spatial`'s rule), else
    second."""
    return -1 if len(native_shape) == 3 or is_nhwc(native_shape, grid.channels_last) else 1


def channel_batches(channels: int, batch_size: int) -> Iterator[range]:
    for start in range(0, channels, batch_size):
        yield range(start, min(start + batch_size, channels))


@dataclass(frozen=True)
class ChannelPasses:
    """What the one pass per channel reads: the model, its layer's reading on the input, the input, the targets, and
    `advance(n)` to call after n passes (the progress bar)."""

    model: LoadedModel
    reading: LayerReading
    tensor: torch.Tensor
    targets: Sequence[int]
    advance: Callable[[int], object]

    @property
    def channels(self) -> int:
        return int(self.reading.activation.shape[1])


class ChannelPassCam(CamExplainer):
    """A CAM without gradients whose channel weights need one forward pass per channel of the layer (2048 for a
    ResNet50's layer4), run in batches of `batch_size` on the build's device. The passes are the same for every
    target, so each pass reads every target's logit at once."""

    spec: ClassVar[type[BaseModel]] = ChannelPassesSpec
    settings: ChannelPassesSpec

    def batch_size(self) -> int:
        return batch_size_for(self.settings.batch_size, self.device)

    def batched_work(self) -> str | None:
        return f"{self.title}'s one forward pass per channel of the layer"

    def channel_scores(self, passes: ChannelPasses) -> torch.Tensor:
        """C x len(targets): each channel's pass, the logit of each target."""
        raise NotImplementedError

    def weights(self, scores: torch.Tensor, reading: LayerReading, targets: Sequence[int]) -> torch.Tensor:
        """C x len(targets) channel weights from the passes' scores."""
        raise NotImplementedError

    def explain(self, model: LoadedModel, inputs: CaseInputs, targets: tuple[int, ...]) -> tuple[CamResult, ...]:
        tensor = model.input_tensor(inputs.image)
        reading = read_layer(model.module, model.target_layer, tensor, None, model.grid)
        checked = [checked_target(t) for t in targets]
        with progress(reading.activation.shape[1], "pass") as bar:
            scores = self.channel_scores(ChannelPasses(model, reading, tensor, checked, bar.update))
        weights = self.weights(scores, reading, checked)
        activation = reading.activation.cpu()
        return tuple(
            cam_result(t, weights[:, i].view(1, -1, 1, 1) * activation, tensor.shape[-2:]) for i, t in enumerate(checked)
        )
