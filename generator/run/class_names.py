"""A case's classes (its `label` and `targets`, by name or index) against each model's own class names."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from generator.manifest.schema import CaseSpec, ClassRef, Manifest
    from generator.run.models import LoadedModel
    from generator.run.results import Prediction


def unknown_classes(manifest: Manifest, models: Sequence[LoadedModel]) -> list[str]:
    """A problem (with its key path) for every label or target that no model of the report has."""
    problems = []
    for number, case in enumerate(manifest.cases):
        refs = [("label", case.label)] if case.label is not None else []
        refs += [("targets", target) for target in case.targets]
        for key, ref in refs:
            if all(model.class_index(ref) is None for model in models):
                problems.append(f"cases[{number}].{key}: {unknown_class(ref, models)}")
    return problems


def unknown_class(ref: ClassRef, models: Sequence[LoadedModel]) -> str:
    if isinstance(ref, int):
        sizes = sorted({len(model.categories) for model in models})
        counts = " or ".join(str(size) for size in sizes)
        return f"class index {ref} is out of range: the models have {counts} classes (0..{max(sizes) - 1})"
    names = list(dict.fromkeys(name for model in models for name in model.categories))
    wanted = str(ref).strip().lower()
    close = [name for name in names if wanted and wanted in name.lower()]
    close += difflib.get_close_matches(str(ref), names, n=5, cutoff=0.6)
    hint = f" (did you mean: {', '.join(list(dict.fromkeys(close))[:5])}?)" if close else ""
    return f"unknown class {ref!r}: no model of the report has it{hint}"


def model_targets(
    model: LoadedModel, spec: CaseSpec, models: Sequence[LoadedModel], predictions: Sequence[Sequence[Prediction]]
) -> tuple[int, ...]:
    """The classes one model explains: every model's top-1 and the case's targets, those this model has.

    A top-1 of a model with the same class list is taken by index (ImageNet names repeat: two "crane"s);
    of a model with other classes, by name.
    """
    refs: list[int | None] = [
        top[0].index if other.categories == model.categories else model.class_index(top[0].name)
        for other, top in zip(models, predictions)
    ]
    refs += [model.class_index(target) for target in spec.targets]
    return tuple(dict.fromkeys(ref for ref in refs if ref is not None))


def label_index(model: LoadedModel, spec: CaseSpec) -> int | None:
    """The model's index of the case's ground truth; None without a label or where the model lacks that class."""
    return None if spec.label is None else model.class_index(spec.label)


def label_name(spec: CaseSpec, models: Sequence[LoadedModel]) -> str | None:
    """The ground truth as the pages name it: the first model's name for it that has it."""
    if spec.label is None:
        return None
    for model in models:
        index = model.class_index(spec.label)
        if index is not None:
            return model.categories[index]
    return str(spec.label)
