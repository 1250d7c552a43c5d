"""The set's statistics proven against independent references: closed forms written here, scipy's binomtest and
its Wilson interval, sklearn's confusion matrix and precision/recall, hand-computed ECEs; and properties by
Hypothesis (the Wilson interval holds k/n inside [0, 1]; McNemar's p lies in (0, 1] and is symmetric)."""

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
import scipy.stats
from hypothesis import example, given
from hypothesis import strategies as st
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from generator.evaluate.statistics import (
    OTHER,
    accuracy,
    agreement,
    calibration,
    confusion,
    labelled_cases,
    mcnemar_exact,
    per_class,
    top_k_correct,
    wilson_interval,
)

Z95 = 1.959963984540054  # the 97.5th percentile of the standard normal, to 16 digits
PAIRS = [(0, 1), (1, 1), (0, 2), (1, 2), (2, 2), (0, 10), (3, 10), (5, 10), (10, 10), (1, 37), (17, 50), (50, 50)]
PAIRS += [(0, 1000), (1, 1000), (731, 1000), (999, 1000), (1000, 1000), (4, 7), (7, 7)]


def wilson_closed_form(k, n, z):
    """Wilson's interval written the other way round: (k + z²/2 ± z sqrt(k(n-k)/n + z²/4)) / (n + z²)."""
    centre, spread = k + z * z / 2, z * math.sqrt(k * (n - k) / n + z * z / 4)
    return (centre - spread) / (n + z * z), (centre + spread) / (n + z * z)


# --- Wilson ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("k, n", PAIRS)
def test_wilson_equals_the_closed_form_and_scipy(k, n):
    low, high = wilson_interval(k, n)
    assert (low, high) == pytest.approx(wilson_closed_form(k, n, Z95), abs=1e-12)
    reference = scipy.stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert (low, high) == pytest.approx((reference.low, reference.high), abs=1e-12)


@pytest.mark.parametrize("confidence", [0.5, 0.8, 0.9, 0.99, 0.999])
def test_wilson_at_other_levels_equals_scipy(confidence):
    for k, n in [(0, 5), (3, 5), (5, 5), (40, 120)]:
        reference = scipy.stats.binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
        assert wilson_interval(k, n, confidence) == pytest.approx((reference.low, reference.high), abs=1e-12)


def test_wilson_touches_0_and_1_exactly_at_the_ends_and_is_the_whole_range_with_no_trials():
    assert wilson_interval(0, 20)[0] == 0.0 and 0.0 < wilson_interval(0, 20)[1] < 1.0
    assert wilson_interval(20, 20)[1] == 1.0 and 0.0 < wilson_interval(20, 20)[0] < 1.0
    assert wilson_interval(1, 1) == pytest.approx((1 / (1 + Z95**2), 1.0))  # n = 1: [1/(1+z²), 1]
    assert wilson_interval(0, 0) == (0.0, 1.0)


@pytest.mark.parametrize("k, n, confidence", [(-1, 5, 0.95), (6, 5, 0.95), (0, -1, 0.95), (1, 2, 1.0), (1, 2, 0.0)])
def test_wilson_refuses_impossible_counts_and_levels(k, n, confidence):
    with pytest.raises(ValueError):
        wilson_interval(k, n, confidence)


@given(st.integers(0, 10_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
@example((0, 1))
@example((1, 1))
@example((0, 0))
def test_wilson_holds_k_over_n_inside_0_1(pair):
    k, n = pair
    low, high = wilson_interval(k, n)
    assert 0.0 <= low <= high <= 1.0
    if n:
        assert low <= k / n <= high and low < high
        assert (low == 0.0) == (k == 0) and (high == 1.0) == (k == n)


# --- accuracy, top-k ---------------------------------------------------------------------------------------------


def test_accuracy_counts_the_flags_and_carries_the_interval():
    result = accuracy([True, False, True, True])
    assert (result.correct, result.total, result.value) == (3, 4, 0.75)
    assert (result.low, result.high) == pytest.approx(wilson_closed_form(3, 4, Z95))
    empty = accuracy([])
    assert (empty.correct, empty.total, empty.value, empty.low, empty.high) == (0, 0, None, 0.0, 1.0)
    with pytest.raises(ValueError, match="booleans"):
        accuracy([0.9, 0.2])


def test_top_k_judges_only_labelled_cases_in_their_order():
    labels = ["cat", None, "dog", "fox"]
    ranked = [["cat", "dog"], ["cat"], ["cat", "dog", "fox"], ["dog", "cat"]]
    assert list(labelled_cases(labels)) == [0, 2, 3]
    assert top_k_correct(labels, ranked, 1).tolist() == [True, False, False]
    assert top_k_correct(labels, ranked, 2).tolist() == [True, True, False]
    assert top_k_correct(labels, ranked, 3).tolist() == [True, True, False]
    with pytest.raises(ValueError):
        top_k_correct(labels, ranked, 0)


# --- McNemar -----------------------------------------------------------------------------------------------------


def exact_two_sided(b, c):
    """2 · P(X <= min(b, c)) for X ~ Bin(b + c, 1/2), in exact fractions, capped at 1."""
    n = b + c
    tail = Fraction(sum(math.comb(n, i) for i in range(min(b, c) + 1)), 2**n)
    return float(min(Fraction(1), 2 * tail))


@pytest.mark.parametrize("b, c", [(0, 1), (1, 0), (0, 5), (1, 5), (2, 3), (3, 3), (4, 3), (10, 25), (0, 60), (47, 81)])
def test_mcnemar_equals_scipy_binomtest_and_the_exact_sum(b, c):
    p = mcnemar_exact(b, c)
    assert p == pytest.approx(scipy.stats.binomtest(min(b, c), b + c, 0.5).pvalue, rel=1e-9)
    assert p == pytest.approx(exact_two_sided(b, c), rel=1e-9)


def test_mcnemar_with_no_discordant_pair_is_1():
    assert mcnemar_exact(0, 0) == 1.0
    with pytest.raises(ValueError):
        mcnemar_exact(-1, 2)


@given(st.integers(0, 500), st.integers(0, 500))
@example(0, 0)
@example(0, 500)
def test_mcnemar_p_lies_in_0_1_and_is_symmetric(b, c):
    p = mcnemar_exact(b, c)
    assert 0.0 < p <= 1.0
    assert p == mcnemar_exact(c, b)


def test_agreement_tabulates_both_models_and_lists_the_discordant_cases():
    a = [True, True, False, False, True, False, True]
    b = [True, False, True, False, False, False, True]
    result = agreement(a, b)
    assert (result.both_right, result.only_a_right, result.only_b_right, result.both_wrong) == (2, 2, 1, 2)
    assert (result.only_a_cases, result.only_b_cases) == ((1, 4), (2,))
    assert (result.total, result.agreeing) == (7, 4)
    assert result.p_value == pytest.approx(scipy.stats.binomtest(1, 3, 0.5).pvalue)


def test_agreement_when_the_models_never_differ():
    right = agreement([True] * 5, [True] * 5)
    wrong = agreement([False] * 5, [False] * 5)
    assert (right.both_right, right.p_value) == (5, 1.0)
    assert (wrong.both_wrong, wrong.only_a_right, wrong.only_b_right, wrong.p_value) == (5, 0, 0, 1.0)
    with pytest.raises(ValueError, match="same cases"):
        agreement([True], [True, False])


# --- calibration -------------------------------------------------------------------------------------------------

HAND_CONFIDENCES = [0.0, 0.1, 0.2, 0.25, 0.5, 0.55, 0.6, 0.9, 0.95, 1.0]
HAND_CORRECT = [False, False, True, False, True, False, True, True, True, False]


def test_ece_equals_a_hand_computation_with_right_closed_bins():
    """Five bins (0, .2], (.2, .4], ... (0 in the first): 0.2 sits in bin 0, 0.6 in bin 2, 1.0 in bin 4.

    bin 0: 0, .1, .2  right 1 of 3   |1/3 - .1|    = .233333...
    bin 1: .25        right 0 of 1   |0 - .25|     = .25
    bin 2: .5, .55, .6 right 2 of 3  |2/3 - .55|   = .116666...
    bin 3: empty
    bin 4: .9, .95, 1  right 2 of 3  |2/3 - .95|   = .283333...
    ECE = (3·.233333 + 1·.25 + 3·.116667 + 3·.283333) / 10 = (.7 + .25 + .35 + .85) / 10 = 0.215
    """
    result = calibration(HAND_CONFIDENCES, HAND_CORRECT, bins=5)
    assert [b.count for b in result.bins] == [3, 1, 3, 0, 3]
    assert [b.confidence for b in result.bins] == pytest.approx([0.1, 0.25, 0.55, None, 0.95])
    assert [b.accuracy for b in result.bins] == pytest.approx([1 / 3, 0.0, 2 / 3, None, 2 / 3])
    assert [(b.low, b.high) for b in result.bins][1] == pytest.approx((0.2, 0.4))
    assert result.ece == pytest.approx(0.215, abs=1e-12) and result.count == 10


def guo_reference_ece(confidences, correct, bins):
    """The loop of Guo et al.'s published code: in_bin = conf > lower & conf <= upper (0 joined to the first)."""
    conf, right = np.asarray(confidences, float), np.asarray(correct, bool)
    edges = np.linspace(0, 1, bins + 1)
    ece = 0.0
    for i, (lower, upper) in enumerate(zip(edges[:-1], edges[1:])):
        in_bin = (conf > lower) & (conf <= upper) | ((conf == 0) if i == 0 else False)
        if in_bin.any():
            ece += in_bin.mean() * abs(right[in_bin].mean() - conf[in_bin].mean())
    return ece


@pytest.mark.parametrize("bins", [1, 5, 10, 15])
def test_ece_equals_guo_et_al_reference_loop_on_random_cases(bins):
    generator = np.random.default_rng(bins)
    conf = np.concatenate([generator.random(300), np.linspace(0, 1, bins + 1)])  # the edges themselves too
    right = generator.random(conf.size) < conf
    assert calibration(conf, right, bins).ece == pytest.approx(guo_reference_ece(conf, right, bins), abs=1e-12)
    assert sum(b.count for b in calibration(conf, right, bins).bins) == conf.size


def test_a_calibrated_set_has_ece_0_and_an_all_wrong_one_its_mean_confidence():
    # each bin's accuracy equals its confidence: 0.75 right 3 of 4, 0.25 right 1 of 4, 1.0 always right
    calibrated = calibration([0.75] * 4 + [0.25] * 4 + [1.0] * 2, [1, 1, 1, 0, 1, 0, 0, 0, 1, 1])
    assert calibrated.ece == pytest.approx(0.0, abs=1e-15)
    conf = [0.3, 0.55, 0.9, 0.99, 0.12]
    assert calibration(conf, [False] * 5).ece == pytest.approx(np.mean(conf), abs=1e-15)
    assert calibration([], []).ece is None


def test_calibration_refuses_what_is_not_a_probability():
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        calibration([0.5, 1.2], [True, False])
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        calibration([0.5, float("nan")], [True, False])
    with pytest.raises(ValueError, match="one of each"):
        calibration([0.5], [True, False])


# --- confusion, per class ----------------------------------------------------------------------------------------

CLASSES = ["cat", "dog", "fox", "owl"]


def random_cases(seed, n=400):
    """Labels from CLASSES, a few outside the set ("emu") or missing; predictions also outside ("yak", "emu")."""
    generator = np.random.default_rng(seed)
    truth = [str(x) for x in generator.choice(CLASSES + ["emu"], n, p=[0.3, 0.25, 0.2, 0.15, 0.1])]
    truth = [None if generator.random() < 0.1 else label for label in truth]
    predicted = [str(x) for x in generator.choice(CLASSES + ["yak", "emu"], n)]
    return truth, predicted


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_confusion_equals_sklearn_with_an_other_column_and_lists_each_cells_cases(seed):
    truth, predicted = random_cases(seed)
    label_set = ["owl", "cat", "fox", "dog"]  # the caller's order, not sorted
    result = confusion(truth, predicted, label_set)
    kept = [i for i, label in enumerate(truth) if label in label_set]
    mapped = [predicted[i] if predicted[i] in label_set else "__other__" for i in kept]
    reference = confusion_matrix([truth[i] for i in kept], mapped, labels=label_set + ["__other__"])
    assert result.counts.tolist() == reference[:-1].tolist()
    assert result.columns == (*label_set, OTHER)
    assert result.unlabelled == truth.count(None)
    assert result.outside == truth.count("emu") and result.counts.sum() == len(kept)
    for row, label in enumerate(label_set):
        for column, name in enumerate(result.columns):
            expected = [
                i
                for i in kept
                if truth[i] == label and (predicted[i] == name if name != OTHER else predicted[i] not in label_set)
            ]
            assert list(result.cases[row][column]) == expected


def test_confusion_refuses_a_label_named_twice_and_unequal_lengths():
    with pytest.raises(ValueError, match="'cat' more than once"):
        confusion(["cat"], ["cat"], ["cat", "dog", "cat"])
    with pytest.raises(ValueError, match="one of each per case"):
        confusion(["cat", "dog"], ["cat"], ["cat", "dog"])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_per_class_equals_sklearn_precision_and_recall(seed):
    truth, predicted = random_cases(seed)
    truth[:5] = ["bee"] * 5  # a class of the set with cases that nothing predicts: precision None, recall 0
    label_set = ["cat", "dog", "fox", "owl", "bee", "ant"]  # "ant": no case, never predicted
    kept = [i for i, label in enumerate(truth) if label is not None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns of the 0/0 it turns into nan
        precision, recall, _, support = precision_recall_fscore_support(
            [truth[i] for i in kept], [predicted[i] for i in kept], labels=label_set, zero_division=np.nan
        )
    result = per_class(truth, predicted, label_set)
    assert [c.label for c in result] == label_set
    assert [c.support for c in result] == support.tolist()
    assert [c.precision for c in result] == [None if np.isnan(p) else pytest.approx(p) for p in precision]
    assert [c.recall for c in result] == [None if np.isnan(r) else pytest.approx(r) for r in recall]
    assert result[4].precision is None and result[4].recall == 0.0
    assert result[5].precision is None and result[5].recall is None and result[5].support == 0
    for c in result:
        assert c.correct == sum(truth[i] == predicted[i] == c.label for i in kept)
        assert (c.accuracy.low, c.accuracy.high) == wilson_interval(c.correct, c.support)


def test_no_labelled_case_gives_empty_counts_not_an_error():
    from generator.evaluate.statistics import confusion, per_class

    found = confusion([None, None], ["cat", "dog"], [])
    assert found.counts.shape == (0, 1) and found.unlabelled == 2 and found.columns == ("other",)
    assert per_class([None], ["cat"], []) == ()
