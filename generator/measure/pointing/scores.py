"""Where a saliency map lies, measured on a region the author marks (a boolean mask on the crop).

- mass: the share of the map's sum inside the region (the energy-based pointing game of Wang et
  al. 2020; Quantus' RelevanceMassAccuracy, Arras, Osman and Samek 2022);
- lift: the mass divided by the region's share of the crop (1 = what a uniform map gives);
- pointing game: a hit when one of the map's maxima lies inside the region or within `tolerance` pixels of it
  (Zhang et al. 2018; TorchRay's benchmark uses 15 px on a 224 crop);
- rank accuracy: the share of the region's K pixels among the map's K highest (Quantus' RelevanceRankAccuracy);
- for a method that ranks superpixels, the ranks among its top k of those that touch the region.

Negative values are clipped to 0 first: evidence against the target is not evidence for it being elsewhere.
A map with no positive value, or an empty region, gives NaN (None for the pointing game): nothing to measure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.ndimage import distance_transform_edt

from generator.measure.metrics import pixel_order, superpixel_means, top_k
from generator.utils.records import result_type

NAME = "pointing"  # the measure's name: its records' key in TargetMetrics, its templates' stem
Mask = NDArray[np.bool_]


@result_type
@dataclass(frozen=True)
class RegionScore:
    """One map's measures on one region."""

    mass: float  # share of the (clipped) map's sum inside the region
    lift: float  # mass / the region's share of the crop
    pointing_hit: bool | None  # None: the map has no positive value
    rank_accuracy: float
    top_superpixels: tuple[int, ...] | None = None  # 1-based ranks among the top k that touch it; None: not segmented
    k: int | None = None  # the k of top_superpixels


RegionScores = dict[int, dict[str, dict[str, RegionScore]]]  # target -> method -> region name -> its score


def clipped(saliency: ArrayLike) -> NDArray[np.float64]:
    """The map with negative values (and NaNs) set to 0."""
    values = np.nan_to_num(np.asarray(saliency, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    return np.clip(values, 0.0, None)


def check_shapes(saliency: NDArray[np.float64], mask: Mask) -> None:
    if saliency.shape != mask.shape:
        raise ValueError(f"the map is {saliency.shape} but the region's mask is {mask.shape}")


def mass_on_region(saliency: ArrayLike, mask: ArrayLike) -> float:
    """The share of the clipped map's sum inside the mask; NaN when the map sums to 0 or the mask is empty."""
    values, inside = clipped(saliency), np.asarray(mask, dtype=bool)
    check_shapes(values, inside)
    total = float(values.sum())
    if total <= 0 or not inside.any():
        return float("nan")
    return float(values[inside].sum()) / total


def lift(mass: float, mask: ArrayLike) -> float:
    """Mass over the region's share of the crop: 1 for a uniform map, above 1 when the map favours the region."""
    inside = np.asarray(mask, dtype=bool)
    share = float(inside.mean()) if inside.size else 0.0
    return mass / share if share > 0 else float("nan")


def pointing_game(saliency: ArrayLike, mask: ArrayLike, tolerance: float = 15.0) -> bool | None:
    """A hit when any of the map's maxima lies within `tolerance` pixels (centre to centre) of the region.

    tolerance 0: inside only. None when the clipped map has no positive value (no maximum to point with)."""
    values, inside = clipped(saliency), np.asarray(mask, dtype=bool)
    check_shapes(values, inside)
    peak = float(values.max()) if values.size else 0.0
    if peak <= 0 or not inside.any():
        return None
    maxima = values == peak
    if (maxima & inside).any():
        return True
    if tolerance <= 0:
        return False
    distance = distance_transform_edt(~inside)  # each pixel's distance to the region's nearest pixel
    return bool((distance[maxima] <= tolerance).any())


def rank_accuracy(saliency: ArrayLike, mask: ArrayLike) -> float:
    """The share of the region's K pixels among the clipped map's K highest (ties: row-major order)."""
    values, inside = clipped(saliency), np.asarray(mask, dtype=bool)
    check_shapes(values, inside)
    k = int(inside.sum())
    if k == 0 or float(values.max()) <= 0:
        return float("nan")
    highest = pixel_order(values)[:k]
    return float(inside.ravel()[highest].sum()) / k


def superpixels_touching(saliency: ArrayLike, segments: ArrayLike, mask: ArrayLike, k: int) -> tuple[int, ...]:
    """The 1-based ranks, among the map's k highest superpixels (by mean value), of those the region touches."""
    labels, inside = np.asarray(segments), np.asarray(mask, dtype=bool)
    means = superpixel_means(saliency, labels)
    touched = set(np.unique(labels[inside]).tolist())
    ranked = top_k(means, k)
    return tuple(rank for rank, index in enumerate(ranked.tolist(), start=1) if index in touched)


def region_score(
    saliency: ArrayLike,
    mask: ArrayLike,
    tolerance: float = 15.0,
    segments: ArrayLike | None = None,
    k: int = 5,
) -> RegionScore:
    """Every measure of one map on one region; the superpixels only when the method segments the case."""
    mass = mass_on_region(saliency, mask)
    touching = None if segments is None else superpixels_touching(saliency, segments, mask, k)
    return RegionScore(
        mass=mass,
        lift=lift(mass, mask),
        pointing_hit=pointing_game(saliency, mask, tolerance),
        rank_accuracy=rank_accuracy(saliency, mask),
        top_superpixels=touching,
        k=None if segments is None else k,
    )

