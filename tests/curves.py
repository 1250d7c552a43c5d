"""One map's RISE curves in one call, and the per-pixel random baseline: test references for the metrics.

The build computes every map's curves in one batched pass (generator.measure.measurer); these spell the
protocol out for a single map, as the metric tests check it against known answers.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike

from generator.measure.faithfulness import BLUR_SIGMA, FaithfulnessResult, curve_images, curves_from_probabilities
from generator.measure.metrics import Classify


def deletion_insertion(
    classify: Classify,
    image: ArrayLike,
    saliency: ArrayLike,
    target: int,
    hide_color: int | Sequence[int] = 0,
    steps: int = 32,
    blur_sigma: float = BLUR_SIGMA,
) -> FaithfulnessResult:
    """RISE deletion and insertion curves (Petsiuk et al., 2018) of `target` for a saliency map.

    A faithful map makes the probability fall fast when its top pixels are deleted and rise fast when they
    are inserted. Both curves come from one batched `classify` call of 2 * (steps + 1) images.
    """
    fractions, images = curve_images(image, saliency, hide_color, steps, blur_sigma)
    return curves_from_probabilities(fractions, np.asarray(classify(images))[:, int(target)])


def random_order_baseline(
    classify: Classify,
    image: ArrayLike,
    target: int,
    hide_color: int | Sequence[int] = 0,
    steps: int = 32,
    seed: int = 0,
    blur_sigma: float = BLUR_SIGMA,
) -> FaithfulnessResult:
    """The same protocol with a seeded uniform-random saliency: the score a map must beat to be informative."""
    image = np.asarray(image)
    saliency = np.random.default_rng(seed).random(image.shape[:2])
    return deletion_insertion(classify, image, saliency, target, hide_color, steps, blur_sigma)
