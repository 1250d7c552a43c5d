"""`source: huggingface` (the `huggingface` extra): an image classifier of HuggingFace transformers.

`name` is a folder written by `save_pretrained` (relative to the manifest's folder) or a hub id whose files
already sit in the local Hugging Face cache; nothing is downloaded and no code from the hub runs
(`local_files_only`, never `trust_remote_code`). Classes come from `config.id2label`, mean, std and resize
interpolation from the folder's `preprocessor_config.json` where it has one. The Grad-CAM layer of a ViT-like
model (DeiT, BEiT, ...) is its last block's input norm (`layernorm_before`), read as a grid once the
embeddings' own prefix tokens (class, distillation, registers) are dropped; other models' layer is found by rule.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from generator.run.model_source import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    BuiltModel,
    GridLayout,
    ModelSource,
    Normalisation,
    ResolvedWeights,
    optional_module,
    register,
    triple,
)
from generator.utils.digests import SHORT_DIGEST, short_file_digest
from generator.utils.errors import WeightsError

if TYPE_CHECKING:
    from generator.manifest.schema import ModelSpec

EXTRA = "pip install -e '.[huggingface]'"
PROCESSOR_CONFIG = "preprocessor_config.json"
WEIGHT_SUFFIXES = (".safetensors", ".bin")
PREFIX_TOKENS = ("embeddings.cls_token", "embeddings.distillation_token", "embeddings.register_tokens")
BLOCK_INPUT_NORM = "layernorm_before"
RESAMPLE = {0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic"}  # PIL's codes, as image processors store them


class HuggingFaceClassifier(nn.Module):
    """A transformers image classifier as a plain network: normalised pixel values -> `.logits`."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.model(pixel_values=batch).logits
        return logits


@register
class HuggingFaceSource(ModelSource):
    name = "huggingface"
    title = "HuggingFace transformers"

    def resolve(self, spec: ModelSpec, manifest_dir: Path, seed: int) -> ResolvedWeights:
        transformers_module(spec)
        if spec.weights is not None:
            raise WeightsError(
                f"model '{spec.label}': a HuggingFace model's weights are in its folder; remove `weights` from it"
            )
        folder = model_folder(spec, manifest_dir)
        return ResolvedWeights(
            "model file", f"HuggingFace folder {folder}", None, folder_digest(folder), folder.name, path=folder
        )

    def build(self, spec: ModelSpec, weights: ResolvedWeights, seed: int) -> BuiltModel:
        transformers = transformers_module(spec)
        assert weights.path is not None
        torch.manual_seed(seed)  # any weights the folder lacks (a new head) are drawn reproducibly
        progress_bars = transformers.utils.logging.is_progress_bar_enabled()
        transformers.utils.logging.disable_progress_bar()  # only the command line prints
        try:
            model = transformers.AutoModelForImageClassification.from_pretrained(
                str(weights.path), local_files_only=True, trust_remote_code=False
            )
        except Exception as error:  # transformers raises OSError, ValueError, KeyError ... for unusable folders
            reason = (str(error).strip().splitlines() or [""])[0]
            raise WeightsError(
                f"model '{spec.label}': cannot load {weights.path} as an image classifier "
                f"({type(error).__name__}: {reason})"
            ) from None
        finally:
            if progress_bars:
                transformers.utils.logging.enable_progress_bar()
        module = HuggingFaceClassifier(model)
        processor = processor_config(weights.path)
        return BuiltModel(
            module=module,
            categories=categories(model.config),
            normalisation=Normalisation(
                triple(processor.get("image_mean"), IMAGENET_MEAN), triple(processor.get("image_std"), IMAGENET_STD)
            ),
            default_layer=block_input_norm(module),
            grid=GridLayout(prefix_tokens=prefix_tokens(module)),
            native_input=native_input(model.config),
            interpolation=RESAMPLE.get(processor.get("resample", -1)),
            provenance=f"HuggingFace {type(model).__name__} ({spec.name})",
        )


def transformers_module(spec: ModelSpec) -> Any:
    return optional_module("transformers", f"model '{spec.label}': a HuggingFace model needs transformers: {EXTRA}")


def model_folder(spec: ModelSpec, manifest_dir: Path) -> Path:
    """The folder `name` names (relative to the manifest), else the cached snapshot of the hub id `name`."""
    path = Path(spec.name).expanduser()
    path = path if path.is_absolute() else manifest_dir / path
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise WeightsError(f"model '{spec.label}': {path} has no config.json; write it with save_pretrained")
        return path
    from huggingface_hub import try_to_load_from_cache

    try:
        cached = try_to_load_from_cache(spec.name, "config.json")
    except ValueError:  # not a valid hub id either
        cached = None
    if not isinstance(cached, str):
        raise WeightsError(
            f"model '{spec.label}': {spec.name} is neither a folder ({path}) nor a model in the local Hugging Face "
            "cache; save the model with save_pretrained into a folder beside the manifest (nothing is downloaded)"
        )
    return Path(cached).parent


def folder_digest(folder: Path) -> str:
    """The digest of the folder's config and weight files, in name order."""
    sha = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        if path.is_file() and (path.name == "config.json" or path.suffix in WEIGHT_SUFFIXES):
            sha.update(f"{path.name}:{short_file_digest(path)}".encode())
    return sha.hexdigest()[:SHORT_DIGEST]


def processor_config(folder: Path) -> dict[str, Any]:
    path = folder / PROCESSOR_CONFIG
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise WeightsError(f"{path} is not valid JSON ({error})") from None
    return data if isinstance(data, dict) else {}


def categories(config: Any) -> tuple[str, ...] | None:
    id2label = getattr(config, "id2label", None) or {}
    try:
        indexed = {int(index): str(name) for index, name in id2label.items()}
    except ValueError:
        return None
    if sorted(indexed) != list(range(len(indexed))):
        return None
    return tuple(indexed[i] for i in range(len(indexed)))


def block_input_norm(module: nn.Module) -> str | None:
    """A ViT-like model's last block's input norm; None for other architectures (found by rule)."""
    norms = [name for name, _ in module.named_modules() if name.endswith(BLOCK_INPUT_NORM)]
    return norms[-1] if norms else None


def prefix_tokens(module: nn.Module) -> int | None:
    """The tokens before the patch grid, counted from the embeddings' own parameters; None where it has none."""
    counts = [
        int(parameter.shape[1])
        for name, parameter in module.named_parameters()
        if name.endswith(PREFIX_TOKENS) and parameter.dim() == 3
    ]
    return sum(counts) if counts else None


def native_input(config: Any) -> tuple[int, int] | None:
    size = getattr(config, "image_size", None)
    if isinstance(size, int):
        return (size, size)
    if isinstance(size, (list, tuple)) and len(size) == 2:
        return (int(size[0]), int(size[1]))
    return None
