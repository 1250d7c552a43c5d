"""LIME (Ribeiro et al., 2016) for images, with lime's own surrogate fit.

The segmentation is computed once per case and the perturbation set is drawn from the manifest's
seed, so every model of a case is explained on the same superpixels and the same perturbed
images. Data generation and the surrogate follow `lime_image.LimeImageExplainer.explain_instance`
step for step (tests prove equality); only the classifier calls are faster (vectorised, batched).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Annotated, Literal, Union

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from pydantic import Field

from generator.explain.base import (
    CaseInputs,
    ClassifiedRows,
    Fetch,
    FigureJob,
    FigureKind,
    SaliencyInputs,
    SaliencyMap,
    Segments,
    ViewerMap,
    register,
)
from generator.explain.stability import SeedDependent, Stability, seed_stability
from generator.manifest.schema import Strict
from generator.run.inference import BatchClassifier, batch_classifier
from generator.utils import figures
from generator.utils.records import result_type

if TYPE_CHECKING:
    from lime.lime_base import LimeBase

    from generator.run.models import LoadedModel
    from generator.run.results import CaseResult

Perturbations = NDArray[np.integer]  # N x superpixels: which superpixels each perturbed image shows (1) or hides

KERNEL_WIDTH = 0.25
# num_samples: auto (S-LIME's idea, Zhou, Hooker and Wang, KDD 2021: let the data say how many samples suffice)
ADAPTIVE_ROUND = 250
ADAPTIVE_CAP = 2000
ADAPTIVE_JACCARD = 0.9
# metrics.stability: bootstrap's refits per target; 60 or 150 follow true re-runs no closer (bench/stability.md)
BOOTSTRAP_RESAMPLES = 30
# a target's probability that moves by at most this many float32 steps (of its largest value) over the
# perturbed images is constant: that is the arithmetic's jitter between batches, not the model's answer
CONSTANT_ULPS = 4
ALL_FEATURES = 100000  # lime's default: fit every superpixel, as the reference recipe did


class LimeSpec(Strict):
    enabled: bool = True
    num_samples: Union[Literal["auto"], Annotated[int, Field(ge=10, le=100_000)]] = Field(
        1000,
        description="Perturbed images per model and case; auto: classified in rounds until the top superpixels of "
        "every class a page shows are stable under the bootstrap, up to a cap (the methods page states the round, "
        "the threshold and the cap).",
    )
    hide_color: int = Field(0, ge=0, le=255, description="Grey level that hidden superpixels are painted with.")
    top_labels: int = Field(5, ge=1, le=1000, description="LIME explains the model's top labels (reference: 5).")
    num_features: int = Field(5, ge=1, le=100, description="Superpixels drawn in the figures.")
    batch_size: Union[Literal["auto"], Annotated[int, Field(ge=1, le=4096)]] = Field(
        "auto",
        description="Images per batched forward pass of LIME's perturbed images; auto: the fastest batch measured "
        "on the device's kind (CPU or GPU; the methods page gives the size used).",
    )
    kernel_size: float = Field(4, gt=0, description="Quickshift kernel size.")
    max_dist: float = Field(200, gt=0, description="Quickshift maximum distance.")
    ratio: float = Field(0.2, ge=0, le=1, description="Quickshift colour/space ratio.")


@result_type
@dataclass(frozen=True)
class LimeResult:
    target: int
    weights: NDArray[np.float64]  # one weight per superpixel (segment id = index)
    intercept: float
    score: float  # R^2 of the weighted linear surrogate
    local_pred: float
    # the target's probability on each perturbed image (row 0: the original)
    neighbourhood: NDArray[np.float64] | None = None

    @property
    def samples(self) -> int | None:
        """How many perturbed images the explanation used."""
        return None if self.neighbourhood is None else len(self.neighbourhood)


def lime_kernel(distances: NDArray[np.float64], kernel_width: float = KERNEL_WIDTH) -> NDArray[np.float64]:
    return np.sqrt(np.exp(-(distances**2) / kernel_width**2))


def segment_image(image_array: NDArray[np.uint8], settings: LimeSpec, seed: int) -> NDArray[np.int32]:
    """lime's default quickshift segmentation of the crop, relabelled to 0..n-1."""
    from lime.wrappers.scikit_image import SegmentationAlgorithm  # lime pulls in scikit-learn: see fit_surrogates

    algorithm = SegmentationAlgorithm(
        "quickshift",
        kernel_size=settings.kernel_size,
        max_dist=settings.max_dist,
        ratio=settings.ratio,
        random_seed=seed,
    )
    segments = algorithm(image_array)
    _, relabelled = np.unique(segments, return_inverse=True)
    return relabelled.reshape(segments.shape).astype(np.int32)


def superpixel_saliency(weights: ArrayLike, segments: ArrayLike) -> NDArray[np.float64]:
    """H x W map painting each superpixel with its LIME weight, so LIME runs through the pixel protocols."""
    return np.asarray(weights, dtype=np.float64)[np.asarray(segments)]


def perturbation_set(n_segments: int, num_samples: int, random_state: np.random.RandomState) -> NDArray[np.int_]:
    """lime's `data_labels` draw: rows of on/off superpixels, the first row all on."""
    data = random_state.randint(0, 2, num_samples * n_segments).reshape((num_samples, n_segments))
    data[0, :] = 1
    return data


def perturbed_images(
    image: NDArray[np.uint8], segments: Segments, rows: Perturbations, hide_color: int
) -> NDArray[np.uint8]:
    """Images for a batch of rows: hidden superpixels painted `hide_color` (vectorised)."""
    keep = rows[:, segments].astype(bool)  # N x H x W
    return np.where(keep[..., None], image[None], np.uint8(hide_color)).astype(np.uint8)


def normalised_perturbations(
    classifier: BatchClassifier, image: NDArray[np.uint8], segments: Segments, data: Perturbations, hide_color: int
) -> Iterator[torch.Tensor]:
    """`classifier.to_tensor(perturbed_images(...))`, one batch at a time, without building uint8 images.

    A pixel of a perturbed image is either the image's pixel or `hide_color`, so its normalised value is
    the normalised image's or the normalised hide colour's: the same numbers (tested), at a fraction of
    the cost (about 0.2 instead of 1.1 ms per 224x224 image).
    """
    shown = classifier.to_tensor(image[None])[0].permute(1, 2, 0)  # H x W x 3
    hidden = classifier.to_tensor(np.full((1, 1, 1, 3), hide_color, np.uint8))[0].permute(1, 2, 0)
    superpixel = torch.from_numpy(segments.astype(np.int64)).to(classifier.device)
    keep = torch.from_numpy(np.asarray(data, dtype=bool)).to(classifier.device)
    for start in range(0, len(data), classifier.batch_size):
        kept = keep[start : start + classifier.batch_size][:, superpixel, None]  # N x H x W x 1
        yield torch.where(kept, shown, hidden).permute(0, 3, 1, 2)  # N x 3 x H x W, channels_last


def classify_perturbations(
    classifier: BatchClassifier, image: NDArray[np.uint8], segments: Segments, data: Perturbations, hide_color: int
) -> NDArray[np.float64]:
    """The classifier's probabilities of every perturbed image (rows of `data`), batch by batch."""
    return classifier.classify_batches(normalised_perturbations(classifier, image, segments, data, hide_color))


def surrogate_base(random_state: np.random.RandomState) -> LimeBase:
    from lime import lime_base  # imported here, not at the top: lime pulls in scikit-learn (1.2 s)

    return lime_base.LimeBase(partial(lime_kernel, kernel_width=KERNEL_WIDTH), False, random_state=random_state)


def cosine_distances(data: Perturbations) -> NDArray[np.float64]:
    import sklearn.metrics

    return sklearn.metrics.pairwise_distances(data, data[0].reshape(1, -1), metric="cosine").ravel()


def is_constant(probabilities: ArrayLike) -> bool:
    """Whether a target's probabilities differ by at most CONSTANT_ULPS float32 steps of their largest value.

    Steps, not a share of the value: a saturated probability that moves between 0.99999 and 1.0 is
    about 170 steps of real change."""
    probabilities = np.asarray(probabilities)
    step = np.spacing(np.float32(np.max(np.abs(probabilities))))
    return bool(np.ptp(probabilities) <= CONSTANT_ULPS * step)


def fit_surrogate(
    base: LimeBase,
    data: Perturbations,
    labels: NDArray[np.float64],
    distances: NDArray[np.float64],
    column: int,
) -> tuple[NDArray[np.float64], float, float, float]:
    """lime's weighted ridge surrogate for one label column: (weights per superpixel, intercept, R^2, local pred).

    A target whose probability is the same on every perturbed image (a model that ignores its input) gets
    weights of exactly zero, the ridge slopes of a constant response. lime fits the float32 arithmetic's
    jitter instead (one unit in the last place on some images, weights of about 1e-34), and figures,
    rankings and stability would otherwise be computed from that roundoff.
    """
    intercept, local_exp, score, local_pred = base.explain_instance_with_data(
        data, labels, distances, column, ALL_FEATURES, feature_selection="auto"
    )
    weights = np.zeros(data.shape[1])
    if not is_constant(labels[:, column]):
        for segment, weight in local_exp:
            weights[segment] = weight
    return weights, float(intercept), float(score), float(np.ravel(local_pred)[0])


def fit_surrogates(
    data: Perturbations,
    labels: NDArray[np.float64],
    targets: Sequence[int],
    random_state: np.random.RandomState,
) -> tuple[LimeResult, ...]:
    distances, base = cosine_distances(data), surrogate_base(random_state)
    return tuple(
        LimeResult(int(t), *fit_surrogate(base, data, labels, distances, int(t)), labels[:, int(t)].copy())
        for t in targets
    )


def bootstrap_weights(
    data: Perturbations, neighbourhood: NDArray[np.float64], resamples: int, seed: int
) -> list[NDArray[np.float64]]:
    """LIME weights refitted on `resamples` bootstrap resamples of the rows one explanation already classified.

    Each resample keeps the original (row 0) first and once, as every LIME run has it, and draws the other
    len(data) - 1 rows with replacement from the perturbed ones; no image is classified again. (Drawn with
    the others, the original, whose kernel weight is the largest, would come back 0 to 3 extra times, and
    where its probability stands apart from the perturbed images' it doubled the spread.) The spread of these
    weights estimates how much a LIME run with another seed would move (bench/stability.md).
    """
    random_state = np.random.RandomState(seed)
    base = surrogate_base(random_state)
    runs = []
    for _ in range(resamples):
        rows = np.concatenate(([0], random_state.randint(1, len(data), len(data) - 1)))
        sample = data[rows]
        weights, *_ = fit_surrogate(base, sample, neighbourhood[rows, None], cosine_distances(sample), 0)
        runs.append(weights)
    return runs


def bootstrap_stability(
    data: Perturbations, result: LimeResult, k: int, seed: int, resamples: int = BOOTSTRAP_RESAMPLES
) -> Stability:
    """LIME's seed stability estimated from one run: `Stability` over `resamples` bootstrap refits.

    The pairs are refit against refit, never refit against the run itself: two refits differ as two runs
    with different seeds do, while a refit sits closer to the run it resamples (its Jaccard with it runs
    about 0.05 high). The expected Jaccard of two independent runs is what the re-runs estimate too.
    """
    if result.neighbourhood is None:  # a result stripped for the pages (without_pixels)
        raise ValueError("the bootstrap needs the result's neighbourhood, the probabilities it was fitted on")
    return seed_stability(bootstrap_weights(data, result.neighbourhood, resamples, seed), k=k)


def explain_with_lime(
    classifier: BatchClassifier,
    image: NDArray[np.uint8],
    segments: Segments,
    targets: Sequence[int],
    settings: LimeSpec,
    seed: int,
) -> tuple[LimeResult, ...]:
    """Results for `targets` (in order), then for the model's other top `top_labels` classes.

    With `num_samples: auto` the perturbed images are classified in rounds of ADAPTIVE_ROUND until the
    top-`num_features` superpixels of every target (the classes the pages show; lime's other top labels
    ride along) are stable under the bootstrap (mean Jaccard of at least ADAPTIVE_JACCARD), or
    ADAPTIVE_CAP images were classified. The rows are the first rows of the
    cap's perturbation set, so a run that stops at 1000 uses exactly the fixed 1000-sample set.
    """
    random_state = np.random.RandomState(seed)
    n_segments = int(segments.max()) + 1
    if settings.num_samples != "auto":
        data = perturbation_set(n_segments, settings.num_samples, random_state)
        labels = classify_perturbations(classifier, image, segments, data, settings.hide_color)
        return fit_explained(data, labels, targets, settings.top_labels, random_state)
    data = perturbation_set(n_segments, ADAPTIVE_CAP, random_state)
    rounds: list[NDArray[np.float64]] = []
    for end in range(ADAPTIVE_ROUND, ADAPTIVE_CAP + 1, ADAPTIVE_ROUND):
        rounds.append(
            classify_perturbations(classifier, image, segments, data[end - ADAPTIVE_ROUND : end], settings.hide_color)
        )
        results = fit_explained(data[:end], np.concatenate(rounds), targets, settings.top_labels, random_state)
        shown = [result for result in results if result.target in targets]
        if end == ADAPTIVE_CAP or all_stable(data[:end], shown, settings.num_features, seed):
            return results
    raise AssertionError(f"unreachable: ADAPTIVE_CAP {ADAPTIVE_CAP} is a multiple of ADAPTIVE_ROUND {ADAPTIVE_ROUND}")


def fit_explained(
    data: Perturbations,
    labels: NDArray[np.float64],
    targets: Sequence[int],
    top_labels: int,
    random_state: np.random.RandomState,
) -> tuple[LimeResult, ...]:
    """Surrogates for `targets`, then for the model's other top `top_labels` classes on the original (row 0)."""
    top = [int(i) for i in np.argsort(-labels[0], kind="stable")[:top_labels]]
    explained = list(dict.fromkeys([int(t) for t in targets] + top))
    return fit_surrogates(data, labels, explained, random_state)


def all_stable(data: Perturbations, results: Sequence[LimeResult], k: int, seed: int) -> bool:
    """Whether every result's top-k superpixels hold under the bootstrap (see `stable_under_bootstrap`)."""
    return all(stable_under_bootstrap(data, result, k, seed) for result in results)


def prepare_segments(inputs: CaseInputs, settings: LimeSpec, seed: int, fetch: Fetch) -> None:
    """Set the case's superpixels (lime's quickshift of the crop with these settings), through the case cache."""
    quickshift = {k: getattr(settings, k) for k in ("kernel_size", "max_dist", "ratio")}
    inputs.segments = fetch(
        "segments",
        {"quickshift": quickshift, "seed": seed},
        lambda: segment_image(inputs.image.crop_array, settings, seed),
    )


def superpixel_viewer_map(case: CaseResult, values: NDArray[np.floating], scale: float | None) -> ViewerMap:
    """Each superpixel in its value (a LIME weight, a Shapley value) on the case's shared diverging scale."""
    assert case.segments is not None, "superpixel maps are drawn while the case keeps its segments"
    scale = scale or figures.shared_weight_scale([values])
    return ViewerMap(np.asarray(values, dtype=np.float64)[case.segments], -scale, scale)


def case_segments(inputs: SaliencyInputs) -> Segments:
    """The case's superpixels, which LIME's maps and re-runs are made of (set by `prepare_case`)."""
    if inputs.segments is None:
        raise ValueError("LIME needs the case's superpixels: call prepare_case first")
    return inputs.segments


def stable_under_bootstrap(data: Perturbations, result: LimeResult, k: int, seed: int) -> bool:
    """num_samples: auto's rule: the bootstrap estimate of the top-k superpixels' stability is >= 0.9."""
    return bootstrap_stability(data, result, k, seed + 1).mean_jaccard >= ADAPTIVE_JACCARD


@register
class Lime(SeedDependent[LimeSpec, LimeResult, float]):
    name = "lime"
    spec = LimeSpec
    summary = "LIME (Ribeiro et al. 2016) on quickshift superpixels (on: the reference recipe)."
    order = 1
    segments_case = True
    title = "LIME"
    viewer_colormap = figures.WEIGHT_COLORMAP
    figure_width = 280


    def key_parts(self) -> dict[str, object]:
        return {"settings": self.settings, "precision": self.precision}

    def prepare_case(self, inputs: CaseInputs, fetch: Fetch) -> None:
        """The case's superpixels, shared by every model (and by the metrics and figures of the case)."""
        prepare_segments(inputs, self.settings, self.seed, fetch)

    def explain(self, model: LoadedModel, inputs: CaseInputs, targets: tuple[int, ...]) -> tuple[LimeResult, ...]:
        if inputs.segments is None:  # called outside a build's case walk: segment here, uncached
            self.prepare_case(inputs, lambda kind, parts, compute: compute())
        classifier = self.classifier(model, inputs)
        return explain_with_lime(
            classifier, inputs.image.crop_array, case_segments(inputs), targets, self.settings, self.seed
        )

    def share(self, model: LoadedModel, inputs: CaseInputs, results: Sequence[LimeResult]) -> None:
        """The perturbed images LIME classified for this model and every target's probability on them (KernelSHAP
        fits on the same images). They are drawn again from the seed: the cached results keep only the probabilities."""
        samples = next((result.samples for result in results), None)
        if samples is None or inputs.segments is None:
            return
        rows = perturbation_set(int(inputs.segments.max()) + 1, samples, np.random.RandomState(self.seed))
        probabilities = {r.target: r.neighbourhood for r in results if r.neighbourhood is not None}
        inputs.classified[model.key] = ClassifiedRows(rows, probabilities, self.settings.hide_color)

    def classifier(self, model: LoadedModel, inputs: CaseInputs) -> BatchClassifier:
        return batch_classifier(model, self.settings.batch_size, self.device, self.precision)

    def saliency(self, result: LimeResult, inputs: SaliencyInputs) -> SaliencyMap:
        return superpixel_saliency(result.weights, case_segments(inputs))

    def figure_kinds(self) -> tuple[FigureKind, ...]:
        return (
            FigureKind("lime-top", f"Top {self.settings.num_features} positive"),
            FigureKind("lime-posneg", "Positive and negative"),
            FigureKind("lime-weights", "Weight map"),
        )

    def figure_context(self, case: CaseResult) -> float:
        results = [r for m in case.models.values() for r in m.explanations.get(self.name, {}).values()]
        return figures.shared_weight_scale([r.weights for r in results])

    def figures(self, case: CaseResult, result: LimeResult, scale: float | None) -> dict[str, FigureJob]:
        crop, segments, k = case.crop_array, case.segments, self.settings.num_features
        return {
            "lime-top": (figures.lime_top_positive, (crop, segments, result.weights, k)),
            "lime-posneg": (figures.lime_positive_negative, (crop, segments, result.weights, k)),
            "lime-weights": (figures.lime_weight_map, (crop, segments, result.weights, scale)),
        }

    def viewer_map(self, case: CaseResult, result: LimeResult, scale: float | None) -> ViewerMap:
        return superpixel_viewer_map(case, result.weights, scale)

    @staticmethod
    def is_blank(result: LimeResult) -> bool:
        return not np.any(result.weights)

    def batched_work(self) -> str:
        count = "" if self.settings.num_samples == "auto" else f"{self.settings.num_samples} "
        return f"LIME's {count}perturbed images per model"

    def samples(self, results: Mapping[int, LimeResult]) -> int | None:
        return next((r.samples for r in results.values()), None)

    def stability(
        self, classify: BatchClassifier, inputs: CaseInputs, results: Mapping[int, LimeResult], runs: int, estimate: str
    ) -> dict[int, Stability]:
        """Each target's seed stability, as Stability figures.

        "bootstrap" refits the surrogate on BOOTSTRAP_RESAMPLES resamples of the images the build's own run
        classified (`bootstrap_stability`); "reruns" runs LIME again with `runs - 1` further seeds
        on the same segments (new perturbed images, classified) and compares those runs with the build's own.
        """
        if not results or runs < 2:
            return {}
        k = self.settings.num_features
        if estimate == "bootstrap":
            first = next(iter(results.values()))
            samples = first.samples
            if samples is None:  # a result stripped for the pages (without_pixels)
                raise ValueError("the bootstrap needs the result's neighbourhood, the probabilities it was fitted on")
            data = perturbation_set(len(first.weights), samples, np.random.RandomState(self.seed))
            return {target: bootstrap_stability(data, result, k, self.seed + 1) for target, result in results.items()}
        weights = {target: [result.weights] for target, result in results.items()}
        for offset in range(1, runs):
            rerun = explain_with_lime(
                classify,
                inputs.image.crop_array,
                case_segments(inputs),
                tuple(weights),
                self.settings,
                self.seed + offset,
            )
            for lime_result in rerun:
                if lime_result.target in weights:
                    weights[lime_result.target].append(lime_result.weights)
        return {target: seed_stability(w, k=k) for target, w in weights.items()}
