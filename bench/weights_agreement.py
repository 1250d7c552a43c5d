"""How far two LIME explanations of one label agree: the measures both benchmarks report."""

import numpy as np

TOP = 5  # the superpixels a figure highlights (num_features) and the rule counts


def spearman(a, b):
    """Spearman rank correlation of two weight vectors over the same superpixels."""
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def top_overlap(a, b, k=TOP):
    """How many of the k highest-weighted superpixels the two vectors share."""
    return len(set(np.argsort(-a, kind="stable")[:k]) & set(np.argsort(-b, kind="stable")[:k]))
