"""Which cases are explained: each rule alone, their union up to `max`, the reasons and their sentences, the parser.

Hand-made cases whose answer is known; the seeded rules are pinned to numpy's default_rng permutations, which
the module documents (seed 0 over six cases: [3, 2, 5, 4, 0, 1]; seed 1: [4, 0, 2, 1, 5, 3]). A property test
draws cases and rule lists and checks that every reason given is true of its case.
"""

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from generator.evaluate.selection import CaseOutcome, Prediction, percent, select_cases
from generator.manifest.selection_rules import Rule, RuleKind, parse_max, parse_rules

MODELS = ("ResNet18", "ResNet50")


def case(case_id, label, *answers, always=False, lacks=(), models=MODELS):
    """A case with one (top-1, probability) per model; a model named in `lacks` has no class for the label."""
    predictions = tuple(
        Prediction(model, top1, probability, has_label=label is not None and model not in lacks)
        for model, (top1, probability) in zip(models, answers, strict=True)
    )
    return CaseOutcome(case_id, label, predictions, always)


def chosen(cases, *rules, max_cases=None, seed=0):
    return select_cases(cases, rules, max_cases, seed).ids()


WRONG, DISAGREE = Rule(RuleKind.WRONG), Rule(RuleKind.DISAGREE)


def most_confident_wrong(k):
    return Rule(RuleKind.MOST_CONFIDENT_WRONG, k)


def least_confident(k):
    return Rule(RuleKind.LEAST_CONFIDENT, k)


def per_class(k):
    return Rule(RuleKind.PER_CLASS, k)


def random(k):
    return Rule(RuleKind.RANDOM, k)


LIBRARY = [
    case("right", "library", ("library", 0.9), ("library", 0.8)),
    case("r50-wrong", "library", ("library", 0.31), ("bookshop", 0.97)),
    case("both-wrong", "library", ("bookshop", 0.6), ("cinema", 0.5)),
    case("unlabelled", None, ("library", 0.7), ("bookshop", 0.2)),
]


def test_wrong_picks_every_case_some_model_gets_wrong_in_case_order_with_a_reason_per_wrong_model():
    selection = select_cases(LIBRARY, [WRONG], None, 0)
    assert selection.ids() == ("r50-wrong", "both-wrong")
    assert selection.chosen[0].sentences() == (
        "ResNet50 is wrong with 97% confidence (says 'bookshop', the label is 'library')",
    )
    assert selection.chosen[1].sentences() == (
        "ResNet18 is wrong with 60% confidence (says 'bookshop', the label is 'library')",
        "ResNet50 is wrong with 50% confidence (says 'cinema', the label is 'library')",
    )


def test_disagree_picks_cases_whose_top1_classes_differ_labelled_or_not():
    selection = select_cases(LIBRARY, [DISAGREE], None, 0)
    assert selection.ids() == ("r50-wrong", "both-wrong", "unlabelled")
    assert (
        selection.reasons("r50-wrong")[0].sentence()
        == "the models disagree: ResNet18 says 'library', ResNet50 'bookshop'"
    )


def test_disagree_names_every_model_of_three():
    three = ("ResNet18", "ResNet50", "ViT")
    cases = [case("c", "cat", ("cat", 0.5), ("dog", 0.5), ("cat", 0.9), models=three)]
    assert select_cases(cases, [DISAGREE], None, 0).chosen[0].sentences() == (
        "the models disagree: ResNet18 says 'cat', ResNet50 'dog', ViT 'cat'",
    )


def test_with_one_model_nothing_disagrees_and_the_other_rules_still_work():
    one = ("ResNet50",)
    cases = [
        case("a", "cat", ("dog", 0.9), models=one),
        case("b", "cat", ("cat", 0.4), models=one),
        case("c", "cat", ("fox", 0.6), models=one),
    ]
    assert chosen(cases, DISAGREE) == ()
    assert chosen(cases, WRONG) == ("a", "c")
    assert chosen(cases, most_confident_wrong(1)) == ("a",)
    assert chosen(cases, least_confident(1)) == ("b",)


def test_most_confident_wrong_takes_each_models_highest_wrong_cases_rank_by_rank():
    cases = [
        case("a", "cat", ("dog", 0.70), ("cat", 0.9)),
        case("b", "cat", ("dog", 0.95), ("fox", 0.6)),
        case("c", "cat", ("cat", 0.99), ("fox", 0.8)),
        case("d", "cat", ("fox", 0.80), ("dog", 0.7)),
    ]
    # ResNet18's wrong cases by confidence: b, d, a; ResNet50's: c, d, b
    assert chosen(cases, most_confident_wrong(1)) == ("b", "c")
    selection = select_cases(cases, [most_confident_wrong(2)], None, 0)
    assert selection.ids() == ("b", "c", "d")
    assert selection.reasons("d")[0].sentence() == (
        "ResNet18's 2nd most confident mistake (80%: says 'fox', the label is 'cat')"
    )
    assert selection.reasons("b")[0].sentence() == (
        "ResNet18's most confident mistake (95%: says 'dog', the label is 'cat')"
    )


def test_least_confident_takes_each_models_lowest_top1_labelled_or_not():
    selection = select_cases(LIBRARY, [least_confident(1)], None, 0)
    assert selection.ids() == ("r50-wrong", "unlabelled")
    assert selection.chosen[0].sentences() == ("ResNet18's least confident case (top-1 at 31%)",)
    assert selection.chosen[1].sentences() == ("ResNet50's least confident case (top-1 at 20%)",)
    assert chosen(LIBRARY, least_confident(2)) == ("r50-wrong", "unlabelled", "both-wrong")


def test_ties_go_by_case_order():
    cases = [case(f"c{i}", "cat", ("dog", 0.5), ("dog", 0.5)) for i in range(4)]
    assert chosen(cases, most_confident_wrong(2)) == ("c0", "c1")
    assert chosen(cases, least_confident(3)) == ("c0", "c1", "c2")
    assert select_cases(cases, [least_confident(2)], None, 0).reasons("c1")[0].rank == 2


SIX = [
    case("c0", "tabby", ("tabby", 0.9), ("tabby", 0.9)),
    case("c1", "tabby", ("tabby", 0.9), ("tabby", 0.9)),
    case("c2", "tabby", ("tabby", 0.9), ("tabby", 0.9)),
    case("c3", "dog", ("dog", 0.9), ("dog", 0.9)),
    case("c4", "dog", ("dog", 0.9), ("dog", 0.9)),
    case("c5", None, ("dog", 0.9), ("dog", 0.9)),
]


def test_per_class_takes_the_first_k_of_each_label_in_the_seeded_order():
    # seed 0's order [3, 2, 5, 4, 0, 1]: tabby c2, c0; dog c3, c4; c5 has no label
    assert chosen(SIX, per_class(1), seed=0) == ("c2", "c3")
    selection = select_cases(SIX, [per_class(2)], None, 0)
    assert selection.ids() == ("c2", "c3", "c0", "c4")
    assert selection.reasons("c0")[0].sentence() == "one of 2 chosen for 'tabby'"
    assert select_cases(SIX, [per_class(1)], None, 0).reasons("c3")[0].sentence() == "chosen for 'dog'"
    # more asked than a label has: all of it, and the sentence counts what was chosen
    assert select_cases(SIX, [per_class(5)], None, 0).reasons("c3")[0].sentence() == "one of 2 chosen for 'dog'"


def test_random_takes_the_first_k_cases_in_the_seeded_order():
    selection = select_cases(SIX, [random(2)], None, 0)
    assert selection.ids() == ("c3", "c2")
    assert selection.chosen[0].sentences() == ("drawn at random (seed 0)",)


def test_the_same_seed_gives_the_same_selection_and_another_seed_another_draw():
    rules = [WRONG, per_class(1), random(2)]
    assert select_cases(SIX, rules, None, 0) == select_cases(SIX, rules, None, 0)
    assert chosen(SIX, random(2), seed=1) == ("c4", "c0")  # seed 1's order [4, 0, 2, 1, 5, 3]
    assert chosen(SIX, per_class(1), seed=1) == ("c0", "c4")
    assert select_cases(SIX, [random(2)], None, 1).chosen[0].sentences() == ("drawn at random (seed 1)",)


def test_the_seeded_rules_do_not_depend_on_which_other_rules_ran():
    alone = set(chosen(SIX, random(3), seed=2))
    after_others = select_cases(SIX, [least_confident(2), per_class(1), random(3)], None, 2)
    assert {c.case_id for c in after_others.chosen if any(r.rule is RuleKind.RANDOM for r in c.reasons)} == alone


def test_the_rules_add_in_order_skipping_the_chosen_until_max():
    rules = [WRONG, DISAGREE, least_confident(1)]
    assert chosen(LIBRARY, *rules) == ("r50-wrong", "both-wrong", "unlabelled")
    selection = select_cases(LIBRARY, rules, 2, 0)
    assert selection.ids() == ("r50-wrong", "both-wrong")
    assert selection.left_out == ("unlabelled",)
    assert chosen(LIBRARY, least_confident(1), WRONG, max_cases=3) == ("r50-wrong", "unlabelled", "both-wrong")


def test_the_hand_listed_cases_come_first_even_beyond_max():
    cases = [
        case("wrong", "cat", ("dog", 0.9), ("cat", 0.9)),
        case("by-hand-1", "cat", ("cat", 0.9), ("cat", 0.9), always=True),
        case("by-hand-2", "cat", ("fox", 0.9), ("cat", 0.9), always=True),
    ]
    selection = select_cases(cases, [WRONG], 1, 0)
    assert selection.ids() == ("by-hand-1", "by-hand-2")
    assert selection.left_out == ("wrong",)
    assert selection.reasons("by-hand-1")[0].sentence() == "listed in the manifest"
    assert selection.chosen[1].sentences() == (
        "listed in the manifest",
        "ResNet18 is wrong with 90% confidence (says 'fox', the label is 'cat')",
    )
    assert select_cases(cases, [], None, 0).ids() == ("by-hand-1", "by-hand-2")


def test_a_case_chosen_by_several_rules_carries_every_one_even_those_after_max():
    selection = select_cases(LIBRARY, [WRONG, DISAGREE, least_confident(1), random(4)], 1, 0)
    assert selection.ids() == ("r50-wrong",)
    assert selection.chosen[0].sentences() == (
        "ResNet50 is wrong with 97% confidence (says 'bookshop', the label is 'library')",
        "the models disagree: ResNet18 says 'library', ResNet50 'bookshop'",
        "ResNet18's least confident case (top-1 at 31%)",
        "drawn at random (seed 0)",
    )


def test_without_labels_only_the_rules_that_need_none_pick():
    cases = [case(f"c{i}", None, ("cat", p), ("dog", p)) for i, p in enumerate((0.4, 0.2, 0.9))]
    assert chosen(cases, WRONG, most_confident_wrong(3), per_class(3)) == ()
    assert chosen(cases, least_confident(1)) == ("c1",)
    assert chosen(cases, DISAGREE) == ("c0", "c1", "c2")
    assert len(chosen(cases, random(2))) == 2


def test_a_model_lacking_the_label_is_neither_wrong_nor_right():
    cases = [
        case("a", "tabby", ("tabby", 0.9), ("cat", 0.99), lacks=("ResNet50",)),
        case("b", "tabby", ("dog", 0.4), ("cat", 0.8), lacks=("ResNet50",)),
    ]
    assert cases[0].is_right(cases[0].predictions[1]) is None
    selection = select_cases(cases, [WRONG, most_confident_wrong(2)], None, 0)
    assert selection.ids() == ("b",)
    assert [reason.model for reason in selection.reasons("b")] == ["ResNet18", "ResNet18"]


def test_the_cases_must_have_unique_ids_and_the_same_models():
    with pytest.raises(ValueError, match=r"cases \['a'\] are given more than once"):
        select_cases([case("a", None, ("x", 1.0), ("x", 1.0)), case("a", None, ("y", 1.0), ("y", 1.0))], [], None, 0)
    with pytest.raises(ValueError, match="the same models in the same order"):
        select_cases([LIBRARY[0], case("one", None, ("x", 1.0), models=("ViT",))], [], None, 0)


def test_the_example_manifest_parses_into_rules_in_order():
    text = """
    select:
      - wrong
      - disagree
      - {most_confident_wrong: 10}
      - {least_confident: 10}
      - {per_class: 2}
      - {random: 20}
    max: 200
    """
    explain = yaml.safe_load(text)
    assert parse_rules(explain["select"]) == (
        WRONG,
        DISAGREE,
        most_confident_wrong(10),
        least_confident(10),
        per_class(2),
        random(20),
    )
    assert parse_max(explain["max"]) == 200
    assert parse_max(None) is None
    assert parse_rules([]) == ()


FORMS = "wrong, disagree, {most_confident_wrong: k}, {least_confident: k}, {per_class: k}, {random: k}"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (["wrong", "wrongg"], f"explain.select[1]: unknown rule 'wrongg'; did you mean 'wrong'? (rules: {FORMS})"),
        ([{"per_clas": 2}], "explain.select[0]: unknown rule 'per_clas'; did you mean 'per_class'?"),
        (["banana"], f"explain.select[0]: unknown rule 'banana' (rules: {FORMS})"),
        (["random"], "explain.select[0]: 'random' needs a count, e.g. {random: 10}"),
        ([{"wrong": 3}], "explain.select[0]: 'wrong' takes no count; write it as the name alone: - wrong"),
        ([{"random": 0}], "explain.select[0]: the count of 'random' is a whole number of at least 1, got 0"),
        ([{"random": "ten"}], "explain.select[0]: the count of 'random' is a whole number of at least 1, got 'ten'"),
        ([{"random": True}], "explain.select[0]: the count of 'random' is a whole number of at least 1, got True"),
        ([{"random": None}], "explain.select[0]: the count of 'random' is a whole number of at least 1, got None"),
        ([{"random": 1, "wrong": None}], "explain.select[0]: a rule is a name or a mapping of one name to a count"),
        ([3], "explain.select[0]: a rule is a name or a mapping of one name to a count"),
        (["wrong", {"random": 2}, "wrong"], "explain.select[2]: 'wrong' is already explain.select[0]; give it once"),
        ("wrong", f"explain.select: a list of rules ({FORMS}), got 'wrong'"),
    ],
)
def test_the_parser_says_which_rule_is_wrong_and_what_is_allowed(raw, message):
    with pytest.raises(ValueError) as raised:
        parse_rules(raw)
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize("raw", [0, -1, 2.5, "200", True])
def test_max_is_a_whole_number_of_at_least_one(raw):
    with pytest.raises(
        ValueError, match=rf"^explain.max: a whole number of at least 1, or leave it out for no cap; got {raw!r}$"
    ):
        parse_max(raw)


def test_a_rule_holds_a_count_exactly_when_its_kind_has_one():
    for bad in [(RuleKind.WRONG, 2), (RuleKind.RANDOM, None), (RuleKind.PER_CLASS, 0)]:
        with pytest.raises(ValueError, match="rule"):
            Rule(*bad)


@pytest.mark.parametrize(
    ("probability", "text"),
    [(0.97, "97%"), (0.314, "31%"), (1.0, "100%"), (0.996, "99.6%"), (0.001, "0.1%"), (0.0, "0%")],
)
def test_a_percent_never_rounds_to_certainty_or_to_nothing(probability, text):
    assert percent(probability) == text


# --- property: every selection is a subset holding the hand-listed cases, capped, and every reason is true

LABELS = ("cat", "dog", "fox")
THREE = ("A", "B", "C")


@st.composite
def drawn_cases(draw):
    models = THREE[: draw(st.integers(1, 3))]
    cases = []
    for index in range(draw(st.integers(0, 8))):
        label = draw(st.sampled_from((*LABELS, None)))
        predictions = tuple(
            Prediction(
                model,
                draw(st.sampled_from(LABELS)),
                draw(st.sampled_from((0.1, 0.35, 0.5, 0.8, 0.99))),  # few values: ties happen
                has_label=label is not None and draw(st.booleans()),
            )
            for model in models
        )
        cases.append(CaseOutcome(f"c{index}", label, predictions, always=draw(st.booleans())))
    return cases


@st.composite
def drawn_rules(draw):
    kinds = draw(st.lists(st.sampled_from(list(RuleKind)), unique=True))
    counted = {RuleKind.MOST_CONFIDENT_WRONG, RuleKind.LEAST_CONFIDENT, RuleKind.PER_CLASS, RuleKind.RANDOM}
    return [Rule(kind, draw(st.integers(1, 4)) if kind in counted else None) for kind in kinds]


def reason_is_true(reason, case, cases, rule_of):
    """Whether `reason` holds of `case` (one of `cases`) under the rule of its kind."""
    if reason.rule is None:
        return case.always
    rule = rule_of[reason.rule]
    if reason.rule is RuleKind.DISAGREE:
        return len({p.top1 for p in case.predictions}) > 1 and reason.says == tuple(
            (p.model, p.top1) for p in case.predictions
        )
    if reason.rule is RuleKind.PER_CLASS:
        return case.label is not None and reason.label == case.label and 1 <= reason.count <= rule.count
    if reason.rule is RuleKind.RANDOM:
        return reason.seed is not None
    model = [p.model for p in case.predictions].index(reason.model)
    prediction = case.predictions[model]
    if (reason.probability, reason.prediction) != (prediction.probability, prediction.top1):
        return False
    if reason.rule is RuleKind.WRONG:
        return case.is_right(prediction) is False and reason.label == case.label
    if reason.rule is RuleKind.MOST_CONFIDENT_WRONG:
        wrong_ones = [c for c in cases if c.is_right(c.predictions[model]) is False]
        above = sum(c.predictions[model].probability > prediction.probability for c in wrong_ones)
        return case.is_right(prediction) is False and above < reason.rank <= rule.count
    below = sum(c.predictions[model].probability < prediction.probability for c in cases)
    return below < reason.rank <= rule.count


@given(drawn_cases(), drawn_rules(), st.one_of(st.none(), st.integers(1, 6)), st.integers(0, 2**32 - 1))
def test_every_selection_is_capped_holds_the_listed_cases_and_gives_only_true_reasons(cases, rules, max_cases, seed):
    selection = select_cases(cases, rules, max_cases, seed)
    by_id = {c.case_id: c for c in cases}
    ids = selection.ids()
    listed = [c.case_id for c in cases if c.always]
    assert len(set(ids)) == len(ids) and set(ids) <= set(by_id)
    assert list(ids[: len(listed)]) == listed
    assert not set(selection.left_out) & set(ids)
    if max_cases is not None:
        assert len(ids) <= max_cases + len(listed)
    rule_of = {rule.kind: rule for rule in rules}
    for selected in selection.chosen:
        assert selected.reasons, selected.case_id
        for reason in selected.reasons:
            assert reason_is_true(reason, by_id[selected.case_id], cases, rule_of), (selected.case_id, reason)
            assert reason.sentence()
    # complete as well as true: a selected case some model gets wrong says so for that model
    if RuleKind.WRONG in rule_of:
        for case_id in ids:
            case = by_id[case_id]
            wrong_models = [p.model for p in case.predictions if case.is_right(p) is False]
            said = [r.model for r in selection.reasons(case_id) if r.rule is RuleKind.WRONG]
            assert said == wrong_models
    assert select_cases(cases, rules, max_cases, seed) == selection  # deterministic
