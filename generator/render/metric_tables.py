"""The measurement tables of the case pages and the overview, with a column only for what was measured.

A column appears when at least one of its cells has a value: a method or a metric that is off leaves no
column, and a table with no column of numbers is left out altogether.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import TYPE_CHECKING

from markupsafe import Markup

from generator.explain import EXPLAINERS, method_title
from generator.explain.base import agreement_pair
from generator.render.pages_format import UNDEFINED, mean, num, pct, shown_k, with_reason

if TYPE_CHECKING:
    from generator.measure.measurer import TargetMetrics

Cell = str | Markup  # a Markdown table cell


@dataclass(frozen=True)
class MetricColumn:
    measure: str  # what the column measures: the method's title and the measure
    value: Callable[[TargetMetrics], float | None]  # None: not measured
    format: Callable[[float | None], str] = num
    flag: Callable[[TargetMetrics], bool] | None = None  # mark the cell with a warning sign
    undefined: str | None = None  # why this measure can be undefined (NaN), for the cell's tooltip
    in_overview: bool = True  # a column of the overview's case table too (a headline number, not a detail)
    _: KW_ONLY
    higher_is_better: bool

    @property
    def header(self) -> str:
        """The measure with its direction: ↑ where higher is better, ↓ where lower is."""
        return f"{self.measure} {'↑' if self.higher_is_better else '↓'}"


@dataclass(frozen=True)
class Table:
    """A Markdown table: header cells, alignment per column, rows of cells that are already Markdown."""

    header: tuple[str, ...]
    align: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


def page_order(names: Iterable[str]) -> list[str]:
    """Methods in the registry's order, then the random baseline, then anything else by name."""
    order = [*EXPLAINERS, "random"]
    return sorted(names, key=lambda n: (order.index(n) if n in order else len(order), n))


def faithfulness_methods(target_metrics: Iterable[TargetMetrics]) -> list[str]:
    return page_order({name for m in target_metrics for name in m.faithfulness})


def faithfulness_columns(methods: Iterable[str]) -> list[MetricColumn]:
    def auc(method: str, curve: str) -> Callable[[TargetMetrics], float | None]:
        return lambda m: getattr(m.faithfulness[method], curve) if method in m.faithfulness else None

    return [
        MetricColumn(f"{method_title(method)} {what} AUC", auc(method, f"{what}_auc"), higher_is_better=higher)
        for what, higher in (("deletion", False), ("insertion", True))
        for method in methods
    ]


def road_methods(target_metrics: Iterable[TargetMetrics]) -> list[str]:
    return page_order({name for m in target_metrics for name in m.road})


def road_columns(methods: Iterable[str]) -> list[MetricColumn]:
    """Per map: its ROAD score (LeRF minus MoRF, the overview's headline), then the two curves' areas."""
    methods = list(methods)
    columns = [
        MetricColumn(f"{method_title(method)} ROAD score", per_method("road", method, "score"), higher_is_better=True)
        for method in methods
    ]
    for what, higher in (("MoRF", False), ("LeRF", True)):
        columns += [
            MetricColumn(
                f"{method_title(method)} ROAD {what}",
                per_method("road", method, f"{what.lower()}_auc"),
                in_overview=False,
                higher_is_better=higher,
            )
            for method in methods
        ]
    return columns


def methods_in(records: Iterable[TargetMetrics], field: str) -> list[str]:
    """The keys of one per-method field (concentration, stability, ...) found in any record, in page order."""
    return page_order({name for m in records for name in getattr(m, field)})


def per_method(field: str, method: str, attribute: str | None = None) -> Callable[[TargetMetrics], float | None]:
    def value(m: TargetMetrics) -> float | None:
        found = getattr(m, field).get(method)
        return found if attribute is None or found is None else getattr(found, attribute)

    return value


def focus_columns(records: Sequence[TargetMetrics]) -> list[MetricColumn]:
    columns = [
        MetricColumn(
            f"{method_title(method)} concentration",
            per_method("concentration", method),
            pct,
            undefined="undefined: the map has no positive value anywhere",
            higher_is_better=False,
        )
        for method in methods_in(records, "concentration")
    ]
    for pair in sorted({key for m in records for key in m.methods_agreement}):
        a, b = (method_title(name) for name in agreement_pair(pair))
        k = shown_k(m.methods_agreement[pair] for m in records if pair in m.methods_agreement)
        flat = f"undefined: {a} or {b} gives every region the same score (a map zero everywhere)"
        columns += [
            MetricColumn(
                f"{a} vs {b} ρ",
                per_method("methods_agreement", pair, "spearman"),
                lambda v: num(v, 2),
                undefined=flat,
                higher_is_better=True,
            ),
            MetricColumn(
                f"{a} vs {b} top-{k} overlap",
                per_method("methods_agreement", pair, "top_k_overlap"),
                lambda v: pct(v, 0),
                undefined=flat,
                in_overview=False,
                higher_is_better=True,
            ),
        ]
    for method in methods_in(records, "stability"):
        title = method_title(method)
        columns += [
            MetricColumn(
                f"{title} stability (Jaccard)",
                per_method("stability", method, "mean_jaccard"),
                lambda v: num(v, 2),
                flag=unstable_flag(method),
                higher_is_better=True,
            ),
            MetricColumn(
                f"{title} weight spread",
                per_method("stability", method, "weight_spread"),
                lambda v: num(v, 2),
                in_overview=False,
                higher_is_better=False,
            ),
        ]
    columns += [
        MetricColumn(
            f"{method_title(method)} sanity ρ",
            per_method("sanity", method),
            lambda v: num(v, 2),
            flag=sanity_flag(method),
            undefined="undefined: the map of the model or of its randomised copy is zero everywhere",
            higher_is_better=False,
        )
        for method in methods_in(records, "sanity")
    ]
    return columns


def unstable_flag(method: str) -> Callable[[TargetMetrics], bool]:
    """The stability column's warning: the method's map is unstable across seeds."""
    return lambda m: method in m.unstable


def sanity_flag(method: str) -> Callable[[TargetMetrics], bool]:
    """The sanity column's warning: the method's map barely changed under the sanity check."""
    return lambda m: m.sanity_flagged(method)


FOCUS_TOPICS = (
    ("concentration", "focus"),
    (" vs ", "agreement"),
    ("stability", "stability"),
    ("sanity", "sanity"),
)


def focus_heading(table: Table) -> str:
    """ "Focus, agreement, stability, sanity", naming only what the table shows."""
    topics = [topic for word, topic in FOCUS_TOPICS if any(word in header for header in table.header[2:])]
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
    text = column.format(value)
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
    return Table(
        header=(*label_header, *(c.header for c in shown)),
        align=(*("---" for _ in label_header), *("--:" for _ in shown)),
        rows=tuple((*labels, *(cell(c, metrics) for c in shown)) for labels, metrics in rows),
    )


@dataclass(frozen=True)
class CaseTables:
    """The case page's measurement tables, each None when nothing of it was measured."""

    faithfulness: Table | None  # deletion and insertion
    road: Table | None
    focus: Table | None  # focus, agreement, stability, sanity


def column_groups(records: Sequence[TargetMetrics]) -> tuple[list[MetricColumn], ...]:
    """The columns of the faithfulness, ROAD and focus tables (each table's own, random baseline included)."""
    return (
        faithfulness_columns(faithfulness_methods(records)),
        road_columns(road_methods(records)),
        focus_columns(records),
    )


def case_tables(rows: Sequence[tuple[tuple[Cell, ...], TargetMetrics]]) -> CaseTables:
    records = [metrics for _, metrics in rows]
    return CaseTables(*(per_target_table(("Model", "Target"), rows, group) for group in column_groups(records)))


def overview_columns(records: Sequence[TargetMetrics]) -> list[MetricColumn]:
    """The headline columns of the overview's case table that have a value in `records` (no random baseline)."""
    methods = [name for name in faithfulness_methods(records) if name != "random"]
    road = [name for name in road_methods(records) if name != "random"]
    columns = faithfulness_columns(methods) + road_columns(road) + focus_columns(records)
    return present([c for c in columns if c.in_overview], records)


def means_tables(own_metrics: Sequence[tuple[Cell, Sequence[TargetMetrics]]]) -> tuple[Table, ...]:
    """Per model, the mean over cases of each measurement of its own top-1 explanation.

    `own_metrics` is [(model label cell, [TargetMetrics, ...])]; empty cells of a shown column read "—".
    """
    records = [m for _, group in own_metrics for m in group]
    tables: list[Table] = []
    for columns in column_groups(records):
        shown = present(columns, records)
        if not shown:
            continue
        rows = tuple(
            (label, *(formatted(c, mean([c.value(m) for m in group])) for c in shown)) for label, group in own_metrics
        )
        tables.append(Table(("Model", *(c.header for c in shown)), ("---", *("--:" for _ in shown)), rows))
    return tuple(tables)
