"""The overview's dot plots: the SVG's dots, baselines, links, counts, outliers and text, on known values."""

import math
import re
import xml.etree.ElementTree as ET

from generator.render.dot_plots import Dot, DotPlot, beats_baseline, outliers, plot_svg

SVG = "{http://www.w3.org/2000/svg}"


def dots(values, baselines=None):
    baselines = baselines or [None] * len(values)
    return tuple(
        Dot(f"case-{i}", f"Case {i}", v, f"{v:.3f}", b, None if b is None else f"{b:.3f}")
        for i, (v, b) in enumerate(zip(values, baselines))
    )


def parsed(plot, prefix=""):
    return ET.fromstring(plot_svg(plot, prefix))


def circles(root, cls):
    return [c for c in root.iter(f"{SVG}circle") if c.get("class") == cls]


def test_one_dot_per_case_with_the_printed_value_and_its_link():
    values, baselines = [0.1234, 0.5, 0.25], [0.3, 0.31, None]
    root = parsed(DotPlot("p.svg", "M · insertion AUC ↑", "insertion AUC ↑", True, dots(values, baselines)), "../../")
    shown = circles(root, "dot")
    assert [(c.get("data-case"), c.get("data-value")) for c in shown] == [
        ("case-0", "0.123"),
        ("case-1", "0.500"),
        ("case-2", "0.250"),
    ]
    assert [c.get("data-value") for c in circles(root, "baseline")] == ["0.300", "0.310"]
    links = [a.get("href") for a in root.iter(f"{SVG}a")]
    assert links[:3] == ["../../cases/case-0.html", "../../cases/case-1.html", "../../cases/case-2.html"]
    xs = [float(c.get("cx")) for c in shown]
    assert xs[0] < xs[2] < xs[1] and all(24 <= x <= 616 for x in xs)
    # one path joins each case's dot to its baseline, at the dot's height
    (pair,) = [p for p in root.iter(f"{SVG}path") if p.get("class") == "pair"]
    joins = re.findall(r"M([-\d.]+) ([-\d.]+)H([-\d.]+)", pair.get("d"))
    assert joins == [(c.get("cx"), c.get("cy"), b.get("cx")) for c, b in zip(shown, circles(root, "baseline"))]


def test_the_count_of_cases_that_beat_the_random_map():
    values = [0.5] * 9
    baselines = [0.2] * 8 + [0.9]
    assert beats_baseline(dots(values, baselines), higher_is_better=True) == (8, 9)
    assert beats_baseline(dots(values, baselines), higher_is_better=False) == (1, 9)
    text = plot_svg(DotPlot("p.svg", "t", "m ↑", True, dots(values, baselines)))
    assert "better than the random map on 8 of 9 cases" in text


def test_outliers_are_found_and_named():
    values = [1.0, 1.1, 1.2, 1.15, 1.05, 5.0]
    found = outliers(dots(values))
    assert [d.case_id for d in found] == ["case-5"]
    assert outliers(dots([1.0, 2.0, 9.0])) == []  # too few to tell
    root = parsed(DotPlot("p.svg", "t", "m ↓", False, dots(values)))
    labels = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "outlier-label"]
    assert labels == ["Case 5"]


def test_text_is_escaped_and_the_output_is_deterministic():
    tricky = (Dot("a", '<Tom & "Jerry">', 0.5, "0.500", 0.1, "0.100"),)
    plot = DotPlot("p.svg", 'M & <m>', "m ↑", True, tricky)
    root = parsed(plot)
    assert root.get("aria-label") == "M & <m>"
    assert plot_svg(plot) == plot_svg(plot)


def test_no_value_and_equal_values():
    empty = parsed(DotPlot("p.svg", "t", "m ↑", True, dots([math.nan])))
    assert circles(empty, "dot") == [] and "no case has a value" in ET.tostring(empty, encoding="unicode")
    flat = parsed(DotPlot("p.svg", "t", "m ↑", True, dots([0.4, 0.4, 0.4])))
    assert len({c.get("cx") for c in circles(flat, "dot")}) == 1 and len(circles(flat, "dot")) == 3


def test_an_undefined_baseline_draws_no_hollow_dot_and_leaves_the_axis_alone():
    root = parsed(DotPlot("p.svg", "t", "m ↑", True, dots([0.2, 0.4], [math.nan, 0.3])))
    assert [c.get("data-value") for c in circles(root, "baseline")] == ["0.300"]
    assert all(not math.isnan(float(c.get("cx"))) for c in circles(root, "dot"))
    assert beats_baseline(dots([0.2, 0.4], [math.nan, 0.3]), True) == (1, 1)
