"""Cell and text formatting shared by pages and observations (the plain numbers: generator/utils/numbers.py; cells
and tables: generator/utils/cells.py)."""

from __future__ import annotations

from markupsafe import Markup

from generator.utils.cells import markdown_text, with_reason  # noqa: F401 (re-exported)
from generator.utils.numbers import NOT_COMPUTED, UNDEFINED, is_number, mean, missing, num, pct  # noqa: F401 (re-exported)


def num_cell(value: float | None, digits: int = 3) -> Markup:
    return with_reason(num(value, digits))


def pct_cell(value: float | None, digits: int = 1) -> Markup:
    return with_reason(pct(value, digits))
