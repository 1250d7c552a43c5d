"""`source: torchscript`: a file saved with `torch.jit.save`, loaded with `torch.jit.load` onto the CPU.

A compiled graph with no Python modules to hook: like an ONNX file it is treated as a black box, so LIME and
the deletion and insertion curves run and the methods that need layers and gradients are left out for it.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, ClassVar

import torch
from torch import nn

from generator.run.model_source import BuiltModel, ModelFileSource, ResolvedWeights, register
from generator.utils.errors import WeightsError

if TYPE_CHECKING:
    from generator.manifest.schema import ModelSpec

OPAQUE = "a TorchScript file runs here as a black box, without access to the model's layers and gradients"


class ScriptedClassifier(nn.Module):
    """The loaded ScriptModule, whose output must be one N x outputs tensor."""

    traceable: ClassVar[bool] = False  # generator.run.fast_forward: already compiled, nothing to trace

    def __init__(self, scripted: torch.jit.ScriptModule) -> None:
        super().__init__()
        self.scripted = scripted

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        output: torch.Tensor = self.scripted(batch)
        return output


@register
class TorchScriptSource(ModelFileSource):
    name = "torchscript"
    title = "TorchScript"
    what = "TorchScript file"

    def build(self, spec: ModelSpec, weights: ResolvedWeights, seed: int) -> BuiltModel:
        assert weights.path is not None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # TorchScript's deprecation notice
                scripted = torch.jit.load(str(weights.path), map_location="cpu")
        except Exception as error:  # torch raises RuntimeError and others for files that are not TorchScript
            reason = (str(error).strip().splitlines() or [""])[0]
            raise WeightsError(
                f"model '{spec.label}': cannot load {weights.path} as TorchScript ({type(error).__name__}: {reason}). "
                "Save the model with torch.jit.save(torch.jit.script(model) or torch.jit.trace(model, example), path)."
            ) from None
        return BuiltModel(
            module=ScriptedClassifier(scripted),
            provenance=f"TorchScript file {weights.path.name}",
            opaque=OPAQUE,
        )
