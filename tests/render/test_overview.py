"""The overview at scale: its worst-case rankings (known numbers, known order), its case table's rows and the
marker each row carries for the sort-and-filter script, and the sections that vanish with their measurement.

Built from hand-made results; no model runs. The script itself is tested in Chromium (tests/browser/test_browser.py).
"""

import html
from html.parser import HTMLParser
from types import SimpleNamespace

import markdown
import numpy as np
import pytest

from generator.explain.stability import Stability
from generator.manifest.schema import CaseSpec
from generator.measure.base import TargetMetrics
from generator.measure.faithfulness import FaithfulnessResult
from generator.measure.map_agreement import Agreement
from generator.render.metric_tables import overview_columns
from generator.render.overview import attribute_text, case_table, overview_table, row_marker
from generator.render.page_data import CasePage, ModelColumn
from generator.render.pages import template_environment
from generator.render.prediction_tables import disagreement_table
from generator.render.worst_cases import worst_cases
from generator.run.results import CaseResult, ModelResult, Prediction

R18, R50, VIT = (SimpleNamespace(key=k, label=label) for k, label in (("r18", "R18"), ("r50", "R50"), ("vit", "ViT")))


def curves(deletion, insertion):
    return FaithfulnessResult(np.zeros(2), np.zeros(2), np.zeros(2), deletion, insertion)


def measured(target, faithfulness=None, stability=None, **extra):
    names = {"methods_agreement": "map_agreement"}  # the measure's registered name
    fields = {names.get(key, key): value for key, value in extra.items()}
    return TargetMetrics(target, {"faithfulness": faithfulness or {}, "stability": stability or {}, **fields})


def stability(jaccard, spread=0.5):
    return Stability(jaccard, spread, jaccard >= 0.6)


def result(key, top, metrics=None):
    """A ModelResult whose top-k are the class indices `top` (top-1 first), measured on its top-1 class."""
    top_k = tuple(Prediction(index, f"class {index}", 0.5 / (rank + 1)) for rank, index in enumerate(top))
    return ModelResult(key, top_k, (top[0],), metrics={top[0]: metrics} if metrics else {})


def case(case_id, *results, title=None):
    spec = CaseSpec(image=f"images/{case_id}.png", id=case_id, title=title)
    return CaseResult(spec, None, None, None, {r.model_key: r for r in results})


def faithful_case(case_id, deletion, insertion, model=R18, random=(0.1, 0.1)):
    faithfulness = {"gradcam": curves(deletion, insertion), "random": curves(*random)}
    return case(case_id, result(model.key, (1, 2, 3), measured(1, faithfulness)))


# --------------------------------------------------------------------------- rankings


def test_least_faithful_ranks_by_insertion_minus_deletion_ties_in_manifest_order():
    cases = [
        faithful_case("a", 0.1, 0.5),  # margin 0.4
        faithful_case("b", 0.3, 0.2),  # -0.1: the least faithful
        faithful_case("c", 0.1, 0.3),  # 0.2
        faithful_case("d", 0.1, 0.3),  # 0.2, a tie with c: manifest order
        faithful_case("e", 0.2, 0.3, random=(0.2, 0.5)),  # 0.1
    ]
    worst = worst_cases(cases, [R18])
    (gradcam,) = worst.of("faithfulness")
    assert gradcam.title == "Grad-CAM"
    assert [row.case_id for row in gradcam.rows] == ["b", "e", "c", "d", "a"]
    assert [row.margin for row in gradcam.rows] == pytest.approx([-0.1, 0.1, 0.2, 0.2, 0.4])
    assert [row.baseline for row in gradcam.rows] == pytest.approx([0.0, 0.3, 0.0, 0.0, 0.0])
    assert [row.case_id for row in worst_cases(cases, [R18], limit=2).of("faithfulness")[0].rows] == ["b", "e"]
    assert worst.of("stability") == () and worst.disagreements is None and not worst.show_model


def test_least_stable_ranks_every_model_by_jaccard_ties_in_manifest_then_model_order():
    def lime_case(case_id, j18, j50):
        return case(
            case_id,
            result("r18", (1,), measured(1, stability={"lime": stability(j18)})),
            result("r50", (1,), measured(1, stability={"lime": stability(j50)})),
        )

    cases = [lime_case("a", 0.9, 0.4), lime_case("b", 0.4, 0.2), lime_case("c", 1.0, 0.7)]
    (lime,) = worst_cases(cases, [R18, R50]).of("stability")
    assert lime.title == "LIME"
    assert [(row.case_id, row.model) for row in lime.rows] == [
        ("b", "R50"),
        ("a", "R50"),  # 0.4 twice: case a comes first in the manifest
        ("b", "R18"),
        ("c", "R50"),
        ("a", "R18"),
        ("c", "R18"),
    ]
    assert [row.stability.mean_jaccard for row in lime.rows] == [0.2, 0.4, 0.4, 0.7, 0.9, 1.0]


def test_models_disagree_most_where_top1_differs_then_where_fewest_top_k_classes_are_shared():
    cases = [
        case("same", result("r18", (1, 2, 3)), result("r50", (1, 2, 3))),  # full agreement: not listed
        case("some", result("r18", (1, 2, 3)), result("r50", (2, 1, 4))),  # top-1 differs, 2 of 3 shared
        case("close", result("r18", (1, 2, 3)), result("r50", (1, 5, 6))),  # same top-1, 1 of 3 shared
        case("far", result("r18", (1, 2, 3)), result("r50", (4, 5, 6))),  # top-1 differs, nothing shared
        case("far-too", result("r18", (7, 8, 9)), result("r50", (4, 5, 6))),  # a tie with "far"
    ]
    rows = worst_cases(cases, [R18, R50]).disagreements
    assert [row.case_id for row in rows] == ["far", "far-too", "some", "close"]
    assert [(row.shared, row.of, row.same_top1) for row in rows] == [
        (0, 3, False),
        (0, 3, False),
        (2, 3, False),
        (1, 3, True),
    ]
    assert (rows[0].model_a, rows[0].model_b, rows[0].top1_a.index, rows[0].top1_b.index) == ("R18", "R50", 1, 4)


def test_with_three_models_each_case_shows_its_most_different_pair():
    cases = [case("x", result("r18", (1, 2)), result("r50", (1, 2)), result("vit", (3, 1)))]
    (row,) = worst_cases(cases, [R18, R50, VIT]).disagreements
    assert (row.model_a, row.model_b, row.shared) == ("R18", "ViT", 1)


def test_nan_and_missing_measurements_are_left_out_of_the_rankings():
    cases = [
        faithful_case("nan", float("nan"), 0.5),
        faithful_case("ok", 0.2, 0.5),
        case("unmeasured", result("r18", (1, 2))),
    ]
    assert [row.case_id for row in worst_cases(cases, [R18]).of("faithfulness")[0].rows] == ["ok"]


# --------------------------------------------------------------------------- sections vanish with their measurement


def render_sections(worst, models):
    template = template_environment().get_template("_worst_cases.md.j2")
    disagreements = disagreement_table(worst.disagreements or (), top_k=3)  # as the page builder hands it over
    return template.render(
        worst=worst,
        models=models,
        manifest=SimpleNamespace(top_k=3),
        stable_threshold=0.6,
        model_disagreements=disagreements,
    )


SECTIONS = ("## Where the models disagree most", "## Least faithful explanations", "## Least stable LIME")


def everything_case(case_id, with_faithfulness=True, with_stability=True):
    def measures(model_top):
        return measured(
            model_top,
            {"gradcam": curves(0.2, 0.4)} if with_faithfulness else {},
            {"lime": stability(0.5)} if with_stability else {},
        )

    return case(case_id, result("r18", (1, 2, 3), measures(1)), result("r50", (2, 1, 3), measures(2)))


@pytest.mark.parametrize(
    "models, faithfulness, stable, shown",
    [
        ((R18, R50), True, True, SECTIONS),
        ((R18,), True, True, SECTIONS[1:]),
        ((R18, R50), False, True, (SECTIONS[0], SECTIONS[2])),
        ((R18, R50), True, False, SECTIONS[:2]),
        ((R18,), False, False, ()),
    ],
    ids=["all", "one-model", "faithfulness-off", "stability-off", "nothing"],
)
def test_sections_appear_exactly_when_their_measurement_ran(models, faithfulness, stable, shown):
    cases = [everything_case(c, faithfulness, stable) for c in ("a", "b")]
    text = render_sections(worst_cases(cases, list(models)), models)
    assert [heading for heading in SECTIONS if heading in text] == list(shown)
    assert ("| Model |" in text) == (len(models) > 1)
    if shown:
        assert "[a](cases/a.md)" in text and "[b](cases/b.md)" in text
    else:
        assert text.strip() == ""


def test_agreeing_models_get_a_sentence_not_an_empty_table():
    cases = [case("a", result("r18", (1, 2, 3)), result("r50", (1, 3, 2)))]
    text = render_sections(worst_cases(cases, [R18, R50]), (R18, R50))
    assert "## Where the models disagree most" in text and "| Case |" not in text
    assert "On every case the models predict the same top-1 class and the same top-3 classes." in text


# --------------------------------------------------------------------------- the case table


def page_of(case_result, models, label=None):
    columns = tuple(
        ModelColumn(
            key=m.key,
            label=m.label,
            weights="",
            is_random=False,
            top_k=case_result.models[m.key].top_k,
            targets=(),
            correct=None if label is None else case_result.models[m.key].top1.index == label,
        )
        for m in models
    )
    agree = len({c.top_k[0].index for c in columns}) == 1
    return CasePage(case_result.case_id, case_result.spec.title or case_result.case_id, "", None, columns, agree, ())


def test_case_table_has_a_row_per_case_and_model_with_headline_numbers_as_data_values():
    faithfulness = {"gradcam": curves(0.25, 0.5), "random": curves(0.1, 0.1)}
    agreement = {"gradcam|lime": Agreement(0.5, 0.4, 5, "superpixels")}
    first = case(
        "a",
        result("r18", (1, 2), measured(1, faithfulness, {"lime": stability(0.3, 0.7)}, methods_agreement=agreement)),
        result("r50", (2, 1)),  # nothing measured: its cells say so
    )
    table = overview_table([first], [page_of(first, (R18, R50), label=1)], 2)
    assert table.compared and table.metric_headers == (
        "Grad-CAM deletion AUC ↓",
        "Grad-CAM insertion AUC ↑",
        "Grad-CAM vs LIME ρ ↑",
        "LIME stability (Jaccard) ↑",
    )  # no random baseline, no top-k overlap, no weight spread: the case pages hold those
    r18, r50 = table.rows
    assert (r18.model, r18.correct, r50.model, r50.correct, r18.agree) == ("R18", True, "R50", False, False)
    assert r18.metrics == (
        '<data value="0.25">0.250</data>',
        '<data value="0.5">0.500</data>',
        '<data value="0.5">0.50</data>',
        '<data value="0.3">0.30 ⚠</data>',
    )
    assert all(">—</abbr>" in cell for cell in r50.metrics)
    assert 'data-model="R18"' in r18.marker and 'data-result="correct"' in r18.marker
    assert 'data-result="wrong"' in r50.marker and 'data-agree="no"' in r50.marker


def test_case_table_lays_out_its_columns_with_derived_arrows_and_the_row_cells():
    first = case("a", result("r18", (1, 2), measured(1, {"gradcam": curves(0.25, 0.5)})), result("r50", (2, 1)))
    laid_out = case_table(overview_table([first], [page_of(first, (R18, R50), label=1)], 2), "R18")
    assert laid_out.header == ("Case", "Model", "Top-1", "Agree", "Grad-CAM deletion AUC ↓", "Grad-CAM insertion AUC ↑")
    assert laid_out.align == ("---",) * 4 + ("--:",) * 2
    r18, r50 = laid_out.rows
    assert r18[0].startswith("[a](cases/a.md)<span") and (r18[1], r18[3], r50[1]) == ("R18", "**no**", "R50")
    assert r18[2] == "class 1 (50.0%) · correct" and r50[2] == "class 2 (50.0%) · **wrong**"
    assert r18[4] == '<data value="0.25">0.250</data>'


def test_one_model_heads_the_top1_column_with_its_label_escaped_and_no_ground_truth_leaves_no_column():
    only = case("a", result("r18", (1,)))
    laid_out = case_table(overview_table([only], [page_of(only, (R18,))], 1), "R*18")
    assert laid_out.header == ("Case", "R\\*18 top-1")
    assert laid_out.rows[0][1].endswith(")")  # no verdict without a ground truth


def test_one_model_and_no_ground_truth_leave_no_marker_attribute_for_them():
    page = page_of(case("a", result("r18", (1,))), (R18,))
    marker = row_marker(page, page.columns[0], compared=False)
    assert "data-agree" not in marker and "data-result" not in marker and 'data-model="R18"' in marker


def test_overview_columns_follow_what_was_measured():
    assert overview_columns([measured(1)]) == []
    headers = [c.header for c in overview_columns([measured(1, stability={"lime": stability(1.0)})])]
    assert headers == ["LIME stability (Jaccard) ↑"]


class Attributes(HTMLParser):
    def __init__(self):
        super().__init__()
        self.spans, self.cells = [], 0

    def handle_starttag(self, tag, attrs):
        if tag == "span":
            self.spans.append(dict(attrs))
        self.cells += tag == "td"


HOSTILE = 'Cats & <b>"bold"</b> | pipe `code` [link](x) \\ *star* _under_ {attr} #1 ü'


def test_row_marker_survives_markdown_with_any_title():
    column = ModelColumn("r18", "R18 | <i>", "", False, (Prediction(1, "tabby", 0.5),), (), True)
    page = CasePage("a", HOSTILE, "", "tiger cat", (column,), True, ())
    row = f"| x{row_marker(page, column, compared=True)} | y |"
    rendered = markdown.markdown(f"| A | B |\n|---|---|\n{row}\n", extensions=["tables", "attr_list", "md_in_html"])
    parsed = Attributes()
    parsed.feed(rendered)
    assert parsed.cells == 2, rendered
    (span,) = parsed.spans
    assert span["class"] == "case-row" and "hidden" in span
    assert span["data-model"] == "R18 | <i>"
    assert span["data-search"] == f"a {' '.join(HOSTILE.split())} tiger cat tabby"
    assert html.unescape(attribute_text(HOSTILE)) == " ".join(HOSTILE.split())


def test_each_dot_of_the_overview_plots_prints_its_value_as_the_case_table_does():
    """The plots' dots carry the value the case table shows (its format, not the raw float), and the random map's."""
    from generator.render.dot_plots import overview_plots

    first = faithful_case("a", 0.123456, 0.654321, random=(0.2468, 0.1357))
    (deletion, insertion) = overview_plots([first], [R18])
    assert [(p.measure, d.shown, d.baseline_shown) for p in (deletion, insertion) for d in p.dots] == [
        ("Grad-CAM deletion AUC ↓", "0.123", "0.247"),
        ("Grad-CAM insertion AUC ↑", "0.654", "0.136"),
    ]
