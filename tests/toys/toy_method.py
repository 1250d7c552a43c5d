"""A toy explanation method, in one file as a new method would be: a Gaussian centred on the crop, for every target.

tests/explain/test_plugins.py registers it for one build and withdraws it afterwards; nothing else in the repository
names it.
"""

from dataclasses import dataclass

import numpy as np
from pydantic import Field

from generator.explain.base import HeatmapExplainer, register
from generator.manifest.schema import Strict
from generator.utils.records import result_type


class CentreMapSpec(Strict):
    enabled: bool = Field(False, description="The toy centre map.")
    width: float = Field(0.25, gt=0, le=1, description="The Gaussian's standard deviation, as a share of the crop.")


@result_type
@dataclass(frozen=True)
class CentreMapResult:
    target: int
    raw: np.ndarray  # H x W, crop size

    @property
    def heatmap(self):
        return self.raw / self.raw.max()


def centred_gaussian(size, width):
    axis = (np.arange(size) - (size - 1) / 2) / (width * size)
    return np.exp(-0.5 * (axis[:, None] ** 2 + axis[None, :] ** 2))


@register
class CentreMap(HeatmapExplainer[CentreMapSpec, CentreMapResult]):
    name = "centre_map"
    title = "Centre map"
    spec = CentreMapSpec
    summary = "A Gaussian centred on the crop (a toy method of the tests)."
    order = 50
    section = "Where a map that looks at nothing but the centre of the crop would look (sigma {{ settings.width }})."
    method_text = "Centre map: a Gaussian with sigma {{ settings.width }} of the crop, centred on it, for every target."

    def explain(self, model, inputs, targets):
        size = inputs.image.crop.size[0]
        return tuple(CentreMapResult(int(t), centred_gaussian(size, self.settings.width)) for t in targets)
