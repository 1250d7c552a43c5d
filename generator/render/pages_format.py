"""Cell and text formatting shared by pages and observations (the plain numbers: generator/utils/numbers.py)."""

from __future__ import annotations

import html
import re

from markupsafe import Markup

from generator.utils.numbers import NOT_COMPUTED, UNDEFINED, is_number, mean, missing, num, pct  # noqa: F401 (re-exported)

MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")
WHY = {
    NOT_COMPUTED: "not computed for this row",
    UNDEFINED: "undefined: one map or ranking is constant, so it ranks nothing (no rank correlation, no top regions)",
}


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


def markdown_text(value: object) -> Markup:
    """Plain text that shows literally in Markdown: HTML-escaped, Markdown punctuation backslashed."""
    if value is None:
        return Markup("")
    text = " ".join(str(value).split())
    return Markup(MARKDOWN_SPECIALS.sub(r"\\\1", html.escape(text, quote=False)))
