"""The statistics of a whole set of cases, from the predictions alone: no model runs here.

Every case has each model's prediction; some have a true label (a class name). Accuracy comes with its Wilson
interval, two models are compared with the exact McNemar test, confidence with a reliability diagram and the ECE,
and the classes with a confusion matrix and per-class precision and recall. The records keep the indices of the
cases behind every count, so that a page can list exactly the images a number is made of.

Conventions: a case is an index into the sequences the caller hands over (one entry per case); a label of None is
no label, and such a case is left out of every statistic that needs one (and counted, so a page can say so).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from math import sqrt

import numpy as np
from numpy.typing import ArrayLike, NDArray

OTHER = "other"  # the confusion matrix's last column: predicted classes outside the label set
ECE_BINS = 15  # Guo et al. 2017's reliability diagrams and ECE


# --- proportions: accuracy with its interval -----------------------------------------------------------------


def normal_quantile(confidence: float) -> float:
    """z such that a standard normal lies in [-z, z] with probability `confidence` (1.959964 for 0.95)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    import scipy.stats  # imported on first use, as the measures do

    return float(scipy.stats.norm.ppf(0.5 + confidence / 2.0))


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (Wilson 1927; Brown, Cai & DasGupta 2001).

    With p = k/n and z the normal quantile of `confidence`:
        centre = (p + z²/2n) / (1 + z²/n),  half = z / (1 + z²/n) · sqrt(p(1-p)/n + z²/4n²),
    the interval is [centre - half, centre + half]. It always lies in [0, 1]; it touches 0 exactly when k = 0 and
    1 exactly when k = n (set exactly, where rounding would leave 1e-17 over or under). Unlike the Wald interval it
    neither collapses at k = 0 or k = n nor leaves [0, 1].
    No trials (n = 0) say nothing about the proportion: the interval is all of [0, 1].
    """
    if trials < 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials, got {successes} successes of {trials} trials")
    z = normal_quantile(confidence)
    if trials == 0:
        return 0.0, 1.0
    n, p, z2 = float(trials), successes / trials, z * z
    centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n)
    half = z / (1.0 + z2 / n) * sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n))
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


@dataclass(frozen=True)
class Accuracy:
    """`correct` of `total` cases right; `value` = correct/total (None with no cases), [low, high] its interval."""

    correct: int
    total: int
    value: float | None
    low: float
    high: float
    confidence: float  # the interval's level


def accuracy(correct_flags: ArrayLike, confidence: float = 0.95) -> Accuracy:
    """The share of True flags, with its Wilson interval (`wilson_interval`): top-1 or top-k, per class or overall."""
    flags = as_flags(correct_flags, "correct_flags")
    correct, total = int(flags.sum()), int(flags.size)
    low, high = wilson_interval(correct, total, confidence)
    return Accuracy(correct, total, correct / total if total else None, low, high, confidence)


def labelled_cases(true_labels: Sequence[str | None]) -> NDArray[np.intp]:
    """The indices of the cases with a label, in order: the cases every labelled statistic is computed over."""
    return np.array([i for i, label in enumerate(true_labels) if label is not None], dtype=np.intp)


def top_k_correct(true_labels: Sequence[str | None], ranked: Sequence[Sequence[str]], k: int) -> NDArray[np.bool_]:
    """For each labelled case (`labelled_cases`' order): is its label among the first k of its ranked classes?

    `ranked[i]` is case i's classes, most probable first; k = 1 is top-1. A case ranking fewer than k classes is
    judged on those it ranks.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    check_lengths(true_labels, ranked=ranked)
    return np.array([label in ranked[i][:k] for i, label in enumerate(true_labels) if label is not None], dtype=bool)


# --- two models on the same cases ----------------------------------------------------------------------------


def mcnemar_exact(only_a_right: int, only_b_right: int) -> float:
    """The exact two-sided McNemar p-value: a binomial test on the discordant pairs (McNemar 1947; Fagerland,
    Lydersen & Laake 2013).

    Under "the two models are equally accurate" each of the b + c cases where exactly one model is right is A's
    with probability 1/2, so with X ~ Bin(b + c, 1/2):  p = min(1, 2 · P(X <= min(b, c))).
    No discordant pair (b = c = 0, the models agree on every case) gives p = 1. The p-value is symmetric in
    (b, c) and positive in exact arithmetic; beyond about 1,000 discordant pairs all one way it underflows to 0.0.
    """
    if only_a_right < 0 or only_b_right < 0:
        raise ValueError(f"discordant counts must be >= 0, got {only_a_right} and {only_b_right}")
    discordant = only_a_right + only_b_right
    if discordant == 0:
        return 1.0
    import scipy.stats

    tail = float(scipy.stats.binom.cdf(min(only_a_right, only_b_right), discordant, 0.5))
    return min(1.0, 2.0 * tail)


@dataclass(frozen=True)
class Agreement:
    """Two models' correctness on the same labelled cases: the 2 x 2 table, McNemar's p, the discordant cases."""

    both_right: int
    only_a_right: int
    only_b_right: int
    both_wrong: int
    p_value: float  # mcnemar_exact(only_a_right, only_b_right)
    only_a_cases: tuple[int, ...]  # positions in the flags handed over
    only_b_cases: tuple[int, ...]

    @property
    def total(self) -> int:
        return self.both_right + self.only_a_right + self.only_b_right + self.both_wrong

    @property
    def agreeing(self) -> int:
        """Cases where both are right or both wrong."""
        return self.both_right + self.both_wrong


def agreement(a_correct: ArrayLike, b_correct: ArrayLike) -> Agreement:
    """Model A's and model B's correctness flags (one per case, the same cases) tabulated and tested."""
    a, b = as_flags(a_correct, "a_correct"), as_flags(b_correct, "b_correct")
    if a.shape != b.shape:
        raise ValueError(f"a_correct has {a.size} cases but b_correct has {b.size}: pass both on the same cases")
    only_a, only_b = np.flatnonzero(a & ~b), np.flatnonzero(b & ~a)
    return Agreement(
        both_right=int((a & b).sum()),
        only_a_right=int(only_a.size),
        only_b_right=int(only_b.size),
        both_wrong=int((~a & ~b).sum()),
        p_value=mcnemar_exact(int(only_a.size), int(only_b.size)),
        only_a_cases=tuple(int(i) for i in only_a),
        only_b_cases=tuple(int(i) for i in only_b),
    )


# --- calibration ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CalibrationBin:
    """One bar of the reliability diagram: confidences in (low, high] (the first bin also holds 0)."""

    low: float
    high: float
    count: int
    confidence: float | None  # mean confidence of its cases; None for an empty bin
    accuracy: float | None  # share of its cases that are right; None for an empty bin


@dataclass(frozen=True)
class Calibration:
    """The reliability diagram's bins and the expected calibration error over `count` cases (None with none)."""

    bins: tuple[CalibrationBin, ...]
    count: int
    ece: float | None


def calibration(confidences: ArrayLike, correct: ArrayLike, bins: int = ECE_BINS) -> Calibration:
    """Reliability diagram and ECE (Naeini et al. 2015; Guo, Pleiss, Sun & Weinberger 2017, section 2).

    B equal-width bins on [0, 1], right-closed as in Guo et al.'s code: bin i holds the confidences in
    (i/B, (i+1)/B], the first bin also 0. With n_b cases in bin b, acc_b their share right and conf_b their mean
    confidence, over N cases:  ECE = sum_b (n_b / N) · |acc_b - conf_b|; an empty bin adds nothing.
    """
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    conf = np.asarray(confidences, dtype=np.float64).ravel()
    right = as_flags(correct, "correct")
    if conf.shape != right.shape:
        raise ValueError(f"{conf.size} confidences but {right.size} correctness flags: pass one of each per case")
    if conf.size and not (np.all(conf >= 0.0) and np.all(conf <= 1.0)):  # also refuses NaN
        raise ValueError("confidences must lie in [0, 1] (a probability, not a logit)")
    edges = np.linspace(0.0, 1.0, bins + 1)
    # the number of inner edges strictly below c: the i with edges[i] < c <= edges[i + 1], and 0 for c = 0
    index = np.searchsorted(edges[1:-1], conf, side="left")
    found, error = [], 0.0
    for i in range(bins):
        members = index == i
        count = int(members.sum())
        mean_conf = float(conf[members].mean()) if count else None
        mean_acc = float(right[members].mean()) if count else None
        if mean_conf is not None and mean_acc is not None:
            error += count / conf.size * abs(mean_acc - mean_conf)
        found.append(CalibrationBin(float(edges[i]), float(edges[i + 1]), count, mean_conf, mean_acc))
    return Calibration(tuple(found), int(conf.size), error if conf.size else None)


# --- classes: confusion and per-class statistics --------------------------------------------------------------


@dataclass(frozen=True)
class Confusion:
    """Counts of (true class, predicted class) over the labelled cases whose label is in the label set.

    Rows are `labels` in the caller's order; columns are the same labels, then OTHER (a prediction outside the
    set), always last. `cases[row][column]` are the indices of the cases in that cell, ascending.
    """

    labels: tuple[str, ...]
    counts: NDArray[np.int64]  # len(labels) x (len(labels) + 1)
    cases: tuple[tuple[tuple[int, ...], ...], ...]
    unlabelled: int  # cases with no label: not counted
    outside: int  # labelled cases whose label is not in the set: not counted

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.labels, OTHER)


def confusion(true_labels: Sequence[str | None], predicted: Sequence[str], label_set: Sequence[str]) -> Confusion:
    """The confusion matrix, rows true and columns predicted, with each cell's cases (see `Confusion`)."""
    labels = check_label_set(label_set)
    check_lengths(true_labels, predicted=predicted)
    row_of = {label: row for row, label in enumerate(labels)}
    cells: list[list[list[int]]] = [[[] for _ in range(len(labels) + 1)] for _ in labels]
    unlabelled = outside = 0
    for case, (label, guess) in enumerate(zip(true_labels, predicted)):
        if label is None:
            unlabelled += 1
        elif label not in row_of:
            outside += 1
        else:
            cells[row_of[label]][row_of.get(guess, len(labels))].append(case)
    counts = np.array([[len(cell) for cell in row] for row in cells], dtype=np.int64)
    counts = counts.reshape(len(labels), len(labels) + 1)  # no label: a 0 x 1 matrix (the "other" column alone)
    cases = tuple(tuple(tuple(cell) for cell in row) for row in cells)
    return Confusion(labels, counts, cases, unlabelled, outside)


@dataclass(frozen=True)
class ClassStatistics:
    """One class over the labelled cases: its accuracy (= recall, with interval) and the precision of its calls."""

    label: str
    accuracy: Accuracy  # correct of support: the cases of this class predicted as it
    predicted: int  # labelled cases (of any true class) predicted as this class
    precision: float | None  # accuracy.correct / predicted; None when never predicted

    @property
    def support(self) -> int:
        return self.accuracy.total

    @property
    def correct(self) -> int:
        return self.accuracy.correct

    @property
    def recall(self) -> float | None:
        """correct / support; None for a class with no case."""
        return self.accuracy.value


def per_class(
    true_labels: Sequence[str | None], predicted: Sequence[str], label_set: Sequence[str], confidence: float = 0.95
) -> tuple[ClassStatistics, ...]:
    """Per label of the set, in its order: support, correct, recall (= the class's accuracy) and precision.

    Over every case with a label, its label in the set or not (as sklearn's precision_recall_fscore_support with
    `labels=`): recall = TP / (cases of the class), precision = TP / (cases predicted as the class). Where a
    denominator is 0 the value is None, not 0: a class never predicted has no precision.
    """
    labels = check_label_set(label_set)
    check_lengths(true_labels, predicted=predicted)
    pairs = [(label, guess) for label, guess in zip(true_labels, predicted) if label is not None]
    truth = np.array([label for label, _ in pairs], dtype=object)
    guesses = np.array([guess for _, guess in pairs], dtype=object)
    found = []
    for label in labels:
        is_class, called = truth == label, guesses == label
        hits, calls = int((is_class & called).sum()), int(called.sum())
        found.append(
            ClassStatistics(label, accuracy(called[is_class], confidence), calls, hits / calls if calls else None)
        )
    return tuple(found)


# --- checks of what the caller hands over ----------------------------------------------------------------------


def as_flags(values: ArrayLike, name: str) -> NDArray[np.bool_]:
    """A flat boolean array; numbers other than 0 and 1 are refused rather than read as True."""
    array = np.asarray(values).ravel()
    if array.dtype != np.bool_ and array.size and not np.isin(array, (0, 1)).all():
        stray = array[~np.isin(array, (0, 1))][0]
        raise ValueError(f"{name} must hold booleans (or 0 and 1), got {stray!r}")
    return array.astype(bool)


def check_label_set(label_set: Sequence[str]) -> tuple[str, ...]:
    labels = tuple(label_set)
    repeated = sorted(label for label, times in Counter(labels).items() if times > 1)
    if repeated:
        raise ValueError(f"the label set names {', '.join(map(repr, repeated))} more than once: name each class once")
    return labels


def check_lengths(true_labels: Sequence[str | None], **others: Sequence[object]) -> None:
    for name, values in others.items():
        if len(values) != len(true_labels):
            raise ValueError(f"{len(true_labels)} true labels but {len(values)} {name}: pass one of each per case")
