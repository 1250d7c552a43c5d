"""Markdown table cells, below every stage that lays a table out (a measure builds its own section's tables).

A cell is Markdown already: text that must show literally goes through `markdown_text`; a missing value ("—",
"n/a") through `with_reason`, which gives it its reason as a tooltip.
"""

from __future__ import annotations

import html
import re

from markupsafe import Markup

from generator.utils.numbers import NOT_COMPUTED, UNDEFINED

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


def markdown_text(value: object) -> Markup:
    """Plain text that shows literally in Markdown: HTML-escaped, Markdown punctuation backslashed."""
    if value is None:
        return Markup("")
    text = " ".join(str(value).split())
    return Markup(MARKDOWN_SPECIALS.sub(r"\\\1", html.escape(text, quote=False)))
