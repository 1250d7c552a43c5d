"""Number formatting shared by pages and observations.

"—" marks a value that was not computed; "n/a" one that was computed but is undefined (NaN: a rank
correlation of a constant map, for instance).
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, TypeGuard

from markupsafe import Markup

if TYPE_CHECKING:
    from generator.measure.metrics import Agreement

MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")
NOT_COMPUTED = "—"
UNDEFINED = "n/a"
WHY = {
    NOT_COMPUTED: "not computed for this row",
    UNDEFINED: "undefined: one map or ranking is constant, so it ranks nothing (no rank correlation, no top regions)",
}


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


def with_reason(text: str, why: str | None = None) -> Markup:
    """A table cell: a missing value ("—", "n/a") carries its reason as a tooltip, a number stays as it is."""
    if text not in WHY:
        return Markup.escape(text)
    reason = html.escape(why or WHY[text], quote=True)
    return Markup(f'<abbr title="{reason}">{text}</abbr>')


def num_cell(value: float | None, digits: int = 3) -> Markup:
    return with_reason(num(value, digits))


def pct_cell(value: float | None, digits: int = 1) -> Markup:
    return with_reason(pct(value, digits))


def is_number(value: float | None) -> TypeGuard[float]:
    """A measured value: not None and not NaN (the one number unequal to itself)."""
    return value is not None and value == value


def shown_k(agreements: Iterable[Agreement]) -> str:
    """The k that a heading or sentence names for these Agreements: theirs when they share one, else "k"."""
    ks = {agreement.k for agreement in agreements}
    return str(ks.pop()) if len(ks) == 1 else "k"


def markdown_text(value: object) -> Markup:
    """Plain text that shows literally in Markdown: HTML-escaped, Markdown punctuation backslashed."""
    if value is None:
        return Markup("")
    text = " ".join(str(value).split())
    return Markup(MARKDOWN_SPECIALS.sub(r"\\\1", html.escape(text, quote=False)))
