"""The model sources, one module each: importing this package registers every one (generator.run.model_source)."""

from generator.run.sources import (
    huggingface_source,
    onnx_source,
    python_source,
    timm_source,
    torchscript_source,
    torchvision_source,
)

__all__ = [
    "torchvision_source",
    "timm_source",
    "huggingface_source",
    "onnx_source",
    "python_source",
    "torchscript_source",
]
