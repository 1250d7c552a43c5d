"""The manifest's `explain:` rules: which kinds of cases are explained (generator/evaluate/selection.py applies
them to the predictions), and the parser of their YAML form, whose errors name the key and what is allowed."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import Enum


class RuleKind(Enum):
    WRONG = "wrong"
    DISAGREE = "disagree"
    MOST_CONFIDENT_WRONG = "most_confident_wrong"
    LEAST_CONFIDENT = "least_confident"
    PER_CLASS = "per_class"
    RANDOM = "random"


COUNTED = frozenset({RuleKind.MOST_CONFIDENT_WRONG, RuleKind.LEAST_CONFIDENT, RuleKind.PER_CLASS, RuleKind.RANDOM})
RULE_FORMS = ", ".join(kind.value if kind not in COUNTED else f"{{{kind.value}: k}}" for kind in RuleKind)


@dataclass(frozen=True)
class Rule:
    """One entry of `explain.select`: a kind, and for the counted kinds how many (per model, per label or in all)."""

    kind: RuleKind
    count: int | None = None

    def __post_init__(self) -> None:
        if (self.count is not None) != (self.kind in COUNTED) or (self.count is not None and self.count < 1):
            raise ValueError(f"rule {self.kind.value!r} with count {self.count!r} (rules: {RULE_FORMS}, k >= 1)")


def parse_rules(raw: object, key: str = "explain.select") -> tuple[Rule, ...]:
    """The manifest's `explain.select`: a list of names and one-key mappings of a name to a count."""
    if not isinstance(raw, list):
        raise ValueError(f"{key}: a list of rules ({RULE_FORMS}), got {raw!r}")
    rules: list[Rule] = []
    for position, entry in enumerate(raw):
        rule = parse_rule(entry, f"{key}[{position}]")
        earlier = [n for n, seen in enumerate(rules) if seen.kind is rule.kind]
        if earlier:
            raise ValueError(f"{key}[{position}]: {rule.kind.value!r} is already {key}[{earlier[0]}]; give it once")
        rules.append(rule)
    return tuple(rules)


def parse_rule(entry: object, where: str) -> Rule:
    if isinstance(entry, dict) and len(entry) == 1:
        ((name, count),) = entry.items()
    elif isinstance(entry, str):
        name, count = entry, None
    else:
        raise ValueError(f"{where}: a rule is a name or a mapping of one name to a count ({RULE_FORMS}), got {entry!r}")
    names = [kind.value for kind in RuleKind]
    if name not in names:
        close = difflib.get_close_matches(str(name), names, n=2)
        hint = f"; did you mean {' or '.join(repr(match) for match in close)}?" if close else ""
        raise ValueError(f"{where}: unknown rule {name!r}{hint} (rules: {RULE_FORMS})")
    kind = RuleKind(name)
    if kind not in COUNTED:
        if isinstance(entry, dict):
            raise ValueError(f"{where}: {name!r} takes no count; write it as the name alone: - {name}")
        return Rule(kind)
    if isinstance(entry, str):
        raise ValueError(f"{where}: {name!r} needs a count, e.g. {{{name}: 10}}")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ValueError(f"{where}: the count of {name!r} is a whole number of at least 1, got {count!r}")
    return Rule(kind, count)


def parse_max(raw: object, key: str = "explain.max") -> int | None:
    """The manifest's `explain.max`: a whole number of at least 1, or null (absent) for no cap."""
    if raw is None:
        return None
    if not isinstance(raw, int) or isinstance(raw, bool) or raw < 1:
        raise ValueError(f"{key}: a whole number of at least 1, or leave it out for no cap; got {raw!r}")
    return raw
