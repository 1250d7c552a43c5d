"""ROAD, RemOve And Debias (Rong, Leemann, Borisov, Kasneci and Kasneci, ICML 2022).

Deletion with a black or blurred fill leaks the class through the shape of what was removed. ROAD fills the
removed pixels by noisy linear imputation instead: each removed pixel is the weighted mean of its 8 neighbours
(1/6 for the 4 edge neighbours, 1/12 for the 4 diagonal ones; at the image's border, of those inside), all
removed pixels solved together as one sparse linear system, plus Gaussian noise of 0.01. The curves remove
10% to 90% of the pixels, most relevant first (MoRF: the probability should fall) and least relevant first
(LeRF: it should stay). A fraction here is the share of pixels removed: the `pytorch_grad_cam` package's ROAD
metrics take a percentile instead, and `ROADMostRelevantFirst(percentile=90)` removes the top 10%.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

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
from generator.utils.numbers import is_number
from generator.utils.records import result_type

if TYPE_CHECKING:
    from generator.explain.base import SaliencyMap
    from generator.manifest.schema import MetricsSpec

ROAD_FRACTIONS = tuple(round(0.1 * k, 1) for k in range(1, 10))  # shares of the pixels removed
ROAD_NOISE = 0.01  # the paper's noise, on the 0-1 pixel scale
# (row offset, column offset, weight) of the 8 neighbours: edge 1/6, diagonal 1/12 (they add up to 1)
NEIGHBOURS = tuple(
    (dy, dx, 1 / 6 if dy == 0 or dx == 0 else 1 / 12) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)
)


@result_type
@dataclass(frozen=True)
class RoadResult:
    fractions: NDArray[np.float64]  # shares of the pixels removed, 0.1 .. 0.9
    morf_curve: NDArray[np.float64]  # target probability with the most relevant share removed (lower is better)
    lerf_curve: NDArray[np.float64]  # ... with the least relevant share removed (higher is better)
    morf_auc: float  # mean height of the MoRF curve: trapezoid area / the fractions' span
    lerf_auc: float

    @property
    def score(self) -> float:
        """LeRF AUC minus MoRF AUC: how much more the relevant pixels matter than the irrelevant (higher is better)."""
        return self.lerf_auc - self.morf_auc


def imputed(image: NDArray[np.float64], removed: NDArray[np.bool_]) -> NDArray[np.float64]:
    """`image` (H x W x C floats) with its `removed` pixels replaced by linear imputation, without noise.

    Each removed pixel p satisfies S_p x_p - sum of w_n x_n over its removed neighbours = sum of w_n v_n over its
    kept neighbours, with S_p the weight of its neighbours inside the image: x_p is the weighted mean of its
    neighbours. One sparse system for all removed pixels, solved once for every channel.
    """
    import scipy.sparse
    import scipy.sparse.linalg

    height, width = removed.shape
    flat = image.reshape(height * width, -1).astype(np.float64)
    unknown = np.flatnonzero(removed.ravel())
    out = flat.copy()
    if not len(unknown):
        return out.reshape(image.shape)
    variable = np.full(height * width, -1)
    variable[unknown] = np.arange(len(unknown))
    rows_y, rows_x = np.divmod(unknown, width)
    diagonal = np.zeros(len(unknown))
    right = np.zeros((len(unknown), flat.shape[1]))
    entries: list[tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]] = []
    for dy, dx, weight in NEIGHBOURS:
        y, x = rows_y + dy, rows_x + dx
        inside = (y >= 0) & (y < height) & (x >= 0) & (x < width)
        equation = np.flatnonzero(inside)
        neighbour = y[inside] * width + x[inside]
        diagonal[equation] += weight
        is_unknown = variable[neighbour] >= 0
        entries.append((equation[is_unknown], variable[neighbour[is_unknown]], np.full(is_unknown.sum(), -weight)))
        right[equation[~is_unknown]] += weight * flat[neighbour[~is_unknown]]
    rows, columns, values = (np.concatenate(part) for part in zip(*entries))
    size = len(unknown)
    matrix = scipy.sparse.coo_matrix(
        (
            np.concatenate([values, diagonal]),
            (np.concatenate([rows, np.arange(size)]), np.concatenate([columns, np.arange(size)])),
        ),
        shape=(size, size),
    ).tocsc()
    solution = scipy.sparse.linalg.splu(matrix).solve(right)
    out[unknown] = solution
    return out.reshape(image.shape)


def noise_field(shape: tuple[int, ...], seed: int, noise: float = ROAD_NOISE) -> NDArray[np.float64]:
    """The Gaussian noise added to imputed pixels: one seeded field per case, so every curve is reproducible."""
    return np.random.RandomState(seed).normal(0.0, noise, shape)


def road_image(image: NDArray[np.uint8], removed: NDArray[np.bool_], noise: NDArray[np.float64]) -> NDArray[np.uint8]:
    """The uint8 image with `removed` pixels filled by noisy linear imputation (0-1 scale, then 8 bits again)."""
    filled = imputed(image.astype(np.float64) / 255.0, removed)
    filled[removed] += noise[removed]
    return np.clip(np.round(filled * 255.0), 0, 255).astype(np.uint8)


def removal_masks(saliency: ArrayLike) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Per ROAD fraction, the H x W masks of the most relevant (MoRF) and the least relevant (LeRF) share of pixels.

    Pixels are ranked as the deletion curve ranks them (`pixel_order`: ties by position), so the two orders
    remove complementary ends of one ranking."""
    shape = np.shape(saliency)
    rank = np.empty(int(np.prod(shape)), dtype=np.int64)
    rank[pixel_order(saliency)] = np.arange(rank.size)
    counts = np.round(np.asarray(ROAD_FRACTIONS) * rank.size).astype(np.int64)
    morf = rank[None, :] < counts[:, None]
    lerf = rank[None, :] >= rank.size - counts[:, None]
    return morf.reshape((len(counts), *shape)), lerf.reshape((len(counts), *shape))


def road_images(image: NDArray[np.uint8], saliency: ArrayLike, seed: int) -> NDArray[np.uint8]:
    """The images of both ROAD curves of one map: one per fraction for MoRF, then one per fraction for LeRF."""
    check_inputs(image, saliency)
    noise = noise_field(image.shape, seed)
    morf, lerf = removal_masks(saliency)
    return np.stack([road_image(image, removed, noise) for removed in (*morf, *lerf)])


def road_from_probabilities(probabilities: ArrayLike) -> RoadResult:
    """RoadResult from the target's probability on each of `road_images`' images."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    fractions = np.asarray(ROAD_FRACTIONS)
    morf, lerf = probabilities[: len(fractions)], probabilities[len(fractions) :]
    span = fractions[-1] - fractions[0]
    return RoadResult(
        fractions, morf, lerf, trapezoid_auc(fractions, morf) / span, trapezoid_auc(fractions, lerf) / span
    )


@dataclass(frozen=True)
class RoadRow:
    case_id: str
    title: str
    model: str
    road: RoadResult
    baseline: float | None  # the random map's ROAD score

    @property
    def score(self) -> float:
        return self.road.score


class RoadSpec(Strict):
    """Its key of the manifest's `metrics` section."""

    road: bool = Field(
        False,
        description="ROAD (Rong et al. 2022): the target's probability with the most (MoRF) and the least (LeRF) "
        "relevant 10% to 90% of the pixels removed and filled in by noisy linear imputation, for every map and the "
        "random baseline.",
    )


@register
class Road(Measure):
    name = "road"
    spec = RoadSpec
    spec_places = {"road": 50}
    order = 20
    case_section = True
    table = "road"
    baseline = True
    curves = True
    observed_first = True

    @classmethod
    def runs(cls, settings: MetricsSpec) -> bool:
        return settings_of(RoadSpec, settings).road

    @classmethod
    def curve_name(cls) -> str:
        return "ROAD"

    def curve_images(self, image: NDArray[np.uint8], saliency: SaliencyMap) -> NDArray[np.uint8]:
        return road_images(image, saliency, self.seed)

    def curve_result(self, probabilities: NDArray[np.float64]) -> RoadResult:
        return road_from_probabilities(probabilities)

    @classmethod
    def columns(cls, records: Sequence[TargetMetrics], keys: Sequence[str]) -> list[MetricColumn]:
        """Per map: its ROAD score (LeRF minus MoRF, the overview's headline), then the two curves' areas."""
        columns = [
            MetricColumn(f"{method_title(key)} ROAD score", record_value(cls.name, key, "score"), higher_is_better=True)
            for key in keys
        ]
        for what, higher in (("MoRF", False), ("LeRF", True)):
            columns += [
                MetricColumn(
                    f"{method_title(key)} ROAD {what}",
                    record_value(cls.name, key, f"{what.lower()}_auc"),
                    in_overview=False,
                    higher_is_better=higher,
                )
                for key in keys
            ]
        return columns

    @classmethod
    def sentences(cls, model: str, own: TargetMetrics) -> list[str]:
        """Compare each map's ROAD score (LeRF minus MoRF) with the random map's."""
        found = own.of(cls.name)
        if RANDOM_MAP not in found:
            return []
        baseline = found[RANDOM_MAP]
        out = []
        for method, curves in found.items():
            if method == RANDOM_MAP:
                continue
            verdict = "beats" if curves.score > baseline.score else "does not beat"
            out.append(
                f"Under ROAD, {model}'s {method_title(method)} map {verdict} the random map (score {curves.score:.3f} "
                f"vs {baseline.score:.3f}; MoRF {curves.morf_auc:.3f}, LeRF {curves.lerf_auc:.3f})."
            )
        return out

    @classmethod
    def worst(cls, own: Sequence[Own], limit: int) -> tuple[Ranking, ...]:
        """Per method with ROAD curves: the lowest ROAD score (LeRF minus MoRF)."""
        rankings = []
        for method in page_order({name for *_, metrics in own for name in metrics.of(cls.name)} - {RANDOM_MAP}):
            rows = []
            for case, model, metrics in own:
                found, baseline = metrics.of(cls.name).get(method), metrics.of(cls.name).get(RANDOM_MAP)
                if found is not None and is_number(found.score):
                    score = None if baseline is None else baseline.score
                    rows.append(RoadRow(case.case_id, case.spec.title or case.case_id, model.label, found, score))
            ranked = tuple(sorted(rows, key=lambda row: row.score)[:limit])
            rankings.append(Ranking(method, method_title(method), ranked))
        return tuple(ranking for ranking in rankings if ranking.rows)
