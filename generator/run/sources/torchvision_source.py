"""`source: torchvision` (the default): torchvision's classification builders.

Weights: a torchvision weights enum name (downloaded once into torchvision's cache), a local state dict
(`.pth`, `.pt` or `.safetensors`; a head of any size, its class count read from the file) or `random`.

The Grad-CAM layer is the family's (`FAMILY_LAYERS`): the last spatial feature map the classifier head reads,
a CNN's last block, a Swin's last stage (NHWC), MaxViT's last block, and for a ViT the normalised input of its
last encoder block. A ViT's head reads the class token alone after the last block, so that block's own output
gives patch tokens a zero gradient; the tokens entering it still decide the class token through attention
(pytorch-grad-cam's choice).
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
    CLAIMED,
    BuiltModel,
    GridLayout,
    ModelSource,
    ResolvedWeights,
    head_size,
    load_into,
    random_or_file,
    redraw_zero_layers,
    register,
)
from generator.utils.errors import WeightsError

if TYPE_CHECKING:
    from generator.manifest.schema import ModelSpec

OFFLINE_EXAMPLE = "python -m generator build --manifest examples/offline/manifest.yaml"
DEFAULT_WEIGHTS = "IMAGENET1K_V1"
# builder-name prefix -> dotted layer ("[-1]": the last child, whatever the variant's depth); the longest matching
# prefix wins
FAMILY_LAYERS = {
    "resnet": "layer4",
    "resnext": "layer4",
    "wide_resnet": "layer4",
    "vgg": "features",
    "alexnet": "features",
    "squeezenet": "features",
    "densenet": "features",
    "googlenet": "inception5b",
    "inception": "Mixed_7c",
    "mobilenet": "features",
    "mnasnet": "layers",
    "shufflenet": "conv5",
    "efficientnet": "features",
    "regnet": "trunk_output",
    "convnext": "features",
    "swin": "features",
    "maxvit": "blocks[-1]",
    "vit_": "encoder.layers[-1].ln_1",
}
CHANNELS_LAST_FAMILIES = ("swin",)  # their stages keep tokens as N x h x w x C


def available_builders() -> list[str]:
    return sorted(torchvision.models.list_models(module=torchvision.models))


def checkpoint_dir() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


@register
class TorchvisionSource(ModelSource):
    name = "torchvision"
    title = "torchvision"

    def resolve(self, spec: ModelSpec, manifest_dir: Path, seed: int) -> ResolvedWeights:
        if spec.name not in available_builders():
            others = f" or {', '.join(sorted(CLAIMED))}" if CLAIMED else ""
            raise WeightsError(
                f"model '{spec.name}': unknown builder; use a torchvision classification model "
                f"(e.g. resnet18, resnet50, efficientnet_b0){others}"
            )
        weights = spec.weights or DEFAULT_WEIGHTS
        resolved = random_or_file(spec, weights, manifest_dir, seed)
        if resolved is not None:  # a copied torchvision checkpoint keeps its builder settings (enum_for_file)
            return ResolvedWeights(**{**vars(resolved), "extra": enum_for_file(spec.name, resolved.short)})
        return download_torchvision_weights(spec, weights)

    def build(self, spec: ModelSpec, weights: ResolvedWeights, seed: int) -> BuiltModel:
        enum = weights_enum(weights)
        module = build_module(spec, weights, seed)
        load_into(spec, module, weights)
        if enum is not None:
            drop_auxiliary_heads(module)
        if weights.kind == "random":
            redraw_zero_layers(module)
        return BuiltModel(
            module=module,
            categories=None if enum is None else tuple(enum.meta["categories"]),
            default_layer=default_target_layer(spec.name, module),
            grid=GridLayout(channels_last=spec.name.startswith(CHANNELS_LAST_FAMILIES)),
            native_input=native_input(enum),
            interpolation="bilinear",
            provenance=f"torchvision {spec.name}",
        )


def weights_enum(weights: ResolvedWeights) -> WeightsEnum | None:
    """The torchvision weights enum the architecture is built for (its builder settings), kept by `resolve`."""
    return weights.extra if isinstance(weights.extra, WeightsEnum) else None


def family_prefix(name: str) -> str | None:
    matches = [prefix for prefix in FAMILY_LAYERS if name.startswith(prefix)]
    return max(matches, key=len) if matches else None


def default_target_layer(name: str, module: nn.Module) -> str:
    """The family's layer (as a dotted path of the module); otherwise the last convolution."""
    prefix = family_prefix(name)
    if prefix is not None:
        return resolve_last_children(module, FAMILY_LAYERS[prefix])
    convs = [n for n, m in module.named_modules() if isinstance(m, torch.nn.Conv2d)]
    if not convs:
        raise WeightsError(f"model '{name}': no convolutional layer for Grad-CAM; set target_layer in the manifest")
    return convs[-1]


def resolve_last_children(module: nn.Module, path: str) -> str:
    """ "blocks[-1]" -> "blocks.3": a family's layer named by position, whatever the variant's depth."""
    parts = []
    for part in path.split("."):
        name, last = (part[: -len("[-1]")], True) if part.endswith("[-1]") else (part, False)
        parts.append(name)
        if last:
            parts.append(list(module.get_submodule(".".join(parts)).named_children())[-1][0])
    return ".".join(parts)


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
        "torchvision", f"{weights} ({file_name})", state_dict, os.path.splitext(file_name)[0], weights, extra=enum
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
    overrides = builder_overrides(spec.name, weights_enum(weights))
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

