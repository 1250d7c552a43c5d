"""The set page: every case's predictions, whether explained or not, measured against its label per model and
between models (generator/evaluate/statistics.py); Python decides each table, `templates/set.md.j2` lays them out.

A model whose classes lack a case's label has no right or wrong on it: the case is left out of that model's
numbers, and the page says how many were."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING
from urllib.parse import quote

from markupsafe import Markup

from generator.evaluate import statistics
from generator.evaluate.statistics import Accuracy, Agreement, Calibration
from generator.render.gallery import CardPrediction
from generator.render.pages_format import pct_cell
from generator.run.class_names import label_index
from generator.utils.cells import markdown_text
from generator.utils.tables import CENTRE, RIGHT, Column, Table, table

if TYPE_CHECKING:
    from generator.run.models import LoadedModel
    from generator.run.results import CasePredictions


CELL_FOLDER = "set"  # the confusion cells' pages: set/<model>-<row>-<column>.md


@dataclass(frozen=True)
class CellCase:
    """A case on a confusion cell's page: its photo, its page where it was explained, each model's top-1."""

    case_id: str
    title: str
    image: str  # URL-encoded, relative to the manifest's folder
    explained: bool
    predictions: tuple[CardPrediction, ...]


@dataclass(frozen=True)
class CellPage:
    path: str  # relative to the manifest's folder
    model: str
    label: str
    predicted: str  # a class name, or "other"
    cases: tuple[CellCase, ...]


@dataclass(frozen=True)
class ModelSet:
    """One model over the set."""

    label: str
    top1: Accuracy
    top_k: Accuracy
    k: int
    lacking: int  # labelled cases whose label the model's classes lack: not counted
    classes: Table
    confusion: Table
    calibration: Calibration
    reliability: Table
    cells: tuple[CellPage, ...]


@dataclass(frozen=True)
class PairSet:
    """Two models over the cases both have a right or wrong on."""

    a: str
    b: str
    agreement: Agreement
    table: Table
    disagreements: Table | None


@dataclass(frozen=True)
class SetPage:
    cases: int
    labelled: int
    explained: int
    models: tuple[ModelSet, ...]
    pairs: tuple[PairSet, ...]


def interval(accuracy: Accuracy) -> Markup:
    """ "80.0% (66.0–89.0%)": the share with its Wilson interval; "–" without a case."""
    if accuracy.value is None:
        return Markup("–")
    return Markup(f"{pct_cell(accuracy.value)} ({pct_cell(accuracy.low)}–{pct_cell(accuracy.high)})")


def case_link(prediction: CasePredictions, explained: frozenset[str]) -> Markup:
    """The case's id, linked to its page where it was explained."""
    name = markdown_text(prediction.case_id)
    if prediction.case_id not in explained:
        return name
    return Markup("[{}](cases/{}.md)").format(name, prediction.case_id)  # the set page sits beside cases/


@dataclass(frozen=True)
class Judged:
    """One model's cases that it can be right or wrong on: their positions in the set, labels and predictions."""

    positions: tuple[int, ...]
    labels: tuple[str, ...]  # the model's own name of each label
    ranked: tuple[tuple[str, ...], ...]  # its top-k names, most probable first
    confidence: tuple[float, ...]  # its top-1 probability
    lacking: int


def judged(model: LoadedModel, predictions: Sequence[CasePredictions]) -> Judged:
    positions, labels, ranked, confidence, lacking = [], [], [], [], 0
    for position, case in enumerate(predictions):
        if case.spec.label is None:
            continue
        index = model.class_index(case.spec.label)
        if index is None:
            lacking += 1
            continue
        top = case.top_k[model.key]
        positions.append(position)
        labels.append(model.categories[index])
        ranked.append(tuple(p.name for p in top))
        confidence.append(top[0].probability)
    return Judged(tuple(positions), tuple(labels), tuple(ranked), tuple(confidence), lacking)


def model_set(
    position: int,
    models: Sequence[LoadedModel],
    predictions: Sequence[CasePredictions],
    explained: frozenset[str],
    k: int,
) -> tuple[ModelSet, Judged]:
    model = models[position]
    cases = judged(model, predictions)
    top1 = statistics.top_k_correct(cases.labels, cases.ranked, 1)
    label_set = tuple(sorted(set(cases.labels)))
    predicted = [ranked[0] for ranked in cases.ranked]
    calibration = statistics.calibration(cases.confidence, top1)
    matrix = statistics.confusion(cases.labels, predicted, label_set)
    cells = cell_pages(position, models, matrix, [predictions[p] for p in cases.positions], explained)
    found = ModelSet(
        label=model.label,
        top1=statistics.accuracy(top1),
        top_k=statistics.accuracy(statistics.top_k_correct(cases.labels, cases.ranked, k)),
        k=k,
        lacking=cases.lacking,
        classes=class_table(statistics.per_class(cases.labels, predicted, label_set)),
        confusion=confusion_table(matrix, cells),
        calibration=calibration,
        reliability=reliability_table(calibration),
        cells=tuple(cell for row in cells for cell in row if cell is not None),
    )
    return found, cases


def cell_pages(
    position: int,
    models: Sequence[LoadedModel],
    matrix: statistics.Confusion,
    judged_cases: Sequence[CasePredictions],
    explained: frozenset[str],
) -> list[list[CellPage | None]]:
    """Per row and column of the model's confusion matrix, the page of its cases (None for an empty cell)."""
    return [
        [
            CellPage(
                f"{CELL_FOLDER}/{position}-{row}-{column}.md",
                models[position].label,
                label,
                predicted,
                tuple(cell_case(judged_cases[i], models, explained) for i in matrix.cases[row][column]),
            )
            if matrix.cases[row][column]
            else None
            for column, predicted in enumerate(matrix.columns)
        ]
        for row, label in enumerate(matrix.labels)
    ]


def cell_case(case: CasePredictions, models: Sequence[LoadedModel], explained: frozenset[str]) -> CellCase:
    spec = case.spec
    marks = []
    for model in models:
        top1 = case.top_k[model.key][0]
        index = label_index(model, spec)
        marks.append(CardPrediction(model.label, top1.name, None if index is None else top1.index == index))
    return CellCase(
        spec.case_id, spec.title or spec.case_id, quote(spec.image), spec.case_id in explained, tuple(marks)
    )


def class_table(classes: Sequence[statistics.ClassStatistics]) -> Table:
    """Each class's cases, accuracy (its recall, with its interval) and, where the model ever says it, precision."""
    columns = [
        Column("Class"),
        Column("Cases", align=RIGHT),
        Column("Accuracy (= recall)", higher_is_better=True, align=RIGHT, cell=interval),
    ]
    rows = [[markdown_text(c.label), c.support, c.accuracy] for c in classes]
    if any(c.precision is not None for c in classes):  # a model that never says a label has no precision to show
        columns.append(Column("Precision", higher_is_better=True, align=RIGHT, cell=pct_cell))
        rows = [[*row, c.precision] for row, c in zip(rows, classes, strict=True)]
    return table(columns, rows)


def confusion_table(confusion: statistics.Confusion, cells: Sequence[Sequence[CellPage | None]]) -> Table:
    """True label (rows) × predicted class (columns, "other" for classes outside the labels); each count links to
    its cell's page."""
    columns = [Column("True \\ predicted"), *(Column(str(markdown_text(c)), align=RIGHT) for c in confusion.columns)]
    rows = [
        (
            markdown_text(label),
            *(count_link(int(n), cell) for n, cell in zip(confusion.counts[i], cells[i], strict=True)),
        )
        for i, label in enumerate(confusion.labels)
    ]
    return table(columns, rows)


def count_link(count: int, cell: CellPage | None) -> Markup:
    return Markup("[{}]({})").format(count, cell.path) if cell is not None else Markup(str(count))


def reliability_table(calibration: Calibration) -> Table:
    columns = [
        Column("Confidence bin"),
        Column("Cases", align=RIGHT),
        Column("Mean confidence", align=RIGHT, cell=pct_cell),
        Column("Accuracy", align=RIGHT, cell=pct_cell),
    ]
    rows = [(f"{b.low:.0%}–{b.high:.0%}", b.count, b.confidence, b.accuracy) for b in calibration.bins if b.count]
    return table(columns, rows)


def pair_set(
    a: tuple[LoadedModel, Judged],
    b: tuple[LoadedModel, Judged],
    predictions: Sequence[CasePredictions],
    explained: frozenset[str],
) -> PairSet:
    (model_a, cases_a), (model_b, cases_b) = a, b
    both = sorted(set(cases_a.positions) & set(cases_b.positions))
    right_a = right_on(cases_a, both)
    right_b = right_on(cases_b, both)
    agreement = statistics.agreement(right_a, right_b)
    counts = [
        ("Both right", agreement.both_right),
        (f"Only {model_a.label} right", agreement.only_a_right),
        (f"Only {model_b.label} right", agreement.only_b_right),
        ("Both wrong", agreement.both_wrong),
    ]
    agreement_table = table([Column("Outcome"), Column("Cases", align=RIGHT)], counts)
    differing = [both[i] for i in (*agreement.only_a_cases, *agreement.only_b_cases)]
    rows = [
        (
            case_link(predictions[p], explained),
            markdown_text(predictions[p].top_k[model_a.key][0].name),
            markdown_text(predictions[p].top_k[model_b.key][0].name),
        )
        for p in sorted(differing)
    ]
    columns = [Column("Case"), Column(model_a.label, align=CENTRE), Column(model_b.label, align=CENTRE)]
    return PairSet(model_a.label, model_b.label, agreement, agreement_table, table(columns, rows) if rows else None)


def right_on(cases: Judged, positions: Sequence[int]) -> list[bool]:
    """Whether the model's top-1 is the label, at each of `positions` (positions in the set) it judged."""
    at = {position: i for i, position in enumerate(cases.positions)}
    return [cases.ranked[at[p]][0] == cases.labels[at[p]] for p in positions]


def set_page(
    predictions: Sequence[CasePredictions], models: Sequence[LoadedModel], explained: Mapping[str, object], k: int
) -> SetPage:
    """The set page's data: each model alone, then each pair of models."""
    explained_ids = frozenset(explained)
    found = [model_set(position, models, predictions, explained_ids, k) for position in range(len(models))]
    pairs = tuple(
        pair_set((models[i], found[i][1]), (models[j], found[j][1]), predictions, explained_ids)
        for i, j in combinations(range(len(models)), 2)
    )
    return SetPage(
        cases=len(predictions),
        labelled=sum(case.spec.label is not None for case in predictions),
        explained=len(explained_ids),
        models=tuple(model for model, _ in found),
        pairs=pairs,
    )
