"""Cross-case sentences: each counts only the cases where its number is defined."""

from types import SimpleNamespace

import numpy as np

from generator.explain.lime import LimeResult
from generator.measure.map_agreement import Agreement, overlap_findings
from generator.render.observations import blank_sentences
from generator.run.results import ModelResult, Prediction


def comparison(overlap, k=5):
    agreement = Agreement(float("nan"), overlap, k, "superpixels")
    return SimpleNamespace(method="lime", model_a="a", model_b="b", agreement=agreement)


def test_overlap_findings_leave_out_cases_where_a_map_is_zero_everywhere():
    cases = [
        SimpleNamespace(case_id="cat", comparisons=(comparison(0.6),)),
        SimpleNamespace(case_id="cup", comparisons=(comparison(0.2), comparison(float("nan")))),
        SimpleNamespace(case_id="blank", comparisons=(comparison(float("nan")),)),
    ]
    (sentence,) = overlap_findings(cases, {"a": "A", "b": "B"})
    assert sentence == "A and B share at least half of their top 5 LIME regions for the same class on 1 of 2 cases."


def test_overlap_findings_name_the_k_the_overlaps_counted_and_say_k_when_they_differ():
    cases = [SimpleNamespace(case_id="cat", comparisons=(comparison(0.5, k=4),))]
    (sentence,) = overlap_findings(cases, {"a": "A", "b": "B"})
    assert "their top 4 LIME regions" in sentence
    cases.append(SimpleNamespace(case_id="cup", comparisons=(comparison(0.5, k=3),)))
    (sentence,) = overlap_findings(cases, {"a": "A", "b": "B"})
    assert "their top k LIME regions" in sentence and sentence.endswith("on 2 of 2 cases.")


def model_result(lime_weights):
    top = Prediction(index=3, name="tabby", probability=0.1)
    lime = {3: LimeResult(3, np.asarray(lime_weights, dtype=np.float64), 0.1, 0.0, 0.1)}
    return ModelResult("m", (top,), (3,), explanations={"lime": lime})


def test_an_explanation_zero_everywhere_is_said_and_a_real_one_is_not():
    (sentence,) = blank_sentences("Random twin", model_result(np.zeros(6)))
    assert sentence.startswith("Random twin's LIME explanation of tabby is zero everywhere")
    assert blank_sentences("Trained", model_result([0.0, 0.2, -0.1, 0.0, 0.0, 0.0])) == []
