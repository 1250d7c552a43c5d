"""Choose the torch device and check that the requested precision runs on it."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal, overload

import torch
from torch import nn

from generator.utils.errors import UsageError
from generator.utils.options import BuildOptions

AUTO_BATCH_SIZE_CPU = 8  # fastest measured on 2 CPU cores (bench/results.md)
AUTO_BATCH_SIZE = {"cpu": AUTO_BATCH_SIZE_CPU, "cuda": 250, "mps": 250}  # GPU: fastest measured on an H100


class DeviceError(UsageError):
    """The requested device or precision is not available on this machine."""


@overload
def module_device(module: nn.Module, fallback: torch.device) -> torch.device: ...
@overload
def module_device(module: nn.Module, fallback: None = None) -> torch.device | None: ...
def module_device(module: nn.Module, fallback: torch.device | None = None) -> torch.device | None:
    """Where a module's parameters are (its input goes there); `fallback` for a module without parameters."""
    parameter = next(module.parameters(), None)
    return fallback if parameter is None else parameter.device


@dataclasses.dataclass(frozen=True)
class Inference:
    """How a build ran its batched forward passes (LIME, the metrics): recorded on the methods page."""

    device: str = "cpu"  # resolved: cpu, cuda or mps
    precision: str = "fp32"
    batch_size: int = AUTO_BATCH_SIZE_CPU  # LIME's
    measurement_batch_size: int = AUTO_BATCH_SIZE_CPU  # the curves' and the seed re-runs' (metrics.batch_size)

    @property
    def processor(self) -> str:
        return {"cpu": "CPU", "cuda": "GPU (CUDA)", "mps": "Apple GPU (MPS)"}.get(self.device, self.device)


def batch_size_for(setting: int | Literal["auto"], device: str | torch.device) -> int:
    """The batch size of the batched forward passes: the manifest's number, or "auto"'s rule for the device."""
    if setting != "auto":
        return int(setting)
    return AUTO_BATCH_SIZE.get(str(device).split(":")[0], AUTO_BATCH_SIZE["cpu"])


def resolve_device(name: str) -> str:
    if name == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceError("--device cuda: no CUDA GPU is visible to torch; use --device cpu or auto")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise DeviceError("--device mps: Apple's MPS backend is not available here; use --device cpu or auto")
    return name


def bf16_supported(device: str) -> bool:
    if device == "cuda":
        return torch.cuda.is_bf16_supported()
    if device == "cpu":
        return bool(getattr(torch.backends.mkldnn, "is_available", lambda: False)()) and cpu_has_bf16()
    return False


def cpu_has_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="ignore")
    except OSError:
        return False
    return any(flag in flags for flag in ("avx512_bf16", "amx_bf16"))


def check_device(options: BuildOptions) -> BuildOptions:
    device = resolve_device(options.device)
    if options.precision == "bf16" and not bf16_supported(device):
        raise DeviceError(
            f"--precision bf16 is not supported on {device} here (no native bfloat16); use --precision fp32"
        )
    return dataclasses.replace(options, device=device)
