"""A case's predictions as the choice of cases to explain reads them (evaluate/selection.py): its label, and each
model's top-1 with whether that model's classes hold the label.

Classes are compared by each model's own index, and the top-1 written under the label's name when it is the
label: two models whose class lists name a class differently still agree, and are right, on it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from generator.evaluate.selection import CaseOutcome, Prediction
from generator.run.class_names import label_index, label_name

if TYPE_CHECKING:
    from generator.run.models import LoadedModel
    from generator.run.results import CasePredictions


def case_outcome(predictions: CasePredictions, models: Sequence[LoadedModel], always: bool) -> CaseOutcome:
    spec = predictions.spec
    label = label_name(spec, models)
    answers = []
    for model in models:
        top1 = predictions.top_k[model.key][0]
        index = label_index(model, spec)
        said = label if label is not None and top1.index == index else top1.name
        if said == label and top1.index != index:  # another class of the same name (ImageNet's two cranes)
            said = f"{top1.name} ({top1.index})"
        answers.append(Prediction(model.label, said, top1.probability, index is not None))
    return CaseOutcome(spec.case_id, label, tuple(answers), always)
