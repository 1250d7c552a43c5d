"""The measuring phase: turn one model's explanations of one case into numbers, one registered measure at a time.

The measures are the modules of this package (generator/measure/base.py says what each brings). The measurer
makes each target's maps once, hands them to every measure that runs, and classifies the images of every
curve measure (and of the random baseline) in one batched pass. The measures that read the case's regions run
apart (`measure_regions`), on every build: the metrics' cache key holds no region.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from numpy.typing import NDArray

from generator.explain.base import AnyExplainer, CaseInputs, SaliencyMap
from generator.measure import base, metrics
from generator.measure.base import RANDOM_MAP, Measure, ModelInputs, TargetMetrics, enabled_measures
from generator.run.inference import BatchClassifier, batch_classifier
from generator.utils.phase_times import timed

if TYPE_CHECKING:
    from generator.manifest.schema import MetricsSpec
    from generator.run.models import LoadedModel
    from generator.run.region_geometry import CropRegion
    from generator.run.results import ModelResult

log = logging.getLogger(__name__)

RANDOM_MAP_GRID = 7  # the random baseline's coarse grid, as coarse as a ResNet's last block
Curves = dict[str, dict[int, dict[str, Any]]]  # curve measure -> {target: {map name | RANDOM_MAP: its record}}


class Measurer:
    """Measures the explanations of the enabled explainers with every measure the settings turn on."""

    def __init__(
        self,
        settings: MetricsSpec,
        explainers: Sequence[AnyExplainer],
        seed: int,
        device: str | torch.device = "cpu",
        precision: str = "fp32",
    ) -> None:
        self.settings = settings
        self.explainers = explainers
        self.seed = seed
        self.device = device
        self.precision = precision
        self.measures = enabled_measures(settings, explainers, seed)
        self.cached = [m for m in self.measures if not m.reads_regions]  # what the metrics' cache entry holds
        self.random_stacks: dict[tuple[str, bytes], NDArray[np.uint8]] = {}  # (measure, case image) -> images

    def code_modules(self) -> tuple[str, ...]:
        """The modules whose source computes the metrics: these, each measure's, every explainer's (maps, a method's own measures)."""
        return (
            __name__,
            base.__name__,
            metrics.__name__,
            *(m for measure in self.cached for m in measure.code_modules()),
            *(m for e in self.explainers for m in e.code_modules()),
        )

    def classifier(self, model: LoadedModel) -> BatchClassifier:
        return batch_classifier(model, self.settings.batch_size, self.device, self.precision)

    def measure(self, model: LoadedModel, inputs: CaseInputs, result: ModelResult) -> dict[int, TargetMetrics]:
        """TargetMetrics for every target of a ModelResult."""
        classify = self.classifier(model)
        maps = {target: self.saliency_maps(result, target, inputs) for target in result.targets}
        with timed("curves"):
            found: Curves = self.curves(classify, inputs.image.crop_array, maps, result.probabilities)
        given = ModelInputs(model, inputs, result, maps, classify)
        for measure in (m for m in self.cached if not m.curves):
            found[measure.name] = measured(measure, given)
        return {
            target: TargetMetrics(target, {m.name: found.get(m.name, {}).get(target, {}) for m in self.cached})
            for target in result.targets
        }

    def measure_regions(
        self, model: LoadedModel, inputs: CaseInputs, result: ModelResult, regions: Sequence[CropRegion]
    ) -> ModelResult:
        """The result (its metrics measured) with the records of every measure that reads the case's regions."""
        readers = [m for m in self.measures if m.reads_regions]
        if not readers or not regions:
            return result
        maps = {target: self.saliency_maps(result, target, inputs) for target in result.targets}
        given = ModelInputs(model, inputs, result, maps, self.classifier(model), regions)
        found = {measure.name: measured(measure, given) for measure in readers}
        return result.with_metrics(
            {
                target: metrics.with_records(
                    {name: by_target[target] for name, by_target in found.items() if target in by_target}
                )
                for target, metrics in result.metrics.items()
            }
        )

    def saliency_maps(self, result: ModelResult, target: int, inputs: CaseInputs) -> dict[str, SaliencyMap]:
        """{method: H x W map} of one target, for every explainer that explained it."""
        return {
            e.name: e.saliency(result.explained(e.name, target), inputs)
            for e in self.explainers
            if result.explained(e.name, target) is not None
        }

    def curves(
        self,
        classify: BatchClassifier,
        image: NDArray[np.uint8],
        maps: Mapping[int, Mapping[str, SaliencyMap]],
        original_probabilities: NDArray[np.float64] | None = None,
    ) -> Curves:
        """The records of every curve measure that is on, of every map of one model and the random map.

        The images of every curve go through one batched pass, each distinct image once (the random
        baseline's images serve every target; the original's probabilities are the predictions').
        """
        kinds = [m for m in self.measures if m.curves]
        if not kinds or not any(maps.values()):
            return {}
        named = [(target, name, smap) for target, by_name in maps.items() for name, smap in by_name.items()]
        shown = [target for target in maps if maps[target]]
        stacks = {
            kind.name: [kind.curve_images(image, smap) for _, _, smap in named]
            + [self.random_stack(kind, image)] * len(shown)
            for kind in kinds
        }
        labels = [(target, name) for target, name, _ in named] + [(target, RANDOM_MAP) for target in shown]
        known = [] if original_probabilities is None else [(image, original_probabilities)]
        flat = [stack for kind in kinds for stack in stacks[kind.name]]
        probabilities = iter(metrics.classify_distinct(classify, flat, known))
        found: Curves = {}
        for kind in kinds:
            by_target = found.setdefault(kind.name, {})
            for (target, name), probs in zip(labels, probabilities):
                by_target.setdefault(target, {})[name] = kind.curve_result(probs[:, target])
        return found

    def random_stack(self, kind: Measure, image: NDArray[np.uint8]) -> NDArray[np.uint8]:
        """The random map's curve images of one measure: the same for every target and model of a case, made once."""
        key = (kind.name, metrics.image_key(image))
        if key not in self.random_stacks:
            if not any(known[1] == key[1] for known in self.random_stacks):
                self.random_stacks = {}  # another case: forget the last one's
            self.random_stacks[key] = kind.curve_images(image, random_smooth_map(image.shape[:2], self.seed))
        return self.random_stacks[key]


def measured(measure: Measure, given: ModelInputs) -> dict[int, dict[str, Any]]:
    """The measure's records, timed as a phase of the build under its name where it says so (`Measure.timed`)."""
    if not measure.timed:
        return measure.measure(given)
    with timed(measure.name):
        return measure.measure(given)


def random_smooth_map(shape: tuple[int, ...], seed: int, grid: int = RANDOM_MAP_GRID) -> NDArray[np.float64]:
    """A seeded random map as smooth as a ResNet's last-block map (7x7 upsampled bilinearly).

    A per-pixel random order scatters hidden pixels all over the image, which destroys any photo for a
    CNN within a few steps and makes the deletion baseline unbeatable; a map of the same spatial scale as
    the explanations is the fair baseline.
    """
    coarse = torch.from_numpy(np.random.RandomState(seed).rand(1, 1, grid, grid))
    return torch.nn.functional.interpolate(coarse, size=tuple(shape), mode="bilinear", align_corners=False)[
        0, 0
    ].numpy()
