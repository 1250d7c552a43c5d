"""The measuring phase: turn one model's explanations of one case into numbers (see generator/measure/metrics.py)."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from numpy.typing import NDArray

from generator.explain.base import (
    CONCENTRATION,
    SANITY,
    STABILITY,
    AnyExplainer,
    CaseInputs,
    SaliencyMap,
    Segments,
    Stability,
    agreement_key,
)
from generator.measure import metrics, road
from generator.measure.metrics import Agreement, FaithfulnessResult
from generator.measure.road import RoadResult
from generator.run.inference import BatchClassifier, batch_classifier
from generator.utils.phase_times import timed
from generator.utils.records import result_type

if TYPE_CHECKING:
    from generator.manifest.schema import MetricsSpec
    from generator.run.models import LoadedModel
    from generator.run.results import CaseResult, ModelResult

log = logging.getLogger(__name__)


@result_type
@dataclass(frozen=True)
class TargetMetrics:
    """Every number measured for one model, case and target class, per method (empty where nothing ran)."""

    target: int
    faithfulness: dict[str, FaithfulnessResult]  # method name | "random" -> its curves
    # method -> share of pixels holding half the map's positive mass (lower: more focused)
    concentration: dict[str, float]
    methods_agreement: dict[str, Agreement]  # agreement_key(a, b) -> two methods' maps (per superpixel when segmented)
    stability: dict[str, Stability]  # method -> across seeds (a seed-dependent method's own measure)
    sanity: dict[str, float]  # method -> rank correlation with the map of the randomised-layer model
    road: dict[str, RoadResult] = field(default_factory=dict)  # method | "random" -> its ROAD curves (metrics.road)

    def sanity_flagged(self, method: str) -> bool:
        rho = self.sanity.get(method)
        return rho is not None and metrics.sanity_flag(rho)

    @property
    def unstable(self) -> list[str]:
        return [method for method, s in self.stability.items() if not s.stable]


@dataclass(frozen=True)
class Curves:
    """{target: {map name | "random": its curves}} of one model and case, per kind of curve ({} where it is off)."""

    faithfulness: dict[int, dict[str, FaithfulnessResult]]
    road: dict[int, dict[str, RoadResult]]


@dataclass(frozen=True)
class PairAgreement:
    method: str
    target: int
    model_a: str
    model_b: str
    agreement: Agreement


class Measurer:
    """Measures the explanations of the enabled explainers; one randomised copy per model for the sanity check."""

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
        self.randomised: dict[str, LoadedModel] = {}  # model key -> its copy with the target layer redrawn
        self.random_stacks: dict[tuple[str, bytes], NDArray[np.uint8]] = {}  # (kind, case image) -> random map's images

    def code_modules(self) -> tuple[str, ...]:
        """The modules whose source computes the metrics: these (the ROAD curves' too), and every explainer's."""
        return (__name__, metrics.__name__, road.__name__, *(m for e in self.explainers for m in e.code_modules()))

    def classifier(self, model: LoadedModel) -> BatchClassifier:
        return batch_classifier(model, self.settings.batch_size, self.device, self.precision)

    def measure(self, model: LoadedModel, inputs: CaseInputs, result: ModelResult) -> dict[int, TargetMetrics]:
        """TargetMetrics for every target of a ModelResult."""
        classify = self.classifier(model)
        stability: dict[int, dict[str, Stability]] = {}
        with timed("stability"):
            for explainer in (e for e in self.explainers if STABILITY in e.measures):
                shown = {t: r for t, r in result.explanations.get(explainer.name, {}).items() if t in result.targets}
                for target, figures in explainer.stability(classify, inputs, shown, self.settings).items():
                    stability.setdefault(target, {})[explainer.name] = figures
        maps = {target: self.saliency_maps(result, target, inputs) for target in result.targets}
        with timed("curves"):
            curves = self.curves(classify, inputs.image.crop_array, maps, result.probabilities)
        return {
            target: TargetMetrics(
                target=target,
                faithfulness=curves.faithfulness.get(target, {}),
                concentration=self.concentration(maps[target]),
                methods_agreement=methods_agreement(maps[target], inputs.segments, self.settings.top_k),
                stability=stability.get(target, {}),
                sanity=self.sanity(model, inputs, result, target, maps[target]),
                road=curves.road.get(target, {}),
            )
            for target in result.targets
        }

    def saliency_maps(self, result: ModelResult, target: int, inputs: CaseInputs) -> dict[str, SaliencyMap]:
        """{method: H x W map} of one target, for every explainer that explained it."""
        return {
            e.name: e.saliency(result.explained(e.name, target), inputs)
            for e in self.explainers
            if result.explained(e.name, target) is not None
        }

    def concentration(self, maps: Mapping[str, SaliencyMap]) -> dict[str, float]:
        wanted = {e.name for e in self.explainers if CONCENTRATION in e.measures}
        return {name: metrics.concentration(smap) for name, smap in maps.items() if name in wanted}

    def curves(
        self,
        classify: BatchClassifier,
        image: NDArray[np.uint8],
        maps: Mapping[int, Mapping[str, SaliencyMap]],
        original_probabilities: NDArray[np.float64] | None = None,
    ) -> Curves:
        """The deletion/insertion curves and the ROAD curves that are on, of every map of one model and the random map.

        The images of every curve go through one batched pass, each distinct image once (the random
        baseline's images serve every target; the original's probabilities are the predictions').
        """
        kinds = [
            kind for kind, on in (("faithfulness", self.settings.faithfulness), ("road", self.settings.road)) if on
        ]
        if not kinds or not any(maps.values()):
            return Curves({}, {})
        named = [(target, name, smap) for target, by_name in maps.items() for name, smap in by_name.items()]
        shown = [target for target in maps if maps[target]]
        stacks = {
            kind: [self.curve_stack(kind, image, smap) for _, _, smap in named]
            + [self.random_stack(kind, image)] * len(shown)
            for kind in kinds
        }
        labels = [(target, name) for target, name, _ in named] + [(target, "random") for target in shown]
        known = [] if original_probabilities is None else [(image, original_probabilities)]
        flat = [stack for kind in kinds for stack in stacks[kind]]
        probabilities = iter(metrics.classify_distinct(classify, flat, known))
        found: dict[str, dict[int, dict[str, Any]]] = {}
        for kind in kinds:
            by_target = found.setdefault(kind, {})
            for (target, name), probs in zip(labels, probabilities):
                by_target.setdefault(target, {})[name] = self.curve_result(kind, probs[:, target])
        return Curves(found.get("faithfulness", {}), found.get("road", {}))

    def random_stack(self, kind: str, image: NDArray[np.uint8]) -> NDArray[np.uint8]:
        """The random map's curve images of one kind: the same for every target and model of a case, made once."""
        key = (kind, metrics.image_key(image))
        if key not in self.random_stacks:
            if not any(known[1] == key[1] for known in self.random_stacks):
                self.random_stacks = {}  # another case: forget the last one's
            self.random_stacks[key] = self.curve_stack(kind, image, random_smooth_map(image.shape[:2], self.seed))
        return self.random_stacks[key]

    def curve_result(self, kind: str, probabilities: NDArray[np.float64]) -> Any:
        """A FaithfulnessResult or a RoadResult from the target's probability on each image of `curve_stack`."""
        if kind == "faithfulness":
            return metrics.curves_from_probabilities(np.linspace(0.0, 1.0, self.settings.steps + 1), probabilities)
        return road.road_from_probabilities(probabilities)

    def curve_stack(self, kind: str, image: NDArray[np.uint8], saliency: SaliencyMap) -> NDArray[np.uint8]:
        """The images of one map's curves of one kind ("faithfulness": deletion then insertion; "road")."""
        if kind == "faithfulness":
            return metrics.curve_images(image, saliency, self.settings.hide_color, self.settings.steps)[1]
        return road.road_images(image, saliency, self.seed)

    def sanity(
        self, model: LoadedModel, inputs: CaseInputs, result: ModelResult, target: int, maps: Mapping[str, SaliencyMap]
    ) -> dict[str, float]:
        """{method: rank correlation of its map with the map of the model whose target layer is redrawn}."""
        if not self.settings.sanity or model.opaque is not None:  # an opaque model has no layer to redraw
            return {}
        out: dict[str, float] = {}
        with timed("sanity"):
            for explainer in self.explainers:
                if SANITY in explainer.measures and explainer.name in maps:
                    randomised = explainer.explain(self.randomised_model(model), inputs, (target,))[0]
                    out[explainer.name] = metrics.rank_correlation(
                        maps[explainer.name], explainer.saliency(randomised, inputs)
                    )
        return out

    def randomised_model(self, model: LoadedModel) -> LoadedModel:
        """The model with its target layer's weights redrawn (one copy per model, kept for every case)."""
        if model.key not in self.randomised:
            if model.target_layer_name is None:
                raise ValueError(f"model '{model.label}' has no layer to redraw: {model.opaque}")
            module = metrics.randomise_module(model.module, model.target_layer_name, self.seed)
            self.randomised[model.key] = replace(model, module=module)
        return self.randomised[model.key]


RANDOM_MAP_GRID = 7  # the random baseline's coarse grid, as coarse as a ResNet's last block

COMPARED = {metrics.SUPERPIXELS: "averaged per superpixel", metrics.PIXELS: "pixel by pixel"}


def agreement_unit(explainers: Iterable[AnyExplainer]) -> str:
    """The unit every agreement of a build is computed over: superpixels when an explainer segments the case."""
    return metrics.SUPERPIXELS if any(e.segments_case for e in explainers) else metrics.PIXELS


def methods_agreement(maps: Mapping[str, SaliencyMap], segments: Segments | None, k: int) -> dict[str, Agreement]:
    """Every pair of methods' maps of one target, compared per superpixel (per pixel without superpixels)."""
    return {
        agreement_key(a, b): compare_maps(maps[a], maps[b], segments, k) for a, b in itertools.combinations(maps, 2)
    }


def compare_maps(map_a: SaliencyMap, map_b: SaliencyMap, segments: Segments | None, k: int) -> Agreement:
    """The Agreement of two maps of one case, over its superpixels' means (or every pixel without superpixels)."""
    if segments is None:
        return metrics.agreement(map_a.ravel(), map_b.ravel(), k, metrics.PIXELS)
    means_a, means_b = (metrics.superpixel_means(m, segments) for m in (map_a, map_b))
    return metrics.agreement(means_a, means_b, k, metrics.SUPERPIXELS)


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


def compare_models(
    case: CaseResult, explainers: Iterable[AnyExplainer], k: int, classes: Mapping[str, Sequence[str]] | None = None
) -> list[PairAgreement]:
    """Model-vs-model agreement per method on every target both models explained.

    Only models with the same class list (`classes`: model key -> names) compare: a target index means the
    same class for both."""
    pairs = []
    for (key_a, a), (key_b, b) in itertools.combinations(case.models.items(), 2):
        if classes is not None and classes[key_a] != classes[key_b]:
            continue
        for target in (t for t in a.targets if t in b.targets):
            for explainer in explainers:
                found = [r.explained(explainer.name, target) for r in (a, b)]
                if None in found:
                    continue
                map_a, map_b = (explainer.saliency(f, case) for f in found)  # saliency reads only the segments
                agreement = compare_maps(map_a, map_b, case.segments, k)
                pairs.append(PairAgreement(explainer.name, target, key_a, key_b, agreement))
    return pairs
