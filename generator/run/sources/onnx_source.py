"""`source: onnx`: an exported `.onnx` file, run by onnxruntime on the CPU.

The file holds the network and its weights; onnxruntime runs it on numpy batches, so the black-box methods
(LIME, the deletion and insertion curves) run through the usual BatchClassifier while the methods that need
the model's layers and gradients (Grad-CAM, Integrated Gradients, the check against a redrawn layer) are left out for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import nn

from generator.run.model_source import BuiltModel, ModelFileSource, ResolvedWeights, optional_module, register
from generator.utils.errors import WeightsError

if TYPE_CHECKING:
    from generator.manifest.schema import ModelSpec

EXTRA = "pip install -e '.[onnx]'"
OPAQUE = "an ONNX file does not expose the model's layers and gradients"


class OnnxClassifier(nn.Module):
    """A normalised N x 3 x H x W tensor -> N x outputs, computed by an onnxruntime session.

    A model exported with a fixed batch size runs in chunks of that size, the last one padded with zeros
    (their outputs dropped), so that every batch size the build uses works.
    """

    traceable: ClassVar[bool] = False  # generator.run.fast_forward: the graph runs outside PyTorch

    def __init__(self, session: Any) -> None:
        super().__init__()
        self.session = session
        first = session.get_inputs()[0]
        self.input_name: str = first.name
        batch = first.shape[0] if first.shape else None
        self.fixed_batch: int | None = batch if isinstance(batch, int) and batch > 0 else None

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        array = np.ascontiguousarray(batch.detach().to("cpu", torch.float32).numpy())
        if self.fixed_batch is None:
            outputs = self.run(array)
        else:
            outputs = np.concatenate(
                [
                    self.run_padded(array[start : start + self.fixed_batch])
                    for start in range(0, len(array), self.fixed_batch)
                ]
            )
        return torch.from_numpy(outputs).to(batch.device)

    def run(self, array: np.ndarray) -> np.ndarray:
        return np.asarray(self.session.run(None, {self.input_name: array})[0], dtype=np.float32)

    def run_padded(self, chunk: np.ndarray) -> np.ndarray:
        assert self.fixed_batch is not None
        missing = self.fixed_batch - len(chunk)
        padded = np.concatenate([chunk, np.zeros((missing, *chunk.shape[1:]), chunk.dtype)]) if missing else chunk
        return self.run(padded)[: len(chunk)]


@register
class OnnxSource(ModelFileSource):
    name = "onnx"
    title = "ONNX (onnxruntime)"
    what = "ONNX file"

    def build(self, spec: ModelSpec, weights: ResolvedWeights, seed: int) -> BuiltModel:
        onnxruntime = optional_module("onnxruntime", f"model '{spec.label}': an ONNX file needs onnxruntime: {EXTRA}")
        assert weights.path is not None
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()  # the build's thread setting, as for torch models
        try:
            session = onnxruntime.InferenceSession(str(weights.path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own exception types for invalid graphs
            reason = (str(error).strip().splitlines() or [""])[0]
            raise WeightsError(
                f"model '{spec.label}': onnxruntime cannot load {weights.path} ({type(error).__name__}: {reason})"
            ) from None
        return BuiltModel(
            module=OnnxClassifier(session),
            native_input=fixed_size(session),
            provenance=f"ONNX file {weights.path.name} (onnxruntime)",
            opaque=OPAQUE,
        )


def fixed_size(session: Any) -> tuple[int, int] | None:
    """The (h, w) an exported graph was fixed to, None where its spatial sizes are dynamic."""
    shape = session.get_inputs()[0].shape
    if len(shape) == 4 and isinstance(shape[2], int) and isinstance(shape[3], int):
        return (shape[2], shape[3])
    return None
