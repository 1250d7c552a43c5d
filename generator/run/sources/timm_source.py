"""`source: timm`: any model of `timm.list_models()` (a pretrained tag may follow: `resnet18.a1_in1k`).

Weights: `random` (seeded), a local state dict (`.safetensors`, `.pth`, `.pt`; a head of another size, its
class count read from the file), or `pretrained` (the default) from the local Hugging Face cache or torch's
checkpoint folder, where timm would have put them. Nothing is ever downloaded: weights that are not cached
are a WeightsError that says how to put them there. Files are read as plain state dicts (never unpickled)
and handed to timm, which maps them onto the model as its own pretrained loader does.

Mean, std, interpolation and native input size come from the model's pretrained config
(`timm.data.resolve_model_data_config`); class names from it where they are not ImageNet-1k's (those are
the build's own ImageNet names).

The Grad-CAM layer, by rule:
- a transformer whose head reads its class token(s) (`global_pool` 'token': ViT, DeiT): the last block's
  `norm1`, the normalised tokens entering it (pytorch-grad-cam's ViT choice; the last block's own output
  gives the patch tokens no gradient); the grid drops the model's `num_prefix_tokens` (DeiT distilled: 2,
  registers: more);
- a model whose stages are N x h x w x C (timm's `output_fmt` 'NHWC': Swin): its last stage
  (`feature_info[-1]`), read channels last;
- any other model (CNNs, transformers that pool their patch tokens): the last module whose output is a
  spatial map, found by one forward pass at the native input size (generator.run.target_layers
  .find_grid_layer, with the model's prefix tokens): a CNN's last stage or head convolution, a pooled ViT's
  last block.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from generator.run.model_source import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    STATE_DICT_SUFFIXES,
    BuiltModel,
    GridLayout,
    ModelSource,
    Normalisation,
    ResolvedWeights,
    head_size,
    load_into,
    load_state_dict_file,
    optional_module,
    random_or_file,
    register,
    triple,
)
from generator.run.target_layers import find_grid_layer
from generator.utils.errors import WeightsError

if TYPE_CHECKING:
    from generator.manifest.schema import ModelSpec

HUB_FILES = ("model.safetensors", "pytorch_model.bin")  # what timm's Hugging Face repositories hold


def timm_module() -> Any:
    return optional_module("timm", "source 'timm' needs timm: pip install -e '.[timm]'")


def known_name(spec: ModelSpec) -> None:
    """WeightsError with the closest names when the architecture (before any `.tag`) is not timm's."""
    timm = timm_module()
    architecture, _, _ = spec.name.partition(".")
    names = timm.list_models()
    if architecture in names:
        return
    close = difflib.get_close_matches(architecture, names, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else "; see timm.list_models()"
    raise WeightsError(f"model '{spec.label}': unknown timm model {spec.name!r}{hint}")


def hub_cache_dir() -> Path:
    """The Hugging Face hub cache as the environment says now (HF_HUB_CACHE, HF_HOME, XDG_CACHE_HOME)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface")
    return Path(home).expanduser() / "hub"


def cached_pretrained_file(spec: ModelSpec) -> tuple[Path | None, str]:
    """The cached weights of the entry's pretrained config (None: not cached), and where they would come from."""
    from huggingface_hub import try_to_load_from_cache

    config = timm_module().models.get_pretrained_cfg(spec.name)
    if config is None:
        return None, "no pretrained weights in timm"
    if config.hf_hub_id:
        for file_name in (config.hf_hub_filename,) if config.hf_hub_filename else HUB_FILES:
            found = try_to_load_from_cache(config.hf_hub_id, file_name, cache_dir=hub_cache_dir())
            if isinstance(found, str):
                return Path(found), f"{config.hf_hub_id} ({file_name})"
    if config.url and config.url.endswith(STATE_DICT_SUFFIXES):
        legacy = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(config.url)
        if legacy.is_file():
            return legacy, os.path.basename(config.url)
    return None, config.hf_hub_id or config.url or "no pretrained weights in timm"


def resolve_pretrained(spec: ModelSpec) -> ResolvedWeights:
    path, origin = cached_pretrained_file(spec)
    if path is None:
        raise WeightsError(
            f"model '{spec.label}': the pretrained weights of timm '{spec.name}' ({origin}) are not in the local "
            f"Hugging Face cache ({hub_cache_dir()}); this tool never downloads.\n"
            f'  Put them there on a machine with internet: python -c "import timm; '
            f"timm.create_model('{spec.name}', pretrained=True)\" (set HF_HOME to use another cache folder),\n"
            "  or point the manifest at a state dict file: weights: path/to/model.safetensors,\n"
            "  or use weights: random"
        )
    resolved = load_state_dict_file(spec, path)
    return ResolvedWeights("pretrained", f"pretrained {origin}", resolved.state_dict, resolved.digest, "pretrained")


@register
class TimmSource(ModelSource):
    name = "timm"
    title = "timm"

    def resolve(self, spec: ModelSpec, manifest_dir: Path, seed: int) -> ResolvedWeights:
        known_name(spec)
        weights = spec.weights or "pretrained"
        resolved = random_or_file(spec, weights, manifest_dir, seed)
        if resolved is not None:
            return resolved
        if weights == "pretrained":
            return resolve_pretrained(spec)
        raise WeightsError(
            f"model '{spec.label}': unknown weights {weights!r} for a timm model; use 'pretrained' (from the local "
            "Hugging Face cache), 'random' or a .safetensors/.pth state dict (a pretrained tag goes in the name: "
            f"{spec.name.partition('.')[0]}.<tag>)"
        )

    def build(self, spec: ModelSpec, weights: ResolvedWeights, seed: int) -> BuiltModel:
        timm = timm_module()
        module = create(spec, weights, seed)
        module.eval()  # the layer search below must not update batch-norm statistics
        config = timm.data.resolve_model_data_config(module)
        native = tuple(int(side) for side in config["input_size"][1:])
        grid, layer = grad_cam_layer(spec, module, native)
        return BuiltModel(
            module=module,
            categories=label_names(module, weights),
            normalisation=Normalisation(triple(config["mean"], IMAGENET_MEAN), triple(config["std"], IMAGENET_STD)),
            default_layer=layer,
            grid=grid,
            native_input=(native[0], native[1]),
            interpolation=str(config["interpolation"]),
            provenance=f"timm {spec.name}",
        )


def create(spec: ModelSpec, weights: ResolvedWeights, seed: int) -> nn.Module:
    """timm.create_model with the resolved weights; a state dict's head of another size sets num_classes."""
    timm = timm_module()
    torch.manual_seed(seed)
    if weights.kind == "pretrained":
        # timm's own loader, fed the state dict read safely from the cache (its filters map older formats); a
        # state dict in the pretrained config comes before every download in timm's order, so none is tried
        module: nn.Module = timm.create_model(
            spec.name, pretrained=True, pretrained_cfg_overlay={"state_dict": weights.state_dict}
        )
        return module
    module = timm.create_model(spec.name, pretrained=False)
    classes = None if weights.state_dict is None else head_size(module.state_dict(), weights.state_dict)
    if classes is not None:  # a fine-tuned head: rebuilt with its size
        torch.manual_seed(seed)
        module = timm.create_model(spec.name, pretrained=False, num_classes=classes)
    load_into(spec, module, weights)
    return module


def label_names(module: nn.Module, weights: ResolvedWeights) -> tuple[str, ...] | None:
    """The pretrained config's class names; None for ImageNet-1k (the build's own names) or when it has none."""
    config = getattr(module, "pretrained_cfg", None) or {}
    classes = int(getattr(module, "num_classes", 0) or 0)
    if weights.kind == "file" and classes != config.get("num_classes"):
        return None  # a head of its own: the entry's `classes` name it
    if config.get("label_names"):
        return tuple(str(name) for name in config["label_names"])
    from timm.data import ImageNetInfo, infer_imagenet_subset

    subset = infer_imagenet_subset(module)
    if subset is None or subset == "imagenet-1k":
        return None
    descriptions = ImageNetInfo(subset).label_descriptions()
    names = tuple(str(text).split(",")[0].strip() for text in descriptions)
    return names if len(names) == classes else None


def grad_cam_layer(spec: ModelSpec, module: nn.Module, native: tuple[int, ...]) -> tuple[GridLayout, str]:
    """The layer and grid of the module docstring's rule."""
    prefix = getattr(module, "num_prefix_tokens", None)
    prefix = None if prefix is None else int(prefix)
    blocks = getattr(module, "blocks", None)
    if getattr(module, "global_pool", None) == "token" and isinstance(blocks, nn.Sequential | nn.ModuleList):
        last = len(blocks) - 1
        if last >= 0 and hasattr(blocks[last], "norm1"):
            return GridLayout(prefix_tokens=prefix), f"blocks.{last}.norm1"
    feature_info = getattr(module, "feature_info", None)
    if getattr(module, "output_fmt", None) == "NHWC" and feature_info:
        return GridLayout(channels_last=True), str(feature_info[-1]["module"])
    grid = GridLayout(prefix_tokens=prefix)
    found = find_grid_layer(module, max(native), grid, spec.label)
    last_feature = str(feature_info[-1]["module"]) if feature_info else ""
    # the same map named where timm names it: its last stage ("stages.3") rather than the container ("stages")
    return grid, last_feature if last_feature.startswith(found + ".") else found
