"""The tables of predictions (generator/render/prediction_tables.py): columns, derived arrows, escaped cells."""

from generator.render.prediction_tables import disagreement_table, top_k_table
from generator.render.worst_cases import ModelDisagreement
from generator.run.results import Prediction


def test_top_k_table_names_the_score_by_the_models_output_and_escapes_class_names():
    laid_out = top_k_table((Prediction(3, "hand-held *x*", 0.51234), Prediction(7, "cat", 0.2)), "logits")
    assert laid_out.header == ("#", "Class (index)", "Logit")
    assert laid_out.align == ("--:", "---", "--:")
    assert laid_out.rows == ((1, "hand\\-held \\*x\\* (3)", "0.5123"), (2, "cat (7)", "0.2000"))


def test_disagreement_table_derives_its_arrow_and_writes_both_predictions():
    row = ModelDisagreement("a", "A [1]", "R18", "R50", Prediction(1, "cat", 0.5), Prediction(2, "dog", 0.25), 3, 5)
    laid_out = disagreement_table((row,), top_k=5)
    assert laid_out.header == ("Case", "Models", "Top-1", "Top-5 classes shared ↑")
    assert laid_out.align == ("---", "---", "---", "--:")
    assert laid_out.rows == (("[A \\[1\\]](cases/a.md)", "R18 vs R50", "cat (50.0%) vs dog (25.0%)", "3 of 5"),)
