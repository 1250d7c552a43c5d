"""Loaded models: a `models:` entry, through its source, as one typed object the rest of the build reads.

`load_models` resolves every model's weights first (fail fast), then builds each through its source
(generator.run.sources) and applies what the entry says: class names, the output activation, the input
normalisation and the Grad-CAM layer (the source's family layer, or found by rule). Every network is
prepared the same way: eval mode, channels_last memory, parameters without gradients.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from generator.manifest.imagenet import imagenet_categories
from generator.run.devices import module_device
from generator.run.model_source import (
    BuiltModel,
    GridLayout,
    Normalisation,
    Output,
    ResolvedWeights,
    local_file,
    normalised,
)
from generator.run.sources import source_of
from generator.run.target_layers import LayerProbe, find_grid_layer, find_module, probe_target_layer
from generator.utils.errors import WeightsError

if TYPE_CHECKING:
    from generator.manifest.schema import Manifest, ModelSpec, PreprocessSpec
    from generator.run.images import PreparedImage

log = logging.getLogger(__name__)

__all__ = ["LoadedModel", "ResolvedWeights", "load_model", "load_models", "resolve_weights"]


@dataclass
class LoadedModel:
    spec: ModelSpec
    module: nn.Module  # normalised N x 3 x H x W -> N x outputs (logits, or the source's scores)
    categories: tuple[str, ...]  # one name per output
    weights: ResolvedWeights
    target_layer_name: str | None  # None: the model exposes no layers (see `opaque`)
    target_layer_probe: LayerProbe | None = None
    normalisation: Normalisation = Normalisation()
    output: Output = "softmax"
    grid: GridLayout = field(default_factory=GridLayout)
    provenance: str = ""  # the methods page's line: source, architecture
    interpolation: str | None = None  # the resize its weights were trained with, when its source says
    opaque: str | None = None  # why its layers and gradients are unavailable (an ONNX file); None: they are

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def identity(self) -> dict[str, str]:
        """What its cached results depend on: the source, the architecture, the weights, the layer, the input."""
        return {
            "source": self.spec.source,
            "name": self.spec.name,
            "weights": self.weights.digest,
            "layer": self.target_layer_name or "",
            "mean": repr(self.normalisation.mean),
            "std": repr(self.normalisation.std),
            "output": self.output,
        }

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def is_random(self) -> bool:
        return self.weights.kind == "random"

    @property
    def target_layer(self) -> nn.Module:
        if self.target_layer_name is None:
            raise ValueError(f"model '{self.label}' exposes no layers: {self.opaque}")
        return find_module(self.module, self.target_layer_name)

    def class_index(self, name_or_index: int | str) -> int | None:
        """The output index of a class name (case-insensitive) or index, None where the model has no such class."""
        if isinstance(name_or_index, int) and not isinstance(name_or_index, bool):
            return name_or_index if 0 <= name_or_index < len(self.categories) else None
        wanted = str(name_or_index).strip().lower()
        return next((i for i, name in enumerate(self.categories) if name.lower() == wanted), None)

    def input_tensor(self, image: PreparedImage) -> torch.Tensor:
        """The case's crop normalised with this model's mean and std: 1 x 3 x H x W, what its module takes."""
        return self.normalise(image.pixels)

    def normalise(self, pixels: torch.Tensor) -> torch.Tensor:
        """N x 3 x H x W in [0, 1] (ToTensor's) normalised with this model's mean and std."""
        return normalised(pixels, self.normalisation)


def resolve_weights(spec: ModelSpec, manifest_dir: str | os.PathLike[str], seed: int) -> ResolvedWeights:
    """Find the weights of one model (downloading through torchvision's cache where that is the source's way)."""
    return source_of(spec).resolve(spec, Path(manifest_dir), seed)


def load_model(
    spec: ModelSpec,
    weights: ResolvedWeights,
    seed: int,
    crop: int = 224,
    preprocess: PreprocessSpec | None = None,
    manifest_dir: str | os.PathLike[str] = ".",
) -> LoadedModel:
    """Build the model through its source and prepare it; eval mode, gradients off for parameters.

    One forward pass on a blank `crop` counts the outputs and checks the Grad-CAM layer: a layer that does not
    run or gives no spatial map fails here, naming the model, before any case is computed.
    """
    built = source_of(spec).build(spec, weights, seed)
    module = prepared(built.module)
    outputs = count_outputs(module, crop, spec.label)
    probe, layer_name = None, None
    if built.opaque is None:
        layer_name = spec.target_layer or built.default_layer or find_grid_layer(module, crop, built.grid, spec.label)
        probe = probe_target_layer(
            module, layer_name, crop, spec.label, built.grid.channels_last, built.grid.prefix_tokens
        )
    warn_native_input(spec, built, crop)
    return LoadedModel(
        spec=spec,
        module=module,
        categories=class_names(spec, built, outputs, Path(manifest_dir)),
        weights=weights,
        target_layer_name=layer_name,
        target_layer_probe=probe,
        normalisation=normalisation(spec, built, preprocess),
        output=spec.output or ("sigmoid" if outputs == 1 else "softmax"),
        grid=built.grid,
        provenance=built.provenance,
        interpolation=built.interpolation,
        opaque=built.opaque,
    )


def prepared(module: nn.Module) -> nn.Module:
    module.eval()
    module.to(memory_format=torch.channels_last)  # oneDNN's fastest layout for convolutions (bench/bench_forward.py)
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    return module


def count_outputs(module: nn.Module, crop: int, label: str) -> int:
    blank = torch.zeros(1, 3, crop, crop, device=module_device(module))
    try:
        with torch.inference_mode():
            logits = module(blank)
    except Exception as error:  # a network that cannot take this input size raises anything
        raise WeightsError(
            f"model '{label}': cannot run on a {crop}x{crop} crop ({type(error).__name__}: {error}). "
            "Set preprocess.crop to a size the architecture accepts (224 for ViT and Swin)."
        ) from None
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2:
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise WeightsError(f"model '{label}': its output is {shape}, not N x classes scores")
    return int(logits.shape[1])


def normalisation(spec: ModelSpec, built: BuiltModel, preprocess: PreprocessSpec | None) -> Normalisation:
    """The entry's mean and std, else the report's `preprocess` ones, else the source's."""
    report_mean = None if preprocess is None else preprocess.mean
    report_std = None if preprocess is None else preprocess.std
    return Normalisation(
        spec.mean or report_mean or built.normalisation.mean, spec.std or report_std or built.normalisation.std
    )


def class_names(spec: ModelSpec, built: BuiltModel, outputs: int, manifest_dir: Path) -> tuple[str, ...]:
    """The entry's `classes` (a list or a file), else the source's names, else ImageNet's for 1000 outputs."""
    if spec.classes is not None:
        names = spec.classes if not isinstance(spec.classes, str) else read_classes(spec, manifest_dir)
        if len(names) != outputs:
            raise WeightsError(
                f"model '{spec.label}': classes lists {len(names)} name(s) but the model has {outputs} output(s); "
                "give one name per output, in the order of the outputs"
            )
        return tuple(names)
    if built.categories is not None and len(built.categories) == outputs:
        return built.categories
    if outputs == 1000:
        return imagenet_categories()
    log.warning("model '%s': %d outputs and no class names; set `classes` to name them", spec.label, outputs)
    return tuple(f"class {i}" for i in range(outputs))


def read_classes(spec: ModelSpec, manifest_dir: Path) -> tuple[str, ...]:
    """Class names from a file: `.txt` one per line, `.json` a list or an {index: name} mapping."""
    assert isinstance(spec.classes, str)
    path = local_file(spec, spec.classes, manifest_dir, "classes file")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() != ".json":
        return tuple(line.strip() for line in text.splitlines() if line.strip())
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise WeightsError(f"model '{spec.label}': {path} is not valid JSON ({error})") from None
    if isinstance(data, list):
        return tuple(str(name) for name in data)
    if isinstance(data, dict):
        try:
            indexed = {int(key): str(name) for key, name in data.items()}
        except ValueError:
            raise WeightsError(f"model '{spec.label}': {path} maps non-integer keys; use index -> name") from None
        if sorted(indexed) != list(range(len(indexed))):
            raise WeightsError(f"model '{spec.label}': {path} must map every index 0..N-1 to a name")
        return tuple(indexed[i] for i in range(len(indexed)))
    raise WeightsError(f"model '{spec.label}': {path} must hold a list of names or an index -> name mapping")


def warn_native_input(spec: ModelSpec, built: BuiltModel, crop: int) -> None:
    """A warning naming a model trained at another input size, or with another resize, than the report's."""
    if built.interpolation not in (None, "bilinear"):
        log.warning(
            "model '%s' was trained on %s-resized inputs; the report resizes every model's crop bilinearly",
            spec.label,
            built.interpolation,
        )
    if built.native_input is not None and tuple(built.native_input) != (crop, crop):
        height, width = built.native_input
        log.warning(
            "model '%s' was trained on %dx%d inputs; the report's crop is %dx%d (preprocess.crop)",
            spec.label,
            height,
            width,
            crop,
            crop,
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
    models = [
        load_model(spec, weights, manifest.seed, manifest.preprocess.crop, manifest.preprocess, content_dir)
        for spec, weights in resolved
    ]
    for model in models:
        model.module.to(device)
    return models
