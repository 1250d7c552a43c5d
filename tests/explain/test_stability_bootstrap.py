"""LIME's stability estimated from the build's own perturbed images (bootstrap), on cases with known answers."""

import itertools

import numpy as np
import pytest
import torch

from generator.explain.lime import (
    ADAPTIVE_CAP,
    ADAPTIVE_ROUND,
    BOOTSTRAP_RESAMPLES,
    bootstrap_stability,
    bootstrap_weights,
    fit_surrogates,
    perturbation_set,
)
from generator.explain.stability import top_k_positive

SEGMENTS = 12
SAMPLES = 400


def labels_for(data, probability_of_class_1):
    """Two-class probabilities: column 1 as given, column 0 its complement."""
    p1 = np.asarray(probability_of_class_1, dtype=np.float64)
    return np.stack([1 - p1, p1], axis=1)


@pytest.fixture(scope="module")
def data():
    return perturbation_set(SEGMENTS, SAMPLES, np.random.RandomState(0))


def stability(data, labels, k):
    """The build's estimate (`metrics.stability: bootstrap`) for class 1."""
    (result,) = fit_surrogates(data, labels, [1], np.random.RandomState(0))
    return result, bootstrap_stability(data, result, k, seed=1)


def test_classifier_of_one_superpixel_is_stable(data):
    labels = labels_for(data, np.where(data[:, 4] == 1, 0.9, 0.1))
    result, found = stability(data, labels, k=1)
    assert top_k_positive(result.weights, 1) == {4}
    assert found.mean_jaccard == 1.0 and found.stable and found.weight_spread < 0.2


def test_classifier_driven_by_noise_is_unstable(data):
    labels = labels_for(data, np.random.RandomState(3).uniform(0.3, 0.7, len(data)))
    _, found = stability(data, labels, k=3)
    assert found.mean_jaccard < 0.6 and not found.stable and found.weight_spread > 0.5


def test_the_estimate_compares_refits_with_each_other_not_with_the_run():
    """Two refits differ as two runs do; a refit against the run it resamples would read stabler."""
    rows = perturbation_set(SEGMENTS, SAMPLES, np.random.RandomState(1))
    near_ties = 0.3 + 0.05 * rows[:, :4].sum(axis=1) + np.random.RandomState(2).normal(0, 0.05, SAMPLES)
    (result,) = fit_surrogates(rows, labels_for(rows, near_ties), [1], np.random.RandomState(0))
    refits = bootstrap_weights(rows, result.neighbourhood, BOOTSTRAP_RESAMPLES, seed=1)
    found = bootstrap_stability(rows, result, k=2, seed=1)
    tops = [top_two_positive(weights) for weights in refits]
    between_refits = np.mean([jaccard_by_hand(a, b) for a, b in itertools.combinations(tops, 2)])
    against_the_run = np.mean([jaccard_by_hand(top_two_positive(result.weights), top) for top in tops])
    assert found.mean_jaccard == pytest.approx(between_refits, abs=1e-12)
    assert against_the_run > between_refits + 0.05  # what comparing with the run would have read: stabler
    spread = np.std(refits, axis=0).mean() / np.abs(refits).mean()  # each superpixel's std over one scale
    assert found.weight_spread == pytest.approx(spread, rel=1e-9)


def top_two_positive(weights):
    """The two superpixels with the highest weights, of those with a positive weight (no ties here)."""
    ranked = sorted((i for i, w in enumerate(weights) if w > 0), key=lambda i: weights[i], reverse=True)
    return set(ranked[:2])


def jaccard_by_hand(a, b):
    return len(a & b) / len(a | b) if a | b else 1.0


def test_bootstrap_keeps_the_original_first_and_reuses_the_neighbourhood(data):
    labels = labels_for(data, np.where(data[:, 2] == 1, 0.8, 0.3))
    (result,) = fit_surrogates(data, labels, [1], np.random.RandomState(0))
    np.testing.assert_array_equal(result.neighbourhood, labels[:, 1])
    first = bootstrap_weights(data, result.neighbourhood, 3, seed=5)
    again = bootstrap_weights(data, result.neighbourhood, 3, seed=5)
    assert len(first) == 3 and all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], first[1])  # resamples differ


def original_stands_apart(rows, seed):
    """Class 1 is likely only on the untouched image; on perturbed ones it follows superpixel 4, with noise."""
    noise = np.random.RandomState(seed).normal(0, 0.02, len(rows))
    return labels_for(rows, np.where(rows.all(axis=1), 0.9, 0.1 + 0.05 * rows[:, 4] + noise))


def test_refits_spread_as_far_as_runs_with_other_seeds_when_the_original_stands_apart():
    """Every run has the original once; resampling it like the other rows would add a spread runs never have."""
    runs = []
    for seed in range(20):
        rows = perturbation_set(SEGMENTS, SAMPLES, np.random.RandomState(100 + seed))
        (result,) = fit_surrogates(rows, original_stands_apart(rows, seed), [1], np.random.RandomState(0))
        runs.append((rows, result))
    between_runs = np.std([result.weights for _, result in runs], axis=0, ddof=1)
    rows, result = runs[0]
    refits = np.std(bootstrap_weights(rows, result.neighbourhood, 200, seed=1), axis=0, ddof=1)
    assert 0.75 < np.median(refits / between_runs) < 1.33


# --- num_samples: auto ----------------------------------------------------------------------------------

SIDE, CELL = 32, 8  # a 4 x 4 grid of superpixels on a bright 32 x 32 image


class OneSuperpixel(torch.nn.Module):
    """Class 0's logit is the brightness of superpixel 5 (rows 8-15, columns 8-15): a stable answer."""

    def forward(self, x):
        lit = x[:, 0, CELL : 2 * CELL, CELL : 2 * CELL].mean(dim=(1, 2))
        return torch.stack([4 * lit, torch.zeros_like(lit)], dim=1)


class Noise(torch.nn.Module):
    """Logits that jump with any change of the image: no superpixel explains them."""

    def forward(self, x):
        position = torch.arange(SIDE * SIDE, dtype=x.dtype).reshape(SIDE, SIDE).sqrt()  # which pixels, not how many
        score = torch.sin(997 * (x[:, 0] * position).sum(dim=(1, 2)))
        return torch.stack([score, -score], dim=1)


def adaptive_run(module):
    from generator.explain.lime import LimeSpec, explain_with_lime
    from generator.run.inference import BatchClassifier

    image = np.full((SIDE, SIDE, 3), 230, dtype=np.uint8)
    segments = (np.arange(SIDE)[:, None] // CELL) * (SIDE // CELL) + np.arange(SIDE)[None, :] // CELL
    classifier = BatchClassifier(module, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), batch_size=50)
    settings = LimeSpec(num_samples="auto", top_labels=1, num_features=1)
    return explain_with_lime(classifier, image, segments, (0,), settings, seed=0)


def test_auto_samples_stop_after_one_round_when_the_answer_is_stable():
    (result,) = adaptive_run(OneSuperpixel())
    assert result.samples == ADAPTIVE_ROUND
    assert top_k_positive(result.weights, 1) == {5}


def test_auto_samples_run_to_the_cap_when_noise_drives_the_model():
    results = adaptive_run(Noise())
    assert [r.samples for r in results] == [ADAPTIVE_CAP] * len(results)


def test_auto_samples_use_the_first_rows_of_the_fixed_set():
    """Stopping at n images uses exactly the rows a fixed num_samples: n would (the same seeded draw)."""
    n = 500
    capped = perturbation_set(SEGMENTS, ADAPTIVE_CAP, np.random.RandomState(3))
    np.testing.assert_array_equal(capped[:n], perturbation_set(SEGMENTS, n, np.random.RandomState(3)))
