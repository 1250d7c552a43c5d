"""Number formatting shared by pages and observations.

"—" marks a value that was not computed; "n/a" one that was computed but is undefined (NaN: a rank
correlation of a constant map, for instance).
"""

import math

NOT_COMPUTED = "—"
UNDEFINED = "n/a"


def missing(value):
    if value is None:
        return NOT_COMPUTED
    if isinstance(value, float) and math.isnan(value):
        return UNDEFINED
    return None


def pct(value, digits=1):
    return missing(value) or f"{100 * value:.{digits}f}%"


def num(value, digits=3):
    return missing(value) or f"{value:.{digits}f}"


def mean(values):
    """Mean of the values that are numbers; None when there is none (nothing was measured)."""
    numbers = [v for v in values if v is not None and not math.isnan(v)]
    if numbers:
        return sum(numbers) / len(numbers)
    return float("nan") if any(v is not None for v in values) else None
