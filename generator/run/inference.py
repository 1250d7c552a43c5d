"""Running a model: top-k predictions and the batched classifier LIME and the metrics call."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from torch import nn

from generator.run.devices import module_device
from generator.run.fast_forward import Forward, eager_forward, forward_for
from generator.run.results import Prediction

if TYPE_CHECKING:
    from generator.run.model_source import Output
    from generator.run.models import LoadedModel


def scores(logits: torch.Tensor, output: Output) -> torch.Tensor:
    """The numbers the pages show and the methods explain: softmax, independent sigmoids, or the logits."""
    if output == "softmax":
        return torch.softmax(logits, dim=1)
    return torch.sigmoid(logits) if output == "sigmoid" else logits


def probabilities(model: LoadedModel, tensor: torch.Tensor) -> NDArray[np.float64]:
    """The model's scores (`output`: softmax by default) for a normalised 1x3xHxW tensor (float64 numpy)."""
    with torch.inference_mode():
        logits = model.module(tensor.to(module_device(model.module, tensor.device)))
    return scores(logits.double(), model.output)[0].cpu().numpy()


def batch_probabilities(model: LoadedModel, tensor: torch.Tensor) -> NDArray[np.float64]:
    """`probabilities` for a batch: N x 3 x H x W in, N x classes out (one forward pass)."""
    with torch.inference_mode():
        logits = model.module(tensor.to(module_device(model.module, tensor.device)))
    return scores(logits.double(), model.output).cpu().numpy()


def top_k(probs: NDArray[np.float64], categories: Sequence[str], k: int) -> tuple[Prediction, ...]:
    order = np.argsort(-probs, kind="stable")[:k]
    return tuple(Prediction(int(i), categories[int(i)], float(probs[i])) for i in order)


class BatchClassifier:
    """uint8 NxHxWx3 images -> softmax probabilities, converted and normalised in one vectorised step.

    Equal to applying ToTensor + Normalize to each image (tested), without per-image PIL work; the
    network runs through `generator.run.fast_forward` (fused on CPU, checked against the eager module).
    """

    def __init__(
        self,
        module: nn.Module,
        mean: Sequence[float],
        std: Sequence[float],
        batch_size: int = 64,
        device: str | torch.device = "cpu",
        precision: str = "fp32",
        output: Output = "softmax",
    ) -> None:
        self.module = module
        self.output = output
        self.batch_size = batch_size
        self.device = torch.device(device)
        self.precision = precision
        shape = (1, 3, 1, 1)
        self.scale = (1.0 / (255.0 * torch.tensor(std, dtype=torch.float32))).view(shape).to(self.device)
        self.shift = (
            (torch.tensor(mean, dtype=torch.float32) / torch.tensor(std, dtype=torch.float32))
            .view(shape)
            .to(self.device)
        )

    def to_tensor(self, images: ArrayLike) -> torch.Tensor:
        """uint8 NHWC numpy -> normalised float32 NCHW tensor (channels_last memory)."""
        batch = torch.tensor(np.asarray(images), dtype=torch.uint8, device=self.device)
        batch = batch.permute(0, 3, 1, 2).float()
        return (batch * self.scale - self.shift).contiguous(memory_format=torch.channels_last)

    def network_for(self, batch: torch.Tensor) -> Forward:
        """Full batches through the fused forward (always the same shape); the last, partial one eagerly."""
        if len(batch) == self.batch_size:
            return forward_for(self.module, self.precision, self.device, batch.shape)
        return eager_forward(self.module, self.precision, self.device)

    def __call__(self, images: NDArray[np.uint8]) -> NDArray[np.float64]:
        """uint8 NxHxWx3 -> float64 N x classes probabilities."""
        return self.classify_batches(
            self.to_tensor(images[start : start + self.batch_size]) for start in range(0, len(images), self.batch_size)
        )

    def classify_batches(self, batches: Iterable[torch.Tensor]) -> NDArray[np.float64]:
        """Normalised channels_last batches (from `to_tensor`, at most `batch_size` each) -> probabilities."""
        outputs = []
        with torch.inference_mode():
            for batch in batches:
                logits = self.network_for(batch)(batch)
                outputs.append(scores(logits.float(), self.output).cpu().numpy())
        return np.concatenate(outputs).astype(np.float64)


def batch_classifier(
    model: LoadedModel,
    batch_size: int | Literal["auto"],
    device: str | torch.device = "cpu",
    precision: str = "fp32",
    module: nn.Module | None = None,
    output: Output | None = None,
) -> BatchClassifier:
    """The one way the build makes a BatchClassifier: the model's normalisation and output, a batch size or "auto".

    `module` replaces the model's network (a copy with a layer redrawn, which a measure compares); `output` the model's
    output (Score-CAM reads logits)."""
    from generator.run.devices import batch_size_for

    mean, std = model.normalisation.mean, model.normalisation.std
    size = batch_size_for(batch_size, device)
    return BatchClassifier(module or model.module, mean, std, size, device, precision, output or model.output)
