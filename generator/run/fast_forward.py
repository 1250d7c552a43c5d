"""The forward pass used for batches of images (LIME's perturbations, the metrics): fused where it is safe.

On CPU the network is traced and frozen by TorchScript with oneDNN Graph fusion: batch norms folded
into the convolutions, convolution + add + ReLU fused into single oneDNN kernels and, for bf16, the
casts baked into the graph. On the 2-core development machine (bench/forward.md) ResNet50 runs at
40.5 ms per image in fp32 against 51.7 eager channels_last and 65.2 for the reference's eager NCHW,
and at 21.0 ms in bf16 against 26.9 under eager autocast. `torch.compile` was measured too: no faster
(43 ms fp32, 20 ms bf16) and 12-46 s of compilation per model and process.

The fused forward is checked once against the eager module on a second synthetic batch; a network
that cannot be traced, or whose traced forward differs (data-dependent control flow), runs eagerly
instead, with a warning. CUDA and MPS always run the eager module (autocast for bf16). A network whose
class says `traceable = False` (an onnxruntime session, a loaded TorchScript file) is never traced: its
forward runs outside PyTorch's modules or is compiled already.
"""

from __future__ import annotations

import logging
import warnings
import weakref
from collections.abc import Callable, Sequence

import torch
from torch import nn

log = logging.getLogger(__name__)

# Largest difference allowed between the fused and the eager forward, relative to the largest eager logit.
# Measured: fp32 1e-6 (ResNet50), bf16 4.5e-3 (two bf16 computations round differently).
TOLERANCE = {"fp32": 1e-4, "bf16": 5e-2}
# TorchScript's profiling executor runs a graph's first call unfused (torch._C._jit_get_num_profiled_runs()
# is 1); from the second call on, the fused plan gives bit-for-bit the same result every time.
WARM_UP_CALLS = 2

Forward = Callable[[torch.Tensor], torch.Tensor]  # a normalised batch -> logits
FusedKey = tuple[str, str, tuple[int, ...]]  # precision, device type, batch shape
_fused: weakref.WeakKeyDictionary[nn.Module, dict[FusedKey, Forward | None]] = weakref.WeakKeyDictionary()


def forward_for(module: nn.Module, precision: str, device: str | torch.device, batch_shape: Sequence[int]) -> Forward:
    """A callable: normalised channels_last batch of exactly `batch_shape` -> logits.

    Fused and checked once per module, precision, device and shape in a process. A traced graph is
    specialised to the shapes it has seen, and its first call runs unfused; so that every result is the
    same whatever ran before, it is only ever called with the one shape it was warmed up on, and other
    shapes (the last, partial batch) run the eager module.
    """
    device = torch.device(device)
    key = (precision, device.type, tuple(batch_shape))
    per_module = _fused.setdefault(module, {})
    if key not in per_module:  # None: run eagerly (the cache must not hold the module itself)
        per_module[key] = _build(module, precision, device, tuple(batch_shape))
    fused = per_module[key]
    return eager_forward(module, precision, device) if fused is None else fused


def eager_forward(module: nn.Module, precision: str, device: torch.device) -> Forward:
    def forward(batch: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
            return module(batch)

    return forward


def _build(module: nn.Module, precision: str, device: torch.device, batch_shape: tuple[int, ...]) -> Forward | None:
    """The fused forward, or None where the eager module must run."""
    if device.type != "cpu" or module.training or not getattr(module, "traceable", True):
        return None
    eager = eager_forward(module, precision, device)
    tracing_batch, checking_batch = synthetic_batch(batch_shape, seed=0), synthetic_batch(batch_shape, seed=1)
    try:
        fused = _trace_fused(module, precision, tracing_batch)
        with torch.inference_mode():
            for _ in range(WARM_UP_CALLS):
                fused(tracing_batch)
            difference = _relative_difference(fused(checking_batch), eager(checking_batch))
    except Exception as error:  # noqa: BLE001 - any tracing failure means: run the network eagerly
        log.warning("%s cannot be traced for fused inference (%s); running it eagerly", _name(module), error)
        return None
    if not difference <= TOLERANCE[precision]:
        log.warning(
            "fused inference of %s differs from the eager network (relative %.2g > %.0g); running it eagerly",
            _name(module),
            difference,
            TOLERANCE[precision],
        )
        return None
    log.debug("%s: fused %s inference, relative difference to eager %.2g", _name(module), precision, difference)
    return fused


def synthetic_batch(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """Values in [-2, 2], like a normalised image, in the memory format BatchClassifier produces."""
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(shape, generator=generator) * 4 - 2).contiguous(memory_format=torch.channels_last)


def _trace_fused(module: nn.Module, precision: str, example: torch.Tensor) -> torch.jit.ScriptModule:
    """TorchScript trace on `example`, frozen, with oneDNN Graph fusion."""
    torch.jit.enable_onednn_fusion(True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TorchScript's deprecation notices and tracer warnings
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            return torch.jit.freeze(torch.jit.trace(module, example, check_trace=False))


def _relative_difference(fused_logits: torch.Tensor, eager_logits: torch.Tensor) -> float:
    fused_logits, eager_logits = fused_logits.float(), eager_logits.float()
    scale = eager_logits.abs().max().clamp(min=1.0)
    return float((fused_logits - eager_logits).abs().max() / scale)


def _name(module: nn.Module) -> str:
    return type(module).__name__
