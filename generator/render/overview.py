"""The overview's case table: one row per case and model, with that model's headline measurements.

The table stays an ordinary Markdown table. What the page's sort-and-filter script
(theme/assets/javascripts/overview-table.js) reads rides along invisibly: an empty, hidden marker span in each
row carries the row's model, correct/wrong, agreement and search text as data attributes, and every measured
number sits in a `<data value>` element holding it to 6 digits. Without the script nothing changes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from markupsafe import Markup

from generator.render.metric_tables import cell, overview_columns
from generator.render.pages_format import NOT_COMPUTED, markdown_text, pct, with_reason
from generator.utils.tables import Column, Table, table

if TYPE_CHECKING:
    from generator.measure.base import MetricColumn, TargetMetrics
    from generator.render.page_data import CasePage, ModelColumn
    from generator.run.results import CaseResult, Prediction

ROW_MARKER = "case-row"  # the class of each row's marker span; the script looks for tables holding one


@dataclass(frozen=True)
class OverviewRow:
    case_id: str
    title: str
    label_name: str | None
    model: str  # the model's label
    top1: Prediction
    score: str  # the top-1's score as the row shows it: a percentage, or a logit
    correct: bool | None  # None: the case has no ground truth
    agree: bool  # every model has the same top-1 class on this case
    metrics: tuple[Markup, ...]  # cells, one per OverviewTable.metric_columns
    marker: Markup


@dataclass(frozen=True)
class OverviewTable:
    compared: bool  # more than one model: a Model and an Agree column
    labelled: bool  # some case has a ground truth: a Ground truth column
    metric_columns: tuple[MetricColumn, ...]
    rows: tuple[OverviewRow, ...]  # cases in manifest order, each case's models in manifest order

    @property
    def metric_headers(self) -> tuple[str, ...]:
        return tuple(c.header for c in self.metric_columns)


def score_text(value: float, output: str) -> str:
    """A probability (softmax or sigmoid) as a percentage; a logit as it is."""
    return f"logit {value:.2f}" if output == "logits" else pct(value)


def overview_table(cases: Sequence[CaseResult], case_pages: Sequence[CasePage], model_count: int) -> OverviewTable:
    """The rows of every case (CaseResult) and its page (CasePage, same order), with a column per measurement."""
    own = [
        (page, column, case.models[column.key].own_metrics)
        for case, page in zip(cases, case_pages, strict=True)
        for column in page.columns
    ]
    columns = overview_columns([metrics for *_, metrics in own if metrics is not None])
    compared = model_count > 1
    rows = tuple(
        OverviewRow(
            case_id=page.case_id,
            title=page.title,
            label_name=page.label_name,
            model=column.label,
            top1=column.top_k[0],
            score=score_text(column.top_k[0].probability, column.output),
            correct=column.correct,
            agree=page.agree,
            metrics=tuple(metric_cell(c, metrics) for c in columns),
            marker=row_marker(page, column, compared),
        )
        for page, column, metrics in own
    )
    labelled = any(page.label_name for page in case_pages)
    return OverviewTable(compared, labelled, tuple(columns), rows)


def case_table(overview: OverviewTable, first_model: str) -> Table:
    """The overview's case table as the page lays it out; with one model, its label heads the Top-1 column."""
    columns = [Column("Case")]
    if overview.labelled:
        columns.append(Column("Ground truth", cell=lambda name: markdown_text(name or "—")))
    if overview.compared:
        columns += [Column("Model", cell=markdown_text), Column("Top-1"), Column("Agree", cell=agree_text)]
    else:
        columns.append(Column(markdown_text(first_model) + " top-1"))
    return table([*columns, *overview.metric_columns], [row_values(row, overview) for row in overview.rows])


def row_values(row: OverviewRow, overview: OverviewTable) -> tuple[object, ...]:
    """One row's values in the order of case_table's columns."""
    case = Markup("[{}](cases/{}.md){}").format(markdown_text(row.title), row.case_id, row.marker)
    labels = (row.label_name,) if overview.labelled else ()
    verdict = {True: " · correct", False: " · **wrong**", None: ""}[row.correct]
    top1 = Markup("{} ({}){}").format(markdown_text(row.top1.name), row.score, verdict)
    predicted = (row.model, top1, row.agree) if overview.compared else (top1,)
    return (case, *labels, *predicted, *row.metrics)


def agree_text(agree: bool) -> str:
    return "yes" if agree else "**no**"


def metric_cell(column: MetricColumn, metrics: TargetMetrics | None) -> Markup:
    """The table's cell, its number wrapped in <data value> (more digits than shown) for the script to sort on."""
    if metrics is None:
        return with_reason(NOT_COMPUTED)
    text, value = cell(column, metrics), column.value(metrics)
    if value is None or math.isnan(value):
        return text
    return Markup('<data value="{:.6g}">{}</data>').format(float(value), text)  # 6 digits: ample to sort on


def row_marker(page: CasePage, column: ModelColumn, compared: bool) -> Markup:
    """The row's empty marker span: what the script filters on, as data attributes."""
    found = dict.fromkeys(text for text in (page.case_id, page.title, page.label_name, column.top_k[0].name) if text)
    data = {"model": column.label, "search": " ".join(found)}
    if column.correct is not None:
        data["result"] = "correct" if column.correct else "wrong"
    if compared:
        data["agree"] = "yes" if page.agree else "no"
    attributes = "".join(f' data-{name}="{attribute_text(value)}"' for name, value in data.items())
    return Markup(f'<span class="{ROW_MARKER}" hidden{attributes}></span>')


def attribute_text(value: object) -> str:
    """An attribute value that survives a Markdown table cell: every ASCII sign as a character reference.

    Escaping for HTML alone is not enough: Markdown's table splits on `|` and its inline patterns (links,
    code, backslash escapes) run before raw HTML is set aside, so `[`, `` ` ``, `\\` and the like must not
    appear literally either.
    """
    text = " ".join(str(value).split())
    return "".join(ch if ch.isalnum() or ch == " " or not ch.isascii() else f"&#{ord(ch)};" for ch in text)
