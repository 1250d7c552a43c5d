"""The measurement tables of the case pages and the overview, with a column only for what was measured.

A column appears when at least one of its cells has a value: a method or a metric that is off leaves no
column, and a table with no column of numbers is left out altogether.
"""

from dataclasses import dataclass
from typing import Callable

from generator.explain import method_title
from generator.pages_format import UNDEFINED, mean, num, pct, with_reason

FAITHFULNESS_ORDER = ("gradcam", "lime", "random")  # then any other method, by name


@dataclass(frozen=True)
class MetricColumn:
    header: str
    value: Callable  # TargetMetrics -> float | None (None: not measured)
    format: Callable = num
    flag: Callable | None = None  # TargetMetrics -> bool: mark the cell with a warning sign
    undefined: str | None = None  # why this measure can be undefined (NaN), for the cell's tooltip


@dataclass(frozen=True)
class Table:
    """A Markdown table: header cells, alignment per column, rows of cells that are already Markdown."""

    header: tuple
    align: tuple
    rows: tuple


def faithfulness_methods(target_metrics):
    found = {name for m in target_metrics for name in m.faithfulness}
    return sorted(found, key=lambda n: (FAITHFULNESS_ORDER.index(n) if n in FAITHFULNESS_ORDER else 99, n))


def faithfulness_columns(methods):
    def auc(method, curve):
        return lambda m: getattr(m.faithfulness[method], curve) if method in m.faithfulness else None

    return [
        MetricColumn(f"{method_title(method)} {what} AUC {arrow}", auc(method, f"{what}_auc"))
        for what, arrow in (("deletion", "↓"), ("insertion", "↑"))
        for method in methods
    ]


def focus_columns(k):
    return [
        MetricColumn("Concentration ↓", lambda m: m.concentration, pct),
        MetricColumn(
            "Grad-CAM vs LIME ρ ↑",
            lambda m: m.methods_agreement.spearman if m.methods_agreement else None,
            lambda v: num(v, 2),
            undefined="undefined: Grad-CAM (zero everywhere) or LIME gives every superpixel the same score",
        ),
        MetricColumn(
            f"top-{k} overlap ↑",
            lambda m: m.methods_agreement.top_k_overlap if m.methods_agreement else None,
            lambda v: pct(v, 0),
        ),
        MetricColumn(
            "LIME stability (Jaccard) ↑",
            lambda m: m.stability.mean_jaccard if m.stability else None,
            lambda v: num(v, 2),
            flag=lambda m: m.stability is not None and not m.stability.stable,
        ),
        MetricColumn(
            "LIME weight spread ↓", lambda m: m.stability.weight_spread if m.stability else None, lambda v: num(v, 2)
        ),
        MetricColumn(
            "Sanity ρ ↓",
            lambda m: m.sanity_rho,
            lambda v: num(v, 2),
            flag=lambda m: m.sanity_flagged,
            undefined="undefined: the Grad-CAM of the model or of its randomised copy is zero everywhere",
        ),
    ]


FOCUS_TOPICS = (
    ("Concentration", "focus"),
    ("vs LIME", "agreement"),
    ("LIME stability", "stability"),
    ("Sanity", "sanity"),
)


def focus_heading(table):
    """ "Focus, agreement, stability, sanity", naming only what the table shows."""
    topics = [topic for word, topic in FOCUS_TOPICS if any(word in header for header in table.header)]
    text = ", ".join(topics)
    return text[:1].upper() + text[1:]


def present(columns, records):
    return [c for c in columns if any(c.value(r) is not None for r in records)]


def cell(column, record):
    text = formatted(column, column.value(record))
    if column.flag is not None and column.flag(record):
        text += " ⚠"
    return text


def formatted(column, value):
    text = column.format(value)
    return with_reason(text, column.undefined if text == UNDEFINED else None)


def per_target_table(label_header, rows, columns):
    """Rows of (label cells, TargetMetrics): one line per model and target. None when nothing was measured."""
    shown = present(columns, [metrics for _, metrics in rows])
    if not shown:
        return None
    return Table(
        header=(*label_header, *(c.header for c in shown)),
        align=(*("---" for _ in label_header), *("--:" for _ in shown)),
        rows=tuple((*labels, *(cell(c, metrics) for c in shown)) for labels, metrics in rows),
    )


def case_tables(rows, k):
    """The case page's faithfulness table and focus/agreement/stability/sanity table (each None when empty)."""
    records = [metrics for _, metrics in rows]
    faithfulness = per_target_table(("Model", "Target"), rows, faithfulness_columns(faithfulness_methods(records)))
    focus = per_target_table(("Model", "Target"), rows, focus_columns(k))
    return faithfulness, focus


def means_tables(own_metrics, k):
    """Per model, the mean over cases of each measurement of its own top-1 explanation.

    `own_metrics` is [(model label cell, [TargetMetrics, ...])]; empty cells of a shown column read "—".
    """
    records = [m for _, group in own_metrics for m in group]
    tables = []
    for columns in (faithfulness_columns(faithfulness_methods(records)), focus_columns(k)):
        shown = present(columns, records)
        if not shown:
            continue
        rows = tuple(
            (label, *(formatted(c, mean([c.value(m) for m in group])) for c in shown)) for label, group in own_metrics
        )
        tables.append(Table(("Model", *(c.header for c in shown)), ("---", *("--:" for _ in shown)), rows))
    return tuple(tables)
