"""The model sources, one module each: importing this package registers every one (generator.run.model_source)."""

from generator.run.sources import torchvision_source

__all__ = ["torchvision_source"]
