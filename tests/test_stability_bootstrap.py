"""LIME's stability estimated from the build's own perturbed images (bootstrap), on cases with known answers."""

import numpy as np
import pytest

from generator import metrics
from generator.explain.lime import bootstrap_weights, fit_surrogates, perturbation_set

SEGMENTS = 12
SAMPLES = 400


def labels_for(data, probability_of_class_1):
    """Two-class probabilities: column 1 as given, column 0 its complement."""
    p1 = np.asarray(probability_of_class_1, dtype=np.float64)
    return np.stack([1 - p1, p1], axis=1)


@pytest.fixture(scope="module")
def data():
    return perturbation_set(SEGMENTS, SAMPLES, np.random.RandomState(0))


def stability(data, labels, k, resamples=8):
    (result,) = fit_surrogates(data, labels, [1], np.random.RandomState(0))
    runs = [result.weights] + bootstrap_weights(data, result.neighbourhood, resamples, seed=1)
    return result, metrics.lime_stability(runs, k=k)


def test_classifier_of_one_superpixel_is_stable(data):
    labels = labels_for(data, np.where(data[:, 4] == 1, 0.9, 0.1))
    result, found = stability(data, labels, k=1)
    assert metrics.top_k_positive(result.weights, 1) == {4}
    assert found.mean_jaccard == 1.0 and found.stable and found.weight_spread < 0.2


def test_classifier_driven_by_noise_is_unstable(data):
    labels = labels_for(data, np.random.RandomState(3).uniform(0.3, 0.7, len(data)))
    _, found = stability(data, labels, k=3)
    assert found.mean_jaccard < 0.6 and not found.stable and found.weight_spread > 0.5


def test_bootstrap_keeps_the_original_first_and_reuses_the_neighbourhood(data):
    labels = labels_for(data, np.where(data[:, 2] == 1, 0.8, 0.3))
    (result,) = fit_surrogates(data, labels, [1], np.random.RandomState(0))
    np.testing.assert_array_equal(result.neighbourhood, labels[:, 1])
    first = bootstrap_weights(data, result.neighbourhood, 3, seed=5)
    again = bootstrap_weights(data, result.neighbourhood, 3, seed=5)
    assert len(first) == 3 and all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], first[1])  # resamples differ
