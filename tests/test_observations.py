"""Cross-case sentences: each counts only the cases where its number is defined."""

from types import SimpleNamespace

from generator.measure.metrics import Agreement
from generator.render.observations import overlap_findings


def comparison(overlap):
    return SimpleNamespace(method="lime", model_a="a", model_b="b", agreement=Agreement(float("nan"), overlap))


def test_overlap_findings_leave_out_cases_where_a_map_is_zero_everywhere():
    cases = [
        SimpleNamespace(case_id="cat", comparisons=(comparison(0.6),)),
        SimpleNamespace(case_id="cup", comparisons=(comparison(0.2), comparison(float("nan")))),
        SimpleNamespace(case_id="blank", comparisons=(comparison(float("nan")),)),
    ]
    (sentence,) = overlap_findings(cases, {"a": "A", "b": "B"}, 5)
    assert sentence == "A and B share at least half of their top 5 LIME regions for the same class on 1 of 2 cases."
