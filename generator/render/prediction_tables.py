"""The tables of predictions: a model's top-k classes on its case page, and the overview's worst model disagreements.

Python decides each table's columns and values (utils/tables.py); `_table.md.j2` lays them out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from markupsafe import Markup

from generator.render.pages_format import markdown_text, pct_cell
from generator.utils.tables import RIGHT, Column, Table, table

if TYPE_CHECKING:
    from generator.render.worst_cases import ModelDisagreement
    from generator.run.results import Prediction

SCORE_HEADER = {"softmax": "Probability", "sigmoid": "Sigmoid probability", "logits": "Logit"}  # by model output


def top_k_table(top_k: Sequence[Prediction], output: str) -> Table:
    """A model's top-k classes on a case page: rank, class (index) and the score its output gives."""
    columns = [
        Column("#", align=RIGHT),
        Column("Class (index)", cell=class_with_index),
        Column(SCORE_HEADER[output], align=RIGHT, cell=lambda score: f"{score:.4f}"),
    ]
    return table(columns, [(rank, p, p.probability) for rank, p in enumerate(top_k, start=1)])


def class_with_index(p: Prediction) -> Markup:
    return Markup("{} ({})").format(markdown_text(p.name), p.index)


def disagreement_table(rows: Sequence[ModelDisagreement], top_k: int) -> Table:
    """The cases whose two models differ most: their top-1 classes and how many of their top-k they share."""
    columns = [
        Column("Case"),
        Column("Models"),
        Column("Top-1"),
        Column(f"Top-{top_k} classes shared", higher_is_better=True, align=RIGHT),
    ]
    return table(columns, [disagreement_values(row) for row in rows])


def disagreement_values(d: ModelDisagreement) -> tuple[Markup, Markup, Markup, str]:
    case = Markup("[{}](cases/{}.md)").format(markdown_text(d.title), d.case_id)
    models = Markup("{} vs {}").format(markdown_text(d.model_a), markdown_text(d.model_b))
    top1 = Markup("{} vs {}").format(prediction_with_score(d.top1_a), prediction_with_score(d.top1_b))
    return case, models, top1, f"{d.shared} of {d.of}"


def prediction_with_score(p: Prediction) -> Markup:
    return Markup("{} ({})").format(markdown_text(p.name), pct_cell(p.probability))
