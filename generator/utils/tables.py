"""The one way a page gets a table: columns that carry their header, direction, alignment and format.

Python decides what a table shows (its columns and each row's values); `templates/_table.md.j2` only lays a
`Table` out. A column's arrow comes from its direction (`higher_is_better`), never typed by hand. This module
sits at the bottom of the package because measures declare their own columns (`MetricColumn`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any

from markupsafe import Markup

Cell = str | Markup  # a Markdown table cell
LEFT = "---"  # Markdown's alignment rows: text reads from the left, numbers line up on the right
RIGHT = "--:"
CENTRE = ":-:"


def as_given(value: Any) -> Any:
    """A cell as Python built it: Markup stays as it is; plain text the template escapes for HTML."""
    return value


@dataclass(frozen=True)
class Column:
    """One column of a table. `higher_is_better` None: the column has no direction and its header no arrow."""

    label: str
    _: KW_ONLY
    higher_is_better: bool | None = None
    align: str = LEFT
    cell: Callable[[Any], Cell] = as_given  # a row's value -> its Markdown cell (a measure's number format is its own)

    @property
    def header(self) -> str:
        """The label with its direction: ↑ where higher is better, ↓ where lower is."""
        if self.higher_is_better is None:
            return self.label
        return self.label + (" ↑" if self.higher_is_better else " ↓")  # `+` keeps a Markup label Markup


@dataclass(frozen=True)
class Table:
    """A Markdown table as `_table.md.j2` lays it out: header cells, alignment per column, rows of cells."""

    header: tuple[str, ...]
    align: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


def table(columns: Sequence[Column], rows: Iterable[Sequence[Any]]) -> Table:
    """The table of `columns` whose rows hold one value per column, each written by its column's `cell`."""
    return Table(
        header=tuple(c.header for c in columns),
        align=tuple(c.align for c in columns),
        rows=tuple(tuple(c.cell(value) for c, value in zip(columns, row, strict=True)) for row in rows),
    )
