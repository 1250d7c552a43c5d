"""Measuring explanations: faithfulness, agreement, concentration, stability and the sanity check.

Every metric takes plain numpy maps (H x W saliency, per-superpixel vectors) so every method's maps are
measured by the same code. Classifiers are `BatchClassifier`-like callables: uint8 N x H x W x 3 images
in, float64 N x C softmax probabilities out.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from torch import nn

from generator.utils.records import result_type

# RISE's reference code blurs with gkern(klen=11, nsig=5): a sigma of 5 px on 224-px crops, cut at an 11x11
# support. Sigma 5 truncated at one sigma (radius 5) reproduces that support.
BLUR_SIGMA = 5.0
BLUR_TRUNCATE = 1.0
SANITY_THRESHOLD = 0.5  # a randomised-model map correlating above this with the trained map "barely changes"
SUPERPIXELS = "superpixels"  # the unit of an agreement between superpixel means (a case segmented by a method)
PIXELS = "pixels"  # the unit of an agreement between maps compared pixel by pixel (no segmentation)

# uint8 N x H x W x 3 images -> float64 N x C softmax probabilities (a BatchClassifier, or a stand-in)
Classify = Callable[[NDArray[np.uint8]], ArrayLike]


@result_type
@dataclass(frozen=True)
class FaithfulnessResult:
    fractions: NDArray[np.float64]  # steps + 1 evenly spaced shares of pixels changed, 0..1
    deletion_curve: NDArray[np.float64]  # target probability after hiding the top fraction (lower AUC is better)
    insertion_curve: NDArray[np.float64]  # target probability after restoring the top fraction (higher AUC is better)
    deletion_auc: float
    insertion_auc: float


@result_type
@dataclass(frozen=True)
class Agreement:
    spearman: float  # rank correlation of the two score vectors; NaN when either is constant
    top_k_overlap: float  # |topk(a) & topk(b)| / k, in [0, 1]
    k: int  # the k the overlap counts (the requested one, capped at the vector's length)
    unit: str  # what the vectors' entries are: SUPERPIXELS or PIXELS


# --- faithfulness (RISE deletion / insertion) ---------------------------------------------------------------


def pixel_order(saliency: ArrayLike) -> NDArray[np.intp]:
    """Flat pixel indices, most salient first.

    A stable sort on the negated map breaks ties by row-major position, so flat or binary maps give the same
    curves on every run. NaNs count as least important rather than poisoning the order.
    """
    flat = np.nan_to_num(np.asarray(saliency, dtype=np.float64).ravel(), nan=-np.inf)
    return np.argsort(-flat, kind="stable")


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


def trapezoid_auc(fractions: ArrayLike, curve: ArrayLike) -> float:
    """Area under the curve over [0, 1] by the trapezoid rule (RISE's summary number)."""
    x, y = np.asarray(fractions, dtype=np.float64), np.asarray(curve, dtype=np.float64)
    return float(np.sum((y[1:] + y[:-1]) * np.diff(x)) / 2.0)


def check_inputs(image: NDArray[np.generic], saliency: ArrayLike) -> None:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be uint8 H x W x 3, got {image.dtype} {image.shape}")
    if np.shape(saliency) != image.shape[:2]:
        raise ValueError(f"saliency shape {np.shape(saliency)} does not match image {image.shape[:2]}")


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


# --- agreement between methods ------------------------------------------------------------------------------


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


def agreement(a: ArrayLike, b: ArrayLike, k: int, unit: str) -> Agreement:
    """Spearman and top-k overlap of two score vectors over the same `unit`s (superpixel means, or pixels).

    k is capped at the vector length, and the overlap is divided by that capped k, so it stays in [0, 1]. Both
    are undefined (NaN) together: a constant vector ranks nothing, so it has no top k either (its order would
    be the index order).
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    spearman = safe_spearman(a, b)
    k = min(k, np.size(a))
    if np.isnan(spearman):
        return Agreement(spearman, float("nan"), k, unit)
    return Agreement(spearman, np.intersect1d(top_k(a, k), top_k(b, k)).size / k, k, unit)


# --- concentration ------------------------------------------------------------------------------------------


def concentration(saliency_map: ArrayLike) -> float:
    """Smallest share of pixels holding half of the map's mass: low = focused, 0.5 = flat.

    Negative values are clipped to zero first (mass is positive evidence only; a ReLU'd map is unchanged).
    The share counts whole pixels, so one hot pixel gives 1 / num_pixels and a flat map of an even pixel count
    gives exactly 0.5. A map without positive mass has no half to hold: NaN.
    """
    mass = np.clip(np.nan_to_num(np.asarray(saliency_map, dtype=np.float64).ravel()), 0.0, None)
    total = mass.sum()
    if total <= 0:
        return float("nan")
    cumulative = np.cumsum(np.sort(mass)[::-1])
    needed = int(np.searchsorted(cumulative, total / 2 * (1 - 1e-12))) + 1  # tolerance for float sums
    return needed / mass.size


# --- sanity check (Adebayo et al., 2018) --------------------------------------------------------------------


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
