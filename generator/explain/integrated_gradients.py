"""Integrated Gradients (Sundararajan, Taly and Yan, 2017) through Captum, from a black image.

The attributions of the three colour channels are summed into one map per pixel (signed: positive
pixels raise the target's score). By completeness they add up to the difference between the target's
logit on the image and on the black baseline; `delta` records how far the numerical integral is from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from numpy.typing import NDArray
from pydantic import Field
from torch import nn

from generator.explain.base import CaseInputs, HeatmapExplainer, register, scaled_to_peak
from generator.manifest.schema import Strict
from generator.run.devices import module_device
from generator.run.model_source import Normalisation, normalised
from generator.utils.records import result_type

if TYPE_CHECKING:
    from generator.run.models import LoadedModel


@result_type
@dataclass(frozen=True)
class IntegratedGradientsResult:
    target: int
    raw: NDArray[np.float64]  # H x W: attributions summed over the colour channels (signed)
    heatmap: NDArray[np.float64]  # positive part / its maximum, in [0, 1]
    delta: float  # sum of the attributions - (logit on the image - logit on the baseline)


def black_baseline(tensor: torch.Tensor, normalisation: Normalisation) -> torch.Tensor:
    """The normalised tensor of an all-black image: (0 - mean) / std per channel."""
    return normalised(torch.zeros_like(tensor), normalisation)


def integrated_gradients(
    module: nn.Module,
    tensor: torch.Tensor,
    baseline: torch.Tensor,
    target: int,
    steps: int,
    internal_batch_size: int,
) -> IntegratedGradientsResult:
    """Captum's IntegratedGradients of `target`'s logit (Gauss-Legendre, `steps` points) as a result."""
    from captum.attr import IntegratedGradients  # imported on first use: a no-op rebuild never needs it

    device = module_device(module, tensor.device)
    attributions, delta = IntegratedGradients(module).attribute(
        tensor.to(device),
        baselines=baseline.to(device),
        target=int(target),
        n_steps=steps,
        internal_batch_size=internal_batch_size,
        return_convergence_delta=True,
    )
    raw = attributions[0].sum(dim=0).detach().cpu().double().numpy()
    return IntegratedGradientsResult(int(target), raw, scaled_to_peak(raw), float(delta.detach().cpu().reshape(-1)[0]))


class IntegratedGradientsSpec(Strict):
    enabled: bool = Field(False, description="Integrated Gradients from a black image (off: the reference recipe).")
    steps: int = Field(50, ge=2, le=1000, description="Points of the path integral (Gauss-Legendre).")
    internal_batch_size: int = Field(16, ge=1, le=1024, description="Path points per forward/backward pass.")


@register
class IntegratedGradients(HeatmapExplainer[IntegratedGradientsSpec, IntegratedGradientsResult]):
    name = "integrated_gradients"
    title = "Integrated Gradients"
    spec = IntegratedGradientsSpec
    summary = "Integrated Gradients (Sundararajan et al. 2017) through Captum."
    order = 20
    needs_gradients = True

    def explain(
        self, model: LoadedModel, inputs: CaseInputs, targets: tuple[int, ...]
    ) -> tuple[IntegratedGradientsResult, ...]:
        tensor = model.input_tensor(inputs.image)
        baseline = black_baseline(tensor, model.normalisation)
        steps, batch = self.settings.steps, self.settings.internal_batch_size
        return tuple(integrated_gradients(model.module, tensor, baseline, t, steps, batch) for t in targets)
