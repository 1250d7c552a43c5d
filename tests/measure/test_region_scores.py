"""The region measures against Quantus on hand-made maps and masks, and the pointing game's tolerance rule."""

import math

import numpy as np
import pytest

from generator.measure.pointing.scores import (
    lift,
    mass_on_region,
    pointing_game,
    rank_accuracy,
    region_score,
    superpixels_touching,
)
from tests.requires import module

quantus = module("quantus", "quantus")

SIZE = 32


def box_mask(top, left, bottom, right, size=SIZE):
    mask = np.zeros((size, size), dtype=bool)
    mask[top:bottom, left:right] = True
    return mask


def hand_made_cases():
    """(map, mask) pairs: positive maps without ties, so every rank is defined the same way in both tools."""
    rng = np.random.default_rng(7)
    rows, columns = np.mgrid[0:SIZE, 0:SIZE]
    blob = np.exp(-((rows - 10.0) ** 2 + (columns - 20.0) ** 2) / 30.0) + 1e-3 * rng.random((SIZE, SIZE))
    return [
        (blob, box_mask(5, 15, 15, 25)),  # the blob's peak inside
        (blob, box_mask(20, 0, 32, 10)),  # far from it
        (rng.random((SIZE, SIZE)), box_mask(0, 0, 16, 32)),  # noise, half the crop
        (rng.random((SIZE, SIZE)) ** 4, rng.random((SIZE, SIZE)) < 0.1),  # scattered mask
    ]


def quantus_scores(metric, saliency, mask):
    x = np.zeros((1, 3, SIZE, SIZE), dtype=np.float32)
    a = saliency[None, None].astype(np.float32)
    s = mask[None, None].astype(np.float32)
    return metric(model=None, x_batch=x, y_batch=np.array([0]), a_batch=a, s_batch=s, channel_first=True)[0]


@pytest.mark.parametrize("case", range(4))
def test_mass_equals_quantus_relevance_mass_accuracy(case):
    saliency, mask = hand_made_cases()[case]
    metric = quantus.RelevanceMassAccuracy(abs=False, normalise=False, disable_warnings=True)
    assert mass_on_region(saliency, mask) == pytest.approx(quantus_scores(metric, saliency, mask), rel=1e-5)


@pytest.mark.parametrize("case", range(4))
def test_rank_accuracy_equals_quantus_relevance_rank_accuracy(case):
    saliency, mask = hand_made_cases()[case]
    metric = quantus.RelevanceRankAccuracy(abs=False, normalise=False, disable_warnings=True)
    assert rank_accuracy(saliency, mask) == pytest.approx(quantus_scores(metric, saliency, mask), rel=1e-6)


@pytest.mark.parametrize("case", range(4))
def test_pointing_game_without_tolerance_equals_quantus(case):
    saliency, mask = hand_made_cases()[case]
    metric = quantus.PointingGame(abs=False, normalise=False, disable_warnings=True)
    assert pointing_game(saliency, mask, tolerance=0) == bool(quantus_scores(metric, saliency, mask))


def test_the_cases_cover_hits_and_misses():
    """The Quantus comparisons above mean something only if the cases give both answers."""
    hits = [pointing_game(saliency, mask, tolerance=0) for saliency, mask in hand_made_cases()]
    assert True in hits and False in hits


def test_a_peak_10_px_outside_hits_at_15_and_misses_at_0():
    """TorchRay's rule: a hit when the maximum lies within the tolerance of the object."""
    mask = box_mask(10, 10, 20, 20, size=64)
    saliency = np.zeros((64, 64))
    saliency[15, 29] = 1.0  # 10 px right of the box's last column (19)
    assert pointing_game(saliency, mask, tolerance=15) is True
    assert pointing_game(saliency, mask, tolerance=10) is True  # exactly at the tolerance
    assert pointing_game(saliency, mask, tolerance=9.9) is False
    assert pointing_game(saliency, mask, tolerance=0) is False
    saliency[15, 29] = 0.5
    saliency[15, 15] = 0.5  # a tied maximum inside counts
    assert pointing_game(saliency, mask, tolerance=0) is True


def test_known_answers_of_mass_lift_and_rank():
    mask = box_mask(0, 0, 8, 32)  # a quarter of the crop
    uniform = np.ones((SIZE, SIZE))
    assert mass_on_region(uniform, mask) == pytest.approx(0.25)
    assert lift(0.25, mask) == pytest.approx(1.0)
    inside_only = mask.astype(float) * np.arange(1, SIZE * SIZE + 1).reshape(SIZE, SIZE)
    assert mass_on_region(inside_only, mask) == 1.0
    assert lift(1.0, mask) == pytest.approx(4.0)
    assert rank_accuracy(inside_only, mask) == 1.0
    assert rank_accuracy(1.0 - inside_only / inside_only.max(), mask) == pytest.approx(0.0)


def test_negative_values_are_clipped_and_an_empty_map_gives_nothing():
    mask = box_mask(0, 0, 16, 32)
    signed = np.where(mask, 1.0, -1.0)  # everything positive inside, negative outside
    assert mass_on_region(signed, mask) == 1.0
    score = region_score(-np.ones((SIZE, SIZE)), mask)
    assert math.isnan(score.mass) and math.isnan(score.lift) and math.isnan(score.rank_accuracy)
    assert score.pointing_hit is None
    assert math.isnan(mass_on_region(np.ones((SIZE, SIZE)), np.zeros((SIZE, SIZE), dtype=bool)))


def test_a_map_and_mask_of_different_shapes_are_refused():
    with pytest.raises(ValueError, match="mask"):
        mass_on_region(np.ones((4, 4)), np.ones((5, 5), dtype=bool))


def test_superpixels_touching_gives_the_ranks_of_the_top_k():
    segments = np.repeat(np.arange(4), 8)[None, :].repeat(SIZE, axis=0)  # four vertical bands 0..3
    weights = np.array([0.1, 0.9, 0.5, 0.3])  # ranking: 1, 2, 3, 0
    saliency = weights[segments]
    left_band = box_mask(0, 0, SIZE, 4)  # inside band 0 only
    assert superpixels_touching(saliency, segments, left_band, k=3) == ()
    assert superpixels_touching(saliency, segments, left_band, k=4) == (4,)
    middle = box_mask(0, 14, SIZE, 18)  # bands 1 and 2
    assert superpixels_touching(saliency, segments, middle, k=3) == (1, 2)
    score = region_score(saliency, middle, segments=segments, k=2)
    assert score.top_superpixels == (1, 2) and score.k == 2
    assert region_score(saliency, middle).top_superpixels is None
