"""The measurement tables of the case pages and the overview, from the registered measures' columns.

A column appears when at least one of its cells has a value: a method or a measure that is off leaves no
column, and a table with no column of numbers is left out altogether. A measure's columns go to its own table
(laid out by its own case-page template) or to the shared one, whose heading names each measure's topic.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from markupsafe import Markup

from generator.measure import MEASURES
from generator.measure.base import RANDOM_MAP, MetricColumn
from generator.render.pages_format import UNDEFINED, mean, with_reason
from generator.utils.tables import Cell, Column, Table, table

if TYPE_CHECKING:
    from generator.measure.base import Measure, TargetMetrics


def measure_columns(
    measure: type[Measure], records: Sequence[TargetMetrics], baseline: bool = True
) -> list[MetricColumn]:
    """A measure's columns for every map name the records hold (without the random map: `baseline` False)."""
    keys = [key for key in measure.keys(records) if baseline or key != RANDOM_MAP]
    return measure.columns(records, keys)


@dataclass(frozen=True)
class ColumnGroup:
    """The columns of one table: a measure's own (`table` its name) or the shared one (SHARED_TABLE)."""

    table: str
    columns: list[MetricColumn]
    topics: list[str]  # the topic of each measure with a column here that has a value (the shared table's heading)


def column_groups(records: Sequence[TargetMetrics], baseline: bool = True) -> list[ColumnGroup]:
    """The columns of every table in page order (each table's own, the random map's too unless `baseline` is
    False); the shared table stands where its first measure does."""
    groups: dict[str, ColumnGroup] = {}
    for measure in MEASURES.values():
        group = groups.setdefault(measure.table, ColumnGroup(measure.table, [], []))
        columns = measure_columns(measure, records, baseline)
        group.columns.extend(columns)
        if present(columns, records):
            group.topics.append(measure.topic or measure.name)
    return list(groups.values())


def shared_heading(topics: Sequence[str]) -> str:
    """The shared table's heading: the topic of each measure it shows a column of, in page order."""
    text = ", ".join(topics)
    return text[:1].upper() + text[1:]


def present(columns: Iterable[MetricColumn], records: Sequence[TargetMetrics]) -> list[MetricColumn]:
    return [c for c in columns if any(c.value(r) is not None for r in records)]


def cell(column: MetricColumn, record: TargetMetrics) -> Markup:
    text = formatted(column, column.value(record))
    if column.flag is not None and column.flag(record):
        text += " ⚠"
    return text


def formatted(column: MetricColumn, value: float | None) -> Markup:
    text = column.number(value)
    return with_reason(text, column.undefined if text == UNDEFINED else None)


def per_target_table(
    label_header: tuple[str, ...],
    rows: Sequence[tuple[tuple[Cell, ...], TargetMetrics]],
    columns: Iterable[MetricColumn],
) -> Table | None:
    """Rows of (label cells, TargetMetrics): one line per model and target. None when nothing was measured."""
    shown = present(columns, [metrics for _, metrics in rows])
    if not shown:
        return None
    labels_then_numbers: list[Column] = [*(Column(label) for label in label_header), *shown]
    return table(labels_then_numbers, [(*labels, *(cell(c, metrics) for c in shown)) for labels, metrics in rows])


def case_tables(rows: Sequence[tuple[tuple[Cell, ...], TargetMetrics]]) -> dict[str, tuple[Table | None, str]]:
    """{table name: (the case page's table, None when nothing of it was measured; its heading)}, in page order."""
    records = [metrics for _, metrics in rows]
    return {
        group.table: (per_target_table(("Model", "Target"), rows, group.columns), shared_heading(group.topics))
        for group in column_groups(records)
    }


def overview_columns(records: Sequence[TargetMetrics]) -> list[MetricColumn]:
    """The headline columns of the overview's case table that have a value in `records` (no random baseline)."""
    columns = [c for group in column_groups(records, baseline=False) for c in group.columns]
    return present([c for c in columns if c.in_overview], records)


def means_tables(own_metrics: Sequence[tuple[Cell, Sequence[TargetMetrics]]]) -> tuple[Table, ...]:
    """Per model, the mean over cases of each measurement of its own top-1 explanation.

    `own_metrics` is [(model label cell, [TargetMetrics, ...])]; empty cells of a shown column read "—".
    """
    records = [m for _, group in own_metrics for m in group]
    tables: list[Table] = []
    for group in column_groups(records):
        shown = present(group.columns, records)
        if not shown:
            continue
        rows = [
            (label, *(formatted(c, mean([c.value(m) for m in group])) for c in shown)) for label, group in own_metrics
        ]
        tables.append(table([Column("Model"), *shown], rows))
    return tuple(tables)
