"""Which cases are explained: the manifest's `explain.select` rules over every case's predictions, with reasons.

Every case gets predictions from every model; only the selected cases get explanations, measurements and a page,
and that page says why its case was chosen. The cases listed by hand (`always`) come first, even beyond `max`;
then each rule, in the manifest's order, adds the cases it picks, in its own order, skipping those already
chosen, until `max` cases are chosen.

Each rule picks from the predictions alone, never from what another rule chose, so a selected case carries
every rule that picks it (one reason per model it concerns), the rules that came after it was chosen included.
The rules, and the order each picks in (ties go by the order of the cases):

- `wrong`: every case on which some model's top-1 class is not the label, in case order.
- `disagree`: every case on which the models' top-1 classes are not all the same (two models or more).
- `most_confident_wrong: k`: per model, its k wrong cases of highest top-1 probability; the models' first
  picks (in the manifest's model order), then their second, and so on.
- `least_confident: k`: per model, its k cases of lowest top-1 probability, interleaved the same way.
- `per_class: k`: per label, the first k of its cases in the seeded order; the first of every label (labels in
  the order they first appear among the cases), then the second, and so on.
- `random: k`: the first k cases in the seeded order.

The seeded order is the cases taken in the order of `numpy.random.default_rng(seed).permutation(len(cases))`,
drawn afresh for each rule that uses it: it depends on the seed and the list of cases only.

A case without a label takes part only in the rules that need none (`disagree`, `least_confident`, `random`).
A model whose classes lack the case's label is neither right nor wrong on it, so `wrong` and
`most_confident_wrong` pass it by for that model. Class names compare across models, never indices.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from generator.manifest.selection_rules import Rule, RuleKind


@dataclass(frozen=True)
class Prediction:
    """One model's answer on one case: its top-1 class name and probability."""

    model: str  # the model's display label, as sentences name it ("ResNet50")
    top1: str
    probability: float
    has_label: bool  # the model's classes contain the case's label (False when the case has none)


@dataclass(frozen=True)
class CaseOutcome:
    """What selection knows of a case: its label and every model's prediction, in the manifest's model order."""

    case_id: str
    label: str | None
    predictions: tuple[Prediction, ...]
    always: bool = False  # listed under `cases:` by hand: explained whatever the rules say

    def is_right(self, prediction: Prediction) -> bool | None:
        """Whether the model's top-1 is the label; None without a label or when the model's classes lack it."""
        if self.label is None or not prediction.has_label:
            return None
        return prediction.top1 == self.label


@dataclass(frozen=True)
class Reason:
    """Why a case was chosen: a rule (None: listed by hand) and what about the case made the rule pick it."""

    rule: RuleKind | None
    model: str | None = None  # the model the reason concerns, if one
    probability: float | None = None  # that model's top-1 probability
    prediction: str | None = None  # that model's top-1 class
    label: str | None = None
    rank: int | None = None  # 1 for the model's most (least) confident case, 2 for the next
    count: int | None = None  # per_class: how many cases the rule chose for the label
    seed: int | None = None
    says: tuple[tuple[str, str], ...] = ()  # disagree: (model, top-1 class) of every model

    def sentence(self) -> str:
        """The reason in the report's plain voice, as a case page says it."""
        if self.rule is None:
            return "listed in the manifest"
        if self.rule is RuleKind.DISAGREE:
            (first, said), *others = self.says
            rest = "".join(f", {model} '{top1}'" for model, top1 in others)
            return f"the models disagree: {first} says '{said}'{rest}"
        if self.rule is RuleKind.PER_CLASS:
            return f"one of {self.count} chosen for '{self.label}'" if self.count != 1 else f"chosen for '{self.label}'"
        if self.rule is RuleKind.RANDOM:
            return f"drawn at random (seed {self.seed})"
        confidence = percent(self.probability or 0.0)
        mistake = f"says '{self.prediction}', the label is '{self.label}'"
        if self.rule is RuleKind.WRONG:
            return f"{self.model} is wrong with {confidence} confidence ({mistake})"
        place = f"{ordinal(self.rank)} " if self.rank and self.rank > 1 else ""
        if self.rule is RuleKind.MOST_CONFIDENT_WRONG:
            return f"{self.model}'s {place}most confident mistake ({confidence}: {mistake})"
        return f"{self.model}'s {place}least confident case (top-1 at {confidence})"


LISTED = Reason(rule=None)


@dataclass(frozen=True)
class SelectedCase:
    case_id: str
    reasons: tuple[Reason, ...]  # listed by hand first, then the rules in the manifest's order

    def sentences(self) -> tuple[str, ...]:
        return tuple(reason.sentence() for reason in self.reasons)


@dataclass(frozen=True)
class Selection:
    """The cases to explain, in the order they were chosen, and those the rules picked but `max` left out."""

    chosen: tuple[SelectedCase, ...]
    left_out: tuple[str, ...]

    def ids(self) -> tuple[str, ...]:
        return tuple(case.case_id for case in self.chosen)

    def reasons(self, case_id: str) -> tuple[Reason, ...]:
        for case in self.chosen:
            if case.case_id == case_id:
                return case.reasons
        raise KeyError(f"case {case_id!r} is not selected")


def select_cases(cases: Sequence[CaseOutcome], rules: Sequence[Rule], max_cases: int | None, seed: int) -> Selection:
    """The hand-listed cases, then each rule's picks in order until `max_cases` (None: no cap); see the module."""
    check_cases(cases)
    reasons: dict[int, list[Reason]] = {index: [LISTED] for index, case in enumerate(cases) if case.always}
    order = list(reasons)
    for rule in rules:
        for index, reason in PICKERS[rule.kind](cases, rule, seed):
            if index not in reasons:
                order.append(index)
            reasons.setdefault(index, []).append(reason)
    cut = len(order) if max_cases is None else max(max_cases, sum(case.always for case in cases))
    chosen = tuple(SelectedCase(cases[index].case_id, tuple(reasons[index])) for index in order[:cut])
    return Selection(chosen, tuple(cases[index].case_id for index in order[cut:]))


def check_cases(cases: Sequence[CaseOutcome]) -> None:
    ids = [case.case_id for case in cases]
    repeated = sorted({case_id for case_id in ids if ids.count(case_id) > 1})
    if repeated:
        raise ValueError(f"cases {repeated} are given more than once; case ids are unique")
    models = {tuple(prediction.model for prediction in case.predictions) for case in cases}
    if len(models) > 1:
        raise ValueError(f"every case needs the same models in the same order, got {sorted(models)}")


Picks = Iterator[tuple[int, Reason]]  # (index of the case, why the rule picks it), in the rule's order


def wrong(cases: Sequence[CaseOutcome], rule: Rule, seed: int) -> Picks:
    for index, case in enumerate(cases):
        for prediction in case.predictions:
            if case.is_right(prediction) is False:
                yield index, mistake(RuleKind.WRONG, case, prediction)


def mistake(kind: RuleKind, case: CaseOutcome, prediction: Prediction, rank: int | None = None) -> Reason:
    return Reason(kind, prediction.model, prediction.probability, prediction.top1, case.label, rank=rank)


def disagree(cases: Sequence[CaseOutcome], rule: Rule, seed: int) -> Picks:
    for index, case in enumerate(cases):
        if len({prediction.top1 for prediction in case.predictions}) > 1:
            says = tuple((prediction.model, prediction.top1) for prediction in case.predictions)
            yield index, Reason(RuleKind.DISAGREE, says=says)


def most_confident_wrong(cases: Sequence[CaseOutcome], rule: Rule, seed: int) -> Picks:
    def candidates(model: int) -> list[int]:
        wrong_here = [i for i, case in enumerate(cases) if case.is_right(case.predictions[model]) is False]
        return sorted(wrong_here, key=lambda i: -cases[i].predictions[model].probability)

    for rank, index, model in interleaved(cases, rule, candidates):
        yield index, mistake(rule.kind, cases[index], cases[index].predictions[model], rank)


def least_confident(cases: Sequence[CaseOutcome], rule: Rule, seed: int) -> Picks:
    def candidates(model: int) -> list[int]:
        return sorted(range(len(cases)), key=lambda i: cases[i].predictions[model].probability)

    for rank, index, model in interleaved(cases, rule, candidates):
        prediction = cases[index].predictions[model]
        yield index, Reason(rule.kind, prediction.model, prediction.probability, prediction.top1, rank=rank)


def interleaved(
    cases: Sequence[CaseOutcome], rule: Rule, candidates: Callable[[int], list[int]]
) -> Iterator[tuple[int, int, int]]:
    """(rank from 1, case index, model index): every model's first `rule.count` candidates, rank by rank."""
    count = rule.count or 0
    models = len(cases[0].predictions) if cases else 0
    ranked = [candidates(model)[:count] for model in range(models)]
    for rank in range(count):
        for model, picks in enumerate(ranked):
            if rank < len(picks):
                yield rank + 1, picks[rank], model


def seeded_order(cases: Sequence[CaseOutcome], seed: int) -> list[int]:
    return [int(index) for index in np.random.default_rng(seed).permutation(len(cases))]


def per_class(cases: Sequence[CaseOutcome], rule: Rule, seed: int) -> Picks:
    count = rule.count or 0
    by_label: dict[str, list[int]] = {case.label: [] for case in cases if case.label is not None}
    for index in seeded_order(cases, seed):
        label = cases[index].label
        if label is not None and len(by_label[label]) < count:
            by_label[label].append(index)
    for rank in range(count):
        for label, picks in by_label.items():
            if rank < len(picks):
                yield picks[rank], Reason(rule.kind, label=label, count=len(picks), seed=seed)


def drawn_at_random(cases: Sequence[CaseOutcome], rule: Rule, seed: int) -> Picks:
    for index in seeded_order(cases, seed)[: rule.count]:
        yield index, Reason(rule.kind, seed=seed)


PICKERS: dict[RuleKind, Callable[[Sequence[CaseOutcome], Rule, int], Picks]] = {
    RuleKind.WRONG: wrong,
    RuleKind.DISAGREE: disagree,
    RuleKind.MOST_CONFIDENT_WRONG: most_confident_wrong,
    RuleKind.LEAST_CONFIDENT: least_confident,
    RuleKind.PER_CLASS: per_class,
    RuleKind.RANDOM: drawn_at_random,
}


def percent(probability: float) -> str:
    """A whole percent, with a decimal more where rounding would say 0% or 100% of what is neither."""
    for decimals in range(4):
        text = f"{probability:.{decimals}%}"
        shown = float(text[:-1]) / 100
        if not ((shown == 1 and probability < 1) or (shown == 0 and probability > 0)):
            break
    return text


def ordinal(number: int | None) -> str:
    n = number or 0
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
