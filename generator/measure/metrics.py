"""What several measures share: ranking a map's pixels, curve areas, classifying curve images once, comparing maps.

Every measure takes plain numpy maps (H x W saliency, per-superpixel vectors) so every method's maps are
measured by the same code. Classifiers are `BatchClassifier`-like callables: uint8 N x H x W x 3 images
in, float64 N x C softmax probabilities out. Each measure is its own module beside this one (generator/measure/).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

SUPERPIXELS = "superpixels"  # the unit of an agreement between superpixel means (a case segmented by a method)
PIXELS = "pixels"  # the unit of an agreement between maps compared pixel by pixel (no segmentation)

# uint8 N x H x W x 3 images -> float64 N x C softmax probabilities (a BatchClassifier, or a stand-in)
Classify = Callable[[NDArray[np.uint8]], ArrayLike]


# --- ranking pixels, areas under curves, classifying curve images once ---------------------------------------


def pixel_order(saliency: ArrayLike) -> NDArray[np.intp]:
    """Flat pixel indices, most salient first.

    A stable sort on the negated map breaks ties by row-major position, so flat or binary maps give the same
    curves on every run. NaNs count as least important rather than poisoning the order.
    """
    flat = np.nan_to_num(np.asarray(saliency, dtype=np.float64).ravel(), nan=-np.inf)
    return np.argsort(-flat, kind="stable")


def trapezoid_auc(fractions: ArrayLike, curve: ArrayLike) -> float:
    """Area under the curve over [0, 1] by the trapezoid rule (RISE's summary number)."""
    x, y = np.asarray(fractions, dtype=np.float64), np.asarray(curve, dtype=np.float64)
    return float(np.sum((y[1:] + y[:-1]) * np.diff(x)) / 2.0)


def check_inputs(image: NDArray[np.generic], saliency: ArrayLike) -> None:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be uint8 H x W x 3, got {image.dtype} {image.shape}")
    if np.shape(saliency) != image.shape[:2]:
        raise ValueError(f"saliency shape {np.shape(saliency)} does not match image {image.shape[:2]}")


def classify_distinct(
    classify: Classify,
    stacks: Sequence[NDArray[np.uint8]],
    known: Iterable[tuple[NDArray[np.uint8], ArrayLike]] = (),
) -> list[NDArray[np.float64]]:
    """Probabilities of every image of `stacks` (arrays N_i x H x W x 3), each distinct image classified once.

    The curves of several maps share images (every deletion curve starts at the original and ends fully
    hidden, every insertion curve starts blurred), and the random baseline's images are the same for every
    target: one batched call classifies each image once. `known` holds (image, probabilities) pairs already
    classified elsewhere (the original, by the predictions), which are not classified again.
    Returns one probability matrix per stack.
    """
    rows = {image_key(image): np.asarray(probabilities, dtype=np.float64) for image, probabilities in known}
    pending: dict[bytes, NDArray[np.uint8]] = {}
    for stack in stacks:
        for image in stack:
            key = image_key(image)
            if key not in rows and key not in pending:
                pending[key] = image
    if pending:
        computed = np.asarray(classify(np.stack(list(pending.values()))), dtype=np.float64)
        rows.update(zip(pending, computed))
    return [np.stack([rows[image_key(image)] for image in stack]) for stack in stacks]


def image_key(image: NDArray[np.uint8]) -> bytes:
    return hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=16).digest()


# --- comparing maps -----------------------------------------------------------------------------------------


def superpixel_means(pixel_map: ArrayLike, segments: ArrayLike) -> NDArray[np.float64]:
    """Mean of a pixel map inside each superpixel (index = segment id): a pixel map on a per-superpixel footing.

    A segment id with no pixels (absent from `segments`) gets 0.0 instead of a division by zero.
    """
    segments = np.asarray(segments).ravel()
    values = np.asarray(pixel_map, dtype=np.float64).ravel()
    if segments.shape != values.shape:
        raise ValueError(f"map has {values.size} pixels, segments {segments.size}")
    n = int(segments.max()) + 1
    sums = np.bincount(segments, weights=values, minlength=n)
    counts = np.bincount(segments, minlength=n)
    return np.divide(sums, counts, out=np.zeros(n), where=counts > 0)


def safe_spearman(a: ArrayLike, b: ArrayLike) -> float:
    """Spearman's rho, or NaN where it is undefined (a constant input, fewer than two values).

    A constant map ranks nothing: its correlation is undefined, not zero. Pages show NaN as "—" and the
    summaries leave it out, so a blank map never counts as a "disagreement".
    """
    a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    if a.shape != b.shape:
        raise ValueError(f"length mismatch: {a.size} vs {b.size}")
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    import scipy.stats

    return float(scipy.stats.spearmanr(a, b).statistic)


def top_k(scores: ArrayLike, k: int) -> NDArray[np.intp]:
    """Indices of the k highest scores, descending; ties go to the lower index (stable sort)."""
    return np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")[:k]
