"""Faithfulness by deletion and insertion (RISE: Petsiuk, Das and Saenko, BMVC 2018), a measure with a random baseline.

Deletion paints a map's most salient pixels first (`metrics.hide_color`), insertion pastes them first into a
blurred copy; the target's probability over `metrics.steps` + 1 shares of the pixels gives each curve, and its area
(AUC) the number. Every map's curves and the random map's go through the measurer's one batched pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import Field

from generator.explain.base import method_title
from generator.manifest.schema import Strict
from generator.measure.base import (
    RANDOM_MAP,
    Measure,
    MetricColumn,
    Own,
    Ranking,
    TargetMetrics,
    page_order,
    record_value,
    register,
    settings_of,
)
from generator.measure.metrics import check_inputs, pixel_order, trapezoid_auc
from generator.utils import plots
from generator.utils.numbers import is_number
from generator.utils.records import result_type

if TYPE_CHECKING:
    from generator.explain.base import AnyExplainer, FigureJob, SaliencyMap
    from generator.manifest.schema import Manifest, MetricsSpec
    from generator.run.results import CaseResult

# RISE's reference code blurs with gkern(klen=11, nsig=5): a sigma of 5 px on 224-px crops, cut at an 11x11
# support. Sigma 5 truncated at one sigma (radius 5) reproduces that support.
BLUR_SIGMA = 5.0
BLUR_TRUNCATE = 1.0
CURVES_FIGURE = "faithfulness.png"  # figures/<case>/: each model's curves of its own top-1 class


@result_type
@dataclass(frozen=True)
class FaithfulnessResult:
    fractions: NDArray[np.float64]  # steps + 1 evenly spaced shares of pixels changed, 0..1
    deletion_curve: NDArray[np.float64]  # target probability after hiding the top fraction (lower AUC is better)
    insertion_curve: NDArray[np.float64]  # target probability after restoring the top fraction (higher AUC is better)
    deletion_auc: float
    insertion_auc: float


def step_masks(saliency: ArrayLike, steps: int) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Fractions 0..1 (steps + 1 of them) and, per fraction, a bool H x W mask of the top share of pixels."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    shape = np.shape(saliency)
    fractions = np.linspace(0.0, 1.0, steps + 1)
    rank = np.empty(int(np.prod(shape)), dtype=np.int64)
    rank[pixel_order(saliency)] = np.arange(rank.size)
    counts = np.round(fractions * rank.size).astype(np.int64)
    masks = rank[None, :] < counts[:, None]
    return fractions, masks.reshape((steps + 1, *shape))


def blurred(image: NDArray[np.uint8], sigma: float = BLUR_SIGMA) -> NDArray[np.uint8]:
    """Gaussian blur per channel: the insertion start, which removes detail but keeps the colours in place."""
    import scipy.ndimage  # scipy is imported on first use: a no-op rebuild never needs it

    smooth = scipy.ndimage.gaussian_filter(
        image.astype(np.float64), sigma=(sigma, sigma, 0), mode="nearest", truncate=BLUR_TRUNCATE
    )
    return np.clip(np.round(smooth), 0, 255).astype(np.uint8)


def curve_images(
    image: ArrayLike,
    saliency: ArrayLike,
    hide_color: int | Sequence[int] = 0,
    steps: int = 32,
    blur_sigma: float = BLUR_SIGMA,
) -> tuple[NDArray[np.float64], NDArray[np.uint8]]:
    """Fractions, and the images of both curves: steps + 1 for deletion, then steps + 1 for insertion.

    Deletion paints the most salient pixels `hide_color` (scalar or per-channel); insertion pastes the
    original's most salient pixels into a blurred copy.
    """
    image = np.asarray(image)
    check_inputs(image, saliency)
    fractions, masks = step_masks(saliency, steps)
    chosen = masks[..., None]
    hidden = np.broadcast_to(np.asarray(hide_color, dtype=np.uint8), (3,))
    deleted = np.where(chosen, hidden, image[None]).astype(np.uint8)
    inserted = np.where(chosen, image[None], blurred(image, blur_sigma)[None]).astype(np.uint8)
    return fractions, np.concatenate([deleted, inserted])


def curves_from_probabilities(fractions: NDArray[np.float64], probabilities: ArrayLike) -> FaithfulnessResult:
    """FaithfulnessResult from the target's probability on each of `curve_images`' images."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    deletion, insertion = probabilities[: len(fractions)], probabilities[len(fractions) :]
    return FaithfulnessResult(
        fractions, deletion, insertion, trapezoid_auc(fractions, deletion), trapezoid_auc(fractions, insertion)
    )


@dataclass(frozen=True)
class FaithfulnessRow:
    case_id: str
    title: str
    model: str
    deletion: float  # AUC of the deletion curve (lower: more faithful)
    insertion: float  # AUC of the insertion curve (higher: more faithful)
    baseline: float | None  # the random map's insertion minus deletion AUC

    @property
    def margin(self) -> float:
        return self.insertion - self.deletion


class FaithfulnessSpec(Strict):
    """Its keys of the manifest's `metrics` section."""

    faithfulness: bool = Field(
        True, description="Deletion/insertion curves (RISE) for every map, with a random baseline."
    )
    steps: int = Field(
        16,
        ge=4,
        le=256,
        description="Points per deletion/insertion curve (minus one); 16 moves no AUC by more than 0.01 from 32 "
        "(bench/curve_steps.md).",
    )
    hide_color: int = Field(
        0, ge=0, le=255, description="Grey level that deleted pixels are painted with in the deletion curves."
    )


@register
class Faithfulness(Measure):
    name = "faithfulness"
    spec = FaithfulnessSpec
    spec_places = {"faithfulness": 10, "steps": 20, "hide_color": 70}
    order = 10
    case_section = True
    table = "faithfulness"
    baseline = True
    curves = True
    observed_first = True

    def __init__(self, settings: MetricsSpec, explainers: Sequence[AnyExplainer], seed: int) -> None:
        super().__init__(settings, explainers, seed)
        self.own = settings_of(FaithfulnessSpec, settings)

    @classmethod
    def runs(cls, settings: MetricsSpec) -> bool:
        return settings_of(FaithfulnessSpec, settings).faithfulness

    @classmethod
    def curve_name(cls) -> str:
        return "deletion and insertion"

    @classmethod
    def page_context(cls, manifest: Manifest, explainers: Sequence[AnyExplainer]) -> dict[str, Any]:
        return {"blur_sigma": f"{BLUR_SIGMA:g}"}

    def curve_images(self, image: NDArray[np.uint8], saliency: SaliencyMap) -> NDArray[np.uint8]:
        """Deletion's images, then insertion's."""
        return curve_images(image, saliency, self.own.hide_color, self.own.steps)[1]

    def curve_result(self, probabilities: NDArray[np.float64]) -> FaithfulnessResult:
        return curves_from_probabilities(np.linspace(0.0, 1.0, self.own.steps + 1), probabilities)

    @classmethod
    def columns(cls, records: Sequence[TargetMetrics], keys: Sequence[str]) -> list[MetricColumn]:
        return [
            MetricColumn(
                f"{method_title(key)} {what} AUC", record_value(cls.name, key, f"{what}_auc"), higher_is_better=higher
            )
            for what, higher in (("deletion", False), ("insertion", True))
            for key in keys
        ]

    @classmethod
    def sentences(cls, model: str, own: TargetMetrics) -> list[str]:
        """Compare each map with the random baseline on deletion and insertion separately."""
        faith = own.of(cls.name)
        if RANDOM_MAP not in faith:
            return []
        baseline = faith[RANDOM_MAP]
        out = []
        for method, f in faith.items():
            if method == RANDOM_MAP:
                continue
            deletion = f"deletion AUC {f.deletion_auc:.3f} vs {baseline.deletion_auc:.3f}"
            insertion = f"insertion AUC {f.insertion_auc:.3f} vs {baseline.insertion_auc:.3f}"
            beats = (f.deletion_auc < baseline.deletion_auc, f.insertion_auc > baseline.insertion_auc)
            verdict = {
                (True, True): "beats the random baseline on both deletion and insertion",
                (True, False): "beats the random baseline on deletion but not on insertion",
                (False, True): "beats the random baseline on insertion but not on deletion",
                (False, False): "does not beat the random baseline",
            }[beats]
            out.append(f"{model}'s {method_title(method)} map {verdict} ({deletion}; {insertion}).")
        return out

    @classmethod
    def worst(cls, own: Sequence[Own], limit: int) -> tuple[Ranking, ...]:
        """Per method with curves: the lowest insertion-minus-deletion AUC."""
        rankings = []
        for method in page_order({name for *_, metrics in own for name in metrics.of(cls.name)} - {RANDOM_MAP}):
            rows: list[FaithfulnessRow] = []
            for case, model, metrics in own:
                found, baseline = metrics.of(cls.name).get(method), metrics.of(cls.name).get(RANDOM_MAP)
                if found is None or not (is_number(found.deletion_auc) and is_number(found.insertion_auc)):
                    continue
                margin = None if baseline is None else baseline.insertion_auc - baseline.deletion_auc
                title = case.spec.title or case.case_id
                rows.append(
                    FaithfulnessRow(case.case_id, title, model.label, found.deletion_auc, found.insertion_auc, margin)
                )
            ranked = tuple(sorted(rows, key=lambda row: row.margin)[:limit])
            rankings.append(Ranking(method, method_title(method), ranked))
        return tuple(ranking for ranking in rankings if ranking.rows)

    @classmethod
    def figures(cls, case: CaseResult, labels: Mapping[str, str]) -> dict[str, FigureJob]:
        """The curves of each model's own top-1 explanations and the first model's random map, in one figure."""
        curves: list[plots.Curve] = []
        for key, result in case.models.items():
            found = {} if result.own_metrics is None else result.own_metrics.of(cls.name)
            for method, curve in found.items():
                if method != RANDOM_MAP:
                    curves.append(plot_curve(f"{labels[key]} {method_title(method)}", curve, baseline=False))
            if RANDOM_MAP in found and not any(curve.baseline for curve in curves):
                curves.append(plot_curve(f"random map ({labels[key]})", found[RANDOM_MAP], baseline=True))
        if not curves:
            return {}
        return {
            CURVES_FIGURE: (plots.deletion_insertion_curves, (curves, "Each model's explanations of its own top-1 class"))
        }


def plot_curve(label: str, found: FaithfulnessResult, baseline: bool) -> plots.Curve:
    return plots.Curve(label, found.fractions, found.deletion_curve, found.insertion_curve, baseline)
