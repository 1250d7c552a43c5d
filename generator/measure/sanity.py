"""The sanity check (Adebayo et al., 2018): each map against the same method's map of a copy of the model whose
target layer's weights are redrawn. A map that barely changes shows the input more than the model.

It applies to the methods that give one heatmap per target and read the model's layers; a model without
layers to redraw (an opaque one) is left out.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from numpy.typing import ArrayLike
from pydantic import Field
from torch import nn

from generator.explain.base import HeatmapExplainer, method_title
from generator.manifest.schema import Strict
from generator.measure.base import (
    Measure,
    MetricColumn,
    ModelInputs,
    TargetMetrics,
    flag_of,
    record_value,
    register,
    settings_of,
)
from generator.measure.metrics import safe_spearman
from generator.utils.numbers import num

if TYPE_CHECKING:
    from generator.explain.base import AnyExplainer
    from generator.manifest.schema import Manifest, MetricsSpec
    from generator.run.models import LoadedModel

SANITY_THRESHOLD = 0.5  # a randomised-model map correlating above this with the trained map "barely changes"


def redraw_scale(parameter: torch.Tensor) -> float:
    """Std for a re-drawn tensor: the trained tensor's own std, so activations keep their size.

    A constant tensor (e.g. a fresh BatchNorm weight of ones) has std 0; it falls back to its mean magnitude,
    then to 1.0, so every parameter really is re-drawn.
    """
    values = parameter.detach().double()
    std = float(values.std()) if values.numel() > 1 else 0.0
    if std > 0 and np.isfinite(std):
        return std
    magnitude = float(values.abs().mean()) if values.numel() else 0.0
    return magnitude if magnitude > 0 else 1.0


def randomise_module(module: nn.Module, layer_name: str, seed: int) -> nn.Module:
    """A deep copy of `module` whose submodule `layer_name` has every parameter re-drawn from N(0, s^2).

    s is the trained tensor's std (see `redraw_scale`): Adebayo et al. re-initialise from the layer's
    initialiser, and a scale-matched normal is an initialiser-free stand-in that works for any layer type.
    The draw uses a private torch.Generator seeded with `seed`, in named_parameters order, so it is
    deterministic and leaves the global RNG alone. Buffers (BatchNorm running stats) and every other
    layer are kept; the original module is not touched. `layer_name` is a dotted path ("" = whole model).
    """
    randomised = copy.deepcopy(module)
    layer = randomised.get_submodule(layer_name)
    generator = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for _, parameter in layer.named_parameters():
            noise = torch.randn(parameter.shape, generator=generator, dtype=torch.float64) * redraw_scale(parameter)
            parameter.copy_(noise.to(dtype=parameter.dtype, device=parameter.device))
    return randomised


def rank_correlation(map_a: ArrayLike, map_b: ArrayLike) -> float:
    """Spearman's rho over pixels between two maps; NaN when a map is constant (see `safe_spearman`)."""
    if np.shape(map_a) != np.shape(map_b):
        raise ValueError(f"map shapes differ: {np.shape(map_a)} vs {np.shape(map_b)}")
    return safe_spearman(map_a, map_b)


def sanity_flag(rho: float) -> bool:
    """True when the randomised-model map still correlates above SANITY_THRESHOLD: the method "barely changes"."""
    return bool(rho > SANITY_THRESHOLD)


class SanitySpec(Strict):
    """Its key of the manifest's `metrics` section."""

    sanity: bool = Field(
        True, description="Each map against the same map of a copy whose target layer's weights are randomised."
    )


@register
class Sanity(Measure):
    name = "sanity"
    spec = SanitySpec
    spec_places = {"sanity": 60}
    order = 60
    alert = True
    uses_target_layer = True
    topic = "sanity"
    timed = True
    unbatched_work = "the sanity check"

    def __init__(self, settings: MetricsSpec, explainers: Sequence[AnyExplainer], seed: int) -> None:
        super().__init__(settings, explainers, seed)
        self.randomised: dict[str, LoadedModel] = {}  # model key -> its copy with the target layer redrawn

    @classmethod
    def runs(cls, settings: MetricsSpec) -> bool:
        return settings_of(SanitySpec, settings).sanity

    @classmethod
    def applies_to(cls, method: type[AnyExplainer]) -> bool:
        return issubclass(method, HeatmapExplainer)

    @classmethod
    def page_context(cls, manifest: Manifest, explainers: Sequence[AnyExplainer]) -> dict[str, Any]:
        return {"sanity_threshold": SANITY_THRESHOLD}

    def measure(self, found: ModelInputs) -> dict[int, dict[str, Any]]:
        """{target: {method: rank correlation of its map with the map of the model whose target layer is redrawn}}."""
        if found.model.opaque is not None:  # an opaque model has no layer to redraw
            return {}
        out: dict[int, dict[str, Any]] = {}
        for target, maps in found.maps.items():
            for explainer in self.explainers:
                if self.applies_to(type(explainer)) and explainer.name in maps:
                    randomised = explainer.explain(self.randomised_model(found.model), found.inputs, (target,))[0]
                    out.setdefault(target, {})[explainer.name] = rank_correlation(
                        maps[explainer.name], explainer.saliency(randomised, found.inputs)
                    )
        return out

    def randomised_model(self, model: LoadedModel) -> LoadedModel:
        """The model with its target layer's weights redrawn (one copy per model, kept for every case)."""
        if model.key not in self.randomised:
            if model.target_layer_name is None:
                raise ValueError(f"model '{model.label}' has no layer to redraw: {model.opaque}")
            module = randomise_module(model.module, model.target_layer_name, self.seed)
            self.randomised[model.key] = replace(model, module=module)
        return self.randomised[model.key]

    @classmethod
    def columns(cls, records: Sequence[TargetMetrics], keys: Sequence[str]) -> list[MetricColumn]:
        return [
            MetricColumn(
                f"{method_title(key)} sanity ρ",
                record_value(cls.name, key),
                lambda v: num(v, 2),
                flag=flag_of(cls, key),
                undefined="undefined: the map of the model or of its randomised copy is zero everywhere",
                higher_is_better=False,
            )
            for key in keys
        ]

    @classmethod
    def flagged(cls, metrics: TargetMetrics) -> list[str]:
        """The methods whose map barely changed under the sanity check."""
        return [method for method, rho in metrics.of(cls.name).items() if rho is not None and sanity_flag(rho)]

    @classmethod
    def sentences(cls, model: str, own: TargetMetrics) -> list[str]:
        return [
            f"{model}'s {method_title(method)} barely changes when its target layer is randomised "
            f"(rank correlation {own.of(cls.name)[method]:.2f}): treat it with suspicion."
            for method in cls.flagged(own)
        ]
