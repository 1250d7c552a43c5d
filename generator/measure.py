"""The measuring phase: turn one model's explanations of one case into numbers (see generator/metrics.py)."""

import itertools
import logging
import time
from dataclasses import dataclass

import numpy as np
import torch

from generator import metrics
from generator.devices import batch_size_for
from generator.explain.gradcam import grad_cam
from generator.explain.lime import bootstrap_weights, explain_with_lime, perturbation_set
from generator.inference import BatchClassifier
from generator.phase_times import timed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TargetMetrics:
    """Every number measured for one model, case and target class (None where a method is off)."""

    target: int
    faithfulness: dict  # "gradcam" | "lime" | "random" -> FaithfulnessResult
    concentration: float | None  # share of pixels holding half the Grad-CAM mass (lower: more focused)
    methods_agreement: object | None  # Agreement of Grad-CAM (per superpixel) with LIME weights
    stability: object | None  # Stability of LIME across seeds
    sanity_rho: float | None  # rank correlation of Grad-CAM with the randomised-last-block model's map

    @property
    def sanity_flagged(self):
        return self.sanity_rho is not None and metrics.sanity_flag(self.sanity_rho)


@dataclass(frozen=True)
class PairAgreement:
    method: str
    target: int
    model_a: str
    model_b: str
    agreement: object  # Agreement


class Measurer:
    """Measures explanations; keeps one randomised copy per model for the sanity check."""

    def __init__(self, settings, lime_settings, preprocess, seed, device="cpu", precision="fp32"):
        self.settings = settings
        self.lime_settings = lime_settings
        self.preprocess = preprocess
        self.seed = seed
        self.device = device
        self.precision = precision
        self.randomised = {}

    def classifier(self, module):
        return BatchClassifier(
            module,
            self.preprocess.mean,
            self.preprocess.std,
            batch_size_for(self.lime_settings.batch_size, self.device),
            self.device,
            self.precision,
        )

    def measure(self, model, inputs, result):
        """TargetMetrics for every target of a ModelResult."""
        classify = self.classifier(model.module)
        started = time.perf_counter()
        with timed("stability"):
            stability_runs = self.stability_runs(classify, inputs, result)
        if stability_runs:
            log.debug("LIME stability re-runs for %s took %.2f s", model.label, time.perf_counter() - started)
        maps = {target: saliency_maps(result, target, inputs.segments) for target in result.targets}
        with timed("curves"):
            curves = self.faithfulness(classify, inputs.image.crop_array, maps, result.probabilities)
        return {
            target: self.measure_target(
                model, inputs, result, target, curves.get(target, {}), stability_runs.get(target)
            )
            for target in result.targets
        }

    def measure_target(self, model, inputs, result, target, faithfulness, stability):
        segments = inputs.segments
        gradcam, lime = result.gradcam.get(target), result.lime.get(target)
        return TargetMetrics(
            target=target,
            faithfulness=faithfulness,
            concentration=None if gradcam is None else metrics.concentration(gradcam.raw),
            methods_agreement=None
            if gradcam is None or lime is None
            else gradcam_lime_agreement(gradcam, lime, segments, self.lime_settings.num_features),
            stability=stability,
            sanity_rho=None if gradcam is None or not self.settings.sanity else self.sanity(model, inputs, gradcam),
        )

    def faithfulness(self, classify, image, maps, original_probabilities=None):
        """{target: {map name: FaithfulnessResult}} for every map of one model, plus the random baseline.

        The images of every curve go through one batched pass, each distinct image once (the random
        baseline's images serve every target; the original's probabilities are the predictions').
        """
        if not self.settings.faithfulness or not any(maps.values()):
            return {}
        hide, steps = self.lime_settings.hide_color, self.settings.steps
        named = [(target, name, smap) for target, by_name in maps.items() for name, smap in by_name.items()]
        fractions, random_images = metrics.curve_images(
            image, random_smooth_map(image.shape[:2], self.seed), hide, steps
        )
        stacks = [metrics.curve_images(image, smap, hide, steps)[1] for _, _, smap in named]
        known = [] if original_probabilities is None else [(image, original_probabilities)]
        *probabilities, random_probabilities = metrics.classify_distinct(classify, stacks + [random_images], known)
        out = {target: {} for target in maps if maps[target]}
        for (target, name, _), probs in zip(named, probabilities):
            out[target][name] = metrics.curves_from_probabilities(fractions, probs[:, target])
        for target in out:
            out[target]["random"] = metrics.curves_from_probabilities(fractions, random_probabilities[:, target])
        return out

    def stability_runs(self, classify, inputs, result):
        """LIME's weights in `stability_seeds` runs per target (the build's own first), as Stability figures.

        "reruns" runs LIME again with further seeds on the same segments (new perturbed images, classified);
        "bootstrap" refits the surrogate on resamples of the images the build's own run classified.
        """
        runs = self.settings.stability_seeds
        if not result.lime or runs < 2:
            return {}
        weights = {target: [result.lime[target].weights] for target in result.targets if target in result.lime}
        if self.settings.stability == "bootstrap":
            first = result.lime[next(iter(weights))]
            data = perturbation_set(len(first.weights), first.samples, np.random.RandomState(self.seed))
            for target in weights:
                weights[target] += bootstrap_weights(data, result.lime[target].neighbourhood, runs - 1, self.seed + 1)
        else:
            for offset in range(1, runs):
                rerun = explain_with_lime(
                    classify,
                    inputs.image.crop_array,
                    inputs.segments,
                    tuple(weights),
                    self.lime_settings,
                    self.seed + offset,
                )
                for lime_result in rerun:
                    if lime_result.target in weights:
                        weights[lime_result.target].append(lime_result.weights)
        return {target: metrics.lime_stability(w, k=self.lime_settings.num_features) for target, w in weights.items()}

    def sanity(self, model, inputs, gradcam):
        with timed("sanity"):
            return self.sanity_rho(model, inputs, gradcam)

    def sanity_rho(self, model, inputs, gradcam):
        if model.key not in self.randomised:
            self.randomised[model.key] = metrics.randomise_module(model.module, model.target_layer_name, self.seed)
        module = self.randomised[model.key]
        randomised = grad_cam(
            module, module.get_submodule(model.target_layer_name), inputs.image.tensor, gradcam.target
        )
        return metrics.rank_correlation(gradcam.raw, randomised.raw)


def saliency_maps(result, target, segments):
    """{method: H x W map} of one target: Grad-CAM's upsampled map, LIME's weights painted on the superpixels."""
    maps = {}
    if target in result.gradcam:
        maps["gradcam"] = result.gradcam[target].raw
    if target in result.lime:
        maps["lime"] = metrics.superpixel_saliency(result.lime[target].weights, segments)
    return maps


def random_smooth_map(shape, seed, grid=7):
    """A seeded random map as smooth as a ResNet Grad-CAM (7x7 upsampled bilinearly).

    A per-pixel random order scatters hidden pixels all over the image, which destroys any photo for a
    CNN within a few steps and makes the deletion baseline unbeatable; a map of the same spatial scale as
    the explanations is the fair baseline.
    """
    coarse = torch.from_numpy(np.random.RandomState(seed).rand(1, 1, grid, grid))
    return torch.nn.functional.interpolate(coarse, size=tuple(shape), mode="bilinear", align_corners=False)[
        0, 0
    ].numpy()


def gradcam_lime_agreement(gradcam, lime, segments, k):
    return metrics.agreement(metrics.superpixel_means(gradcam.raw, segments), lime.weights, k=k)


def compare_models(case, k):
    """Model-vs-model agreement per method on every target both models explained."""
    pairs = []
    for (key_a, a), (key_b, b) in itertools.combinations(case.models.items(), 2):
        for target in (t for t in a.targets if t in b.targets):
            if target in a.gradcam and target in b.gradcam:
                scores = [
                    metrics.superpixel_means(r.gradcam[target].raw, case.segments)
                    if case.segments is not None
                    else r.gradcam[target].raw.ravel()
                    for r in (a, b)
                ]
                pairs.append(PairAgreement("gradcam", target, key_a, key_b, metrics.agreement(*scores, k=k)))
            if target in a.lime and target in b.lime:
                agreement = metrics.agreement(a.lime[target].weights, b.lime[target].weights, k=k)
                pairs.append(PairAgreement("lime", target, key_a, key_b, agreement))
    return pairs
