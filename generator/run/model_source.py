"""What a model source hands over: the interface every `source:` of a `models:` entry implements.

Each source is one module of generator.run.sources, found there and registered here (`register`): this module
sits below the sources and imports none of them. A source turns a manifest entry into a `BuiltModel` in two
steps: `resolve` finds the weights (cheap, every model first, so that a missing file fails before any heavy
work) and `build` makes the network with them.
`generator.run.models.load_model` then applies what the entry overrides (`classes`, `output`, `mean`,
`std`, `target_layer`), prepares the network the same way for every source and checks its Grad-CAM layer.
Nothing after that asks which source a model came from.
"""

from __future__ import annotations

import hashlib
import importlib
import numbers
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import torch
from torch import nn

from generator.utils.digests import SHORT_DIGEST, short_file_digest
from generator.utils.errors import WeightsError

if TYPE_CHECKING:
    from generator.manifest.schema import ModelSpec

Output = Literal["softmax", "sigmoid", "logits"]
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ResolvedWeights:
    """Where a model's parameters come from, found before any heavy work."""

    kind: str  # "torchvision", "file", "random", "package", "pretrained" or "model file"
    description: str  # full provenance, for the methods page
    state_dict: dict[str, torch.Tensor] | None
    digest: str
    short: str  # a few words, for case pages
    extra: object = None  # the source's own, opaque to the rest (torchvision: the weights enum it builds for)
    path: Path | None = None  # a model file (TorchScript, ONNX) or a folder (HuggingFace) the source loads itself


@dataclass(frozen=True)
class Normalisation:
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD


def normalised(pixels: torch.Tensor, normalisation: Normalisation) -> torch.Tensor:
    """(pixels - mean) / std per channel, for N x 3 x H x W values in [0, 1] (torchvision's Normalize)."""
    mean = torch.tensor(normalisation.mean, dtype=pixels.dtype, device=pixels.device).view(1, 3, 1, 1)
    std = torch.tensor(normalisation.std, dtype=pixels.dtype, device=pixels.device).view(1, 3, 1, 1)
    return (pixels - mean) / std


@dataclass(frozen=True)
class GridLayout:
    """How the Grad-CAM layer's output reads as an N x C x h x w grid."""

    prefix_tokens: int | None = None  # tokens before the patch grid (class, distillation, registers); None: 0 or 1
    channels_last: bool = False  # a cube-shaped 4-D output is N x h x w x C (Swin's stages)


@dataclass
class BuiltModel:
    """A network as its source built it, with what the source knows about it."""

    module: nn.Module  # takes a normalised N x 3 x H x W batch, returns N x outputs
    categories: tuple[str, ...] | None = None  # None: the source has no names (ImageNet's for 1000 outputs)
    normalisation: Normalisation = Normalisation()
    default_layer: str | None = None  # the family's Grad-CAM layer; None: found by rule (target_layers)
    grid: GridLayout = GridLayout()
    native_input: tuple[int, int] | None = None  # (h, w) the weights were trained at, when the source says
    interpolation: str | None = None  # the resize interpolation the weights expect, when the source says
    provenance: str = ""  # one line for the methods page: where the architecture and its weights come from
    opaque: str | None = None  # why the model exposes no layers or gradients (an ONNX file); None: it does


class ModelSource(ABC):
    """One `source:` of the manifest's `models:` entries: the family of models one module builds."""

    name: ClassVar[str] = ""  # the manifest value
    title: ClassVar[str] = ""  # for the methods page
    claims: ClassVar[tuple[str, ...]] = ()  # `name:`s it builds for an entry of the default source (no `source:`)

    @abstractmethod
    def resolve(self, spec: ModelSpec, manifest_dir: Path, seed: int) -> ResolvedWeights:
        """Find the weights (or the model file); raise WeightsError naming the model and the fix."""

    @abstractmethod
    def build(self, spec: ModelSpec, weights: ResolvedWeights, seed: int) -> BuiltModel:
        """The network with those weights loaded (any mode; `load_model` puts it in eval mode)."""


SOURCES: dict[str, ModelSource] = {}  # manifest `source:` -> its source, in registration order
CLAIMED: dict[str, ModelSource] = {}  # a `name:` of the default source -> the source that claims it


def register(cls: type[ModelSource]) -> type[ModelSource]:
    """Add a source to the registry (generator.run.sources imports every module, whose class is decorated)."""
    source = cls()
    SOURCES[cls.name] = source
    for name in cls.claims:
        CLAIMED[name] = source
    return cls


def optional_module(module: str, missing: str) -> Any:
    """An optional dependency of a source, imported on first use; WeightsError(`missing`) where it is absent."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise WeightsError(missing) from None


def digest_state_dict(state_dict: Mapping[str, object]) -> str:
    sha = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name]
        sha.update(name.encode())
        if isinstance(tensor, torch.Tensor):
            sha.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return sha.hexdigest()[:SHORT_DIGEST]


def triple(value: object, default: tuple[float, float, float]) -> tuple[float, float, float]:
    """A configuration's mean or std: three numbers, or one for every channel; `default` for anything else."""
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    found = [float(v) for v in values if isinstance(v, numbers.Real) and not isinstance(v, bool)]
    found = found * 3 if len(found) == len(values) == 1 else found
    if len(found) != 3 or len(values) not in (1, 3):
        return default
    return (found[0], found[1], found[2])


STATE_DICT_SUFFIXES = (".pth", ".pt", ".safetensors")


def random_or_file(spec: ModelSpec, weights: str, manifest_dir: Path, seed: int) -> ResolvedWeights | None:
    """`random`, or a state dict file (relative to the manifest's folder); None for any other value."""
    if weights == "random":
        return random_weights(seed)
    if weights.endswith(STATE_DICT_SUFFIXES):
        return load_state_dict_file(spec, local_file(spec, weights, manifest_dir, "weights file"))
    return None


class ModelFileSource(ModelSource):
    """A source whose `name` is one file holding the network and its weights (ONNX, TorchScript)."""

    what: ClassVar[str] = ""  # "ONNX file"

    def resolve(self, spec: ModelSpec, manifest_dir: Path, seed: int) -> ResolvedWeights:
        if spec.weights is not None:
            raise WeightsError(
                f"model '{spec.label}': the {self.what} {spec.name} holds its own weights; remove `weights` from its "
                "entry"
            )
        path = local_file(spec, spec.name, manifest_dir, self.what)
        if not path.is_file():
            raise WeightsError(f"model '{spec.label}': {self.what} {path} is not a file")
        digest = short_file_digest(path)
        return ResolvedWeights("model file", f"{self.what} {path.name}", None, digest, path.name, path=path)


def redraw_zero_layers(module: nn.Module) -> None:
    """Give random weights to linear layers initialised to zero (torchvision's ViT head) in a random model.

    A zero head scores every class the same whatever the image, so a "random" ViT would have no gradient
    and no explanation at all; drawn like any nn.Linear (from the seeded global generator), it is a random
    model like the others.
    """
    for layer in module.modules():
        if isinstance(layer, nn.Linear) and not layer.weight.any():
            layer.reset_parameters()


def random_weights(seed: int) -> ResolvedWeights:
    return ResolvedWeights("random", f"random (seed {seed})", None, f"random-{seed}", f"random weights (seed {seed})")


def local_file(spec: ModelSpec, value: str, manifest_dir: Path, what: str) -> Path:
    """A path of the entry, relative to the manifest's folder; WeightsError when it does not exist."""
    path = Path(value).expanduser()
    path = path if path.is_absolute() else manifest_dir / path
    if not path.exists():
        raise WeightsError(f"model '{spec.label}': {what} not found: {path} (paths are relative to the manifest)")
    return path


def load_state_dict_file(spec: ModelSpec, path: Path) -> ResolvedWeights:
    """A plain state dict from a .pth/.pt (never unpickling code: weights_only) or a .safetensors file."""
    if not path.is_file():
        raise WeightsError(f"model '{spec.label}': weights file not found: {path}")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state_dict: object = load_file(str(path), device="cpu")
        else:
            state_dict = torch.load(path, map_location="cpu", weights_only=True)
    except ImportError:
        raise WeightsError(f"model '{spec.label}': {path.name} needs safetensors: pip install safetensors") from None
    except Exception as error:  # torch raises many types for corrupt or unsafe files
        reason = load_failure(error)
        raise WeightsError(
            f"model '{spec.label}': cannot load {path} as a state dict ({type(error).__name__}: {reason}). "
            "Only plain state dicts saved with torch.save(model.state_dict(), ...) or safetensors are accepted."
        ) from None
    if not isinstance(state_dict, dict):
        raise WeightsError(f"model '{spec.label}': {path} holds a {type(state_dict).__name__}, not a state dict")
    return ResolvedWeights("file", str(path), state_dict, digest_state_dict(state_dict), path.name)


def load_failure(error: Exception) -> str:
    """What torch.load found, without its advice to set weights_only=False (this tool never unpickles code)."""
    text = str(error)
    found = re.search(r"Unsupported global: GLOBAL \S+", text)
    return found.group(0) if found else (text.strip().splitlines() or [""])[0]


def load_into(spec: ModelSpec, module: nn.Module, weights: ResolvedWeights) -> None:
    """Load the resolved state dict (if any) into the module; WeightsError when it does not fit."""
    if weights.state_dict is None:
        return
    try:
        module.load_state_dict(weights.state_dict)
    except RuntimeError as error:
        first_line = str(error).strip().splitlines()[0]
        raise WeightsError(
            f"model '{spec.label}': the weights in {weights.description} do not fit architecture '{spec.name}' "
            f"({first_line}). Check the model name or the weights file."
        ) from None


def head_size(default: Mapping[str, torch.Tensor], loaded: Mapping[str, torch.Tensor]) -> int | None:
    """The number of classes of a state dict whose only difference from the default architecture is its head.

    Every tensor whose shape differs must differ in its first size only, and all to the same size (the last
    layer's weight and bias); None when nothing differs or the difference is not a head's.
    """
    sizes = {
        int(tensor.shape[0])
        for key, tensor in loaded.items()
        if key in default
        and isinstance(tensor, torch.Tensor)
        and tensor.dim() >= 1
        and tuple(tensor.shape) != tuple(default[key].shape)
        and tuple(tensor.shape[1:]) == tuple(default[key].shape[1:])
    }
    return sizes.pop() if len(sizes) == 1 else None
