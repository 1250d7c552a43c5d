"""Numbers as the pages print them, below every stage that shows one (a measure declares its columns' formats).

"—" marks a value that was not computed; "n/a" one that was computed but is undefined (NaN: a rank
correlation of a constant map, for instance).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeGuard

NOT_COMPUTED = "—"
UNDEFINED = "n/a"


def missing(value: float | None) -> str | None:
    if value is None:
        return NOT_COMPUTED
    if isinstance(value, float) and math.isnan(value):
        return UNDEFINED
    return None


def pct(value: float | None, digits: int = 1) -> str:
    if value is None:
        return NOT_COMPUTED
    return missing(value) or f"{100 * value:.{digits}f}%"


def num(value: float | None, digits: int = 3) -> str:
    return missing(value) or f"{value:.{digits}f}"


def mean(values: Sequence[float | None]) -> float | None:
    """Mean of the values that are numbers; None when there is none (nothing was measured)."""
    numbers = [v for v in values if v is not None and not math.isnan(v)]
    if numbers:
        return sum(numbers) / len(numbers)
    return float("nan") if any(v is not None for v in values) else None


def is_number(value: float | None) -> TypeGuard[float]:
    """A measured value: not None and not NaN (the one number unequal to itself)."""
    return value is not None and value == value
