"""The overview's plots: per model, method and headline measure, each case a dot beside the random map's value.

Plain SVG written here (no plotting library): a strip along the measure's axis, each case's dot (filled) joined to
its random-map baseline (hollow) by a thin line, cases spread over the strip's height by a jitter drawn from their
id (the same in every build). Each dot links to its case and says its numbers in a tooltip; the dots carry the
case table's own numbers (`data-value`, as the table prints them); outliers by Tukey's rule are named. The files
go under figures/_overview/ (a case id cannot begin with "_"), and the overview embeds them as objects, so that
their links work.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from generator.explain import EXPLAINERS
from generator.measure import MEASURES
from generator.measure.base import RANDOM_MAP
from generator.render.case_figures import figure_path

if TYPE_CHECKING:
    from generator.measure.base import MetricColumn, TargetMetrics
    from generator.run.models import LoadedModel
    from generator.run.results import CaseResult

PLOTS_FOLDER = "_overview"
WIDTH, LEFT, RIGHT, TOP, BAND, BOTTOM = 640, 24, 24, 46, 96, 62
METHOD_COLOUR, BASELINE_COLOUR = "#3f51b5", "#9e9e9e"
NAMED_OUTLIERS = 5


@dataclass(frozen=True)
class Dot:
    case_id: str
    title: str
    value: float
    shown: str  # the value as the case table prints it
    baseline: float | None  # the random map's value on the same case
    baseline_shown: str | None


@dataclass(frozen=True)
class DotPlot:
    path: str  # relative to the content folder
    title: str
    measure: str  # the column's header, arrow included
    higher_is_better: bool
    dots: tuple[Dot, ...]


def baseline_of(dot: Dot) -> float | None:
    """The random map's value on the dot's case, None where it has none (not measured, or undefined)."""
    return None if dot.baseline is None or math.isnan(dot.baseline) else dot.baseline


def beats_baseline(dots: Sequence[Dot], higher_is_better: bool) -> tuple[int, int]:
    """(cases where the method's value is better than the random map's, cases with both values)."""
    pairs = [(d.value, b) for d in dots if (b := baseline_of(d)) is not None]
    better = sum((v > b) if higher_is_better else (v < b) for v, b in pairs)
    return better, len(pairs)


def outliers(dots: Sequence[Dot]) -> list[Dot]:
    """Tukey's rule: values beyond 1.5 interquartile ranges from the quartiles, the most extreme first."""
    dots = [d for d in dots if not math.isnan(d.value)]
    if len(dots) < 4:
        return []
    values = np.array([d.value for d in dots])
    q1, q3 = np.percentile(values, [25, 75])
    low, high, middle = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1), float(np.median(values))
    found = [d for d in dots if d.value < low or d.value > high]
    return sorted(found, key=lambda d: -abs(d.value - middle))


def jitter(case_id: str) -> float:
    """A position in [0, 1) from the case id: the same in every build."""
    return int.from_bytes(hashlib.sha256(case_id.encode("utf-8")).digest()[:4], "big") / 2**32


def nice_ticks(low: float, high: float) -> list[float]:
    """3 to 6 round ticks covering [low, high]."""
    span = high - low
    step = 10 ** math.floor(math.log10(span / 4))
    for factor in (1, 2, 2.5, 5, 10):
        if span / (step * factor) <= 5:
            step *= factor
            break
    first = math.floor(low / step) * step
    return [round(first + i * step, 10) for i in range(int(math.ceil((high - first) / step)) + 1)]


def axis_range(dots: Sequence[Dot]) -> tuple[float, float]:
    values = [d.value for d in dots] + [b for d in dots if (b := baseline_of(d)) is not None]
    low, high = min(values), max(values)
    if high - low < 1e-9:
        low, high = low - 0.5, high + 0.5
    ticks = nice_ticks(low, high)
    return min(ticks[0], low), max(ticks[-1], high)


def plot_svg(plot: DotPlot, page_prefix: str = "") -> str:
    """The plot as a standalone SVG document; `page_prefix` leads from the SVG's folder to the case pages."""
    dots = [d for d in plot.dots if not math.isnan(d.value)]
    height = TOP + BAND + BOTTOM
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" '
        f'width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" aria-label={quoteattr(plot.title)} '
        'font-family="sans-serif" font-size="11">'
    )
    parts = [head, f"<title>{escape(plot.title)}</title>", STYLE, text(LEFT, 16, plot.title, weight="bold", size=13)]
    if not dots:
        parts += [text(LEFT, TOP + 20, "no case has a value"), "</svg>"]
        return "\n".join(parts) + "\n"
    better, compared = beats_baseline(dots, plot.higher_is_better)
    direction = "higher" if plot.higher_is_better else "lower"
    summary = f"better than the random map on {better} of {compared} cases ({direction} is better)"
    parts.append(text(LEFT, 32, summary if compared else f"{direction} is better", fill="#555"))
    low, high = axis_range(dots)

    def x(value: float) -> float:
        return round(LEFT + (value - low) / (high - low) * (WIDTH - LEFT - RIGHT), 1)

    def y(dot: Dot) -> float:
        return round(TOP + 8 + jitter(dot.case_id) * (BAND - 16), 1)

    parts += axis(low, high, x, plot.measure)
    paired = [(dot, baseline) for dot in dots if (baseline := baseline_of(dot)) is not None]
    if paired:  # one path joins every case to its baseline: a few bytes per case, not a line element each
        joins = "".join(f"M{x(dot.value)} {y(dot)}H{x(baseline)}" for dot, baseline in paired)
        parts.append(f'<path class="pair" d="{joins}"/>')
    parts += [
        f'<circle class="baseline" data-case={quoteattr(dot.case_id)} data-value="{dot.baseline_shown}" '
        f'cx="{x(baseline)}" cy="{y(dot)}" r="3.5"/>'
        for dot, baseline in paired
    ]
    for dot in dots:
        tip = f"{dot.title}: {dot.shown}" + (f" (random map: {dot.baseline_shown})" if dot.baseline_shown else "")
        parts.append(
            link(page_prefix, dot.case_id)
            + f'<circle class="dot" data-case={quoteattr(dot.case_id)} data-value="{dot.shown}" cx="{x(dot.value)}" '
            f'cy="{y(dot)}" r="4"><title>{escape(tip)}</title></circle></a>'
        )
    for dot in outliers(dots)[:NAMED_OUTLIERS]:
        anchor = "end" if x(dot.value) > WIDTH / 2 else "start"
        offset = -6 if anchor == "end" else 6
        parts.append(
            link(page_prefix, dot.case_id)
            + text(x(dot.value) + offset, y(dot) - 5, dot.title, cls="outlier-label", anchor=anchor)
            + "</a>"
        )
    parts += legend(height)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


# the dots' look, once per plot rather than on each of a thousand dots
STYLE = (
    f"<style>.dot{{fill:{METHOD_COLOUR};fill-opacity:.85}}.baseline{{fill:white;stroke:{BASELINE_COLOUR}}}"
    f".pair{{fill:none;stroke:{BASELINE_COLOUR};stroke-width:.8}}</style>"
)


def link(page_prefix: str, case_id: str) -> str:
    return f'<a href={quoteattr(f"{page_prefix}cases/{case_id}.html")} target="_top">'


def text(
    x: float,
    y: float,
    content: str,
    cls: str = "",
    anchor: str = "start",
    weight: str = "normal",
    size: int = 11,
    fill: str = "#222",
) -> str:
    klass = f' class="{cls}"' if cls else ""
    return (
        f'<text{klass} x="{x}" y="{y}" text-anchor="{anchor}" font-weight="{weight}" font-size="{size}" '
        f'fill="{fill}">{escape(content)}</text>'
    )


def axis(low: float, high: float, place: Callable[[float], float], measure: str) -> list[str]:
    base = TOP + BAND
    parts = [f'<line x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}" stroke="#444"/>']
    for tick in nice_ticks(low, high):
        if low - 1e-12 <= tick <= high + 1e-12:
            parts.append(f'<line x1="{place(tick)}" y1="{base}" x2="{place(tick)}" y2="{base + 4}" stroke="#444"/>')
            parts.append(text(place(tick), base + 16, f"{tick:g}", anchor="middle"))
    parts.append(text((LEFT + WIDTH - RIGHT) / 2, base + 32, measure, anchor="middle"))
    return parts


def legend(height: int) -> list[str]:
    y = height - 10
    return [
        f'<circle cx="{LEFT + 4}" cy="{y - 4}" r="4" fill="{METHOD_COLOUR}"/>',
        text(LEFT + 12, y, "a case (links to its page)"),
        f'<circle cx="{LEFT + 184}" cy="{y - 4}" r="3.5" fill="white" stroke="{BASELINE_COLOUR}"/>',
        text(LEFT + 192, y, "the random map on the same case"),
    ]


def headline_columns(method: str, records: Sequence[TargetMetrics]) -> list[tuple[MetricColumn, MetricColumn]]:
    """(the method's column, the random map's) of each headline column of the measures with a random baseline."""
    pairs = []
    for measure in (m for m in MEASURES.values() if m.baseline):
        mine, theirs = ([c for c in measure.columns(records, [key]) if c.in_overview] for key in (method, RANDOM_MAP))
        pairs += list(zip(mine, theirs))
    return pairs


def overview_plots(cases: Sequence[CaseResult], models: Sequence[LoadedModel]) -> list[DotPlot]:
    """Per model, method and headline measure that some case has: its explanations of its own top-1 class."""
    plots = []
    for model in models:
        own = [(case, case.models[model.key].own_metrics) for case in cases if model.key in case.models]
        records = [(case, metrics) for case, metrics in own if metrics is not None]
        compared = [m.name for m in MEASURES.values() if m.baseline]
        methods = {name for _, m in records for measure in compared for name in m.of(measure) if name != RANDOM_MAP}
        for method in [name for name in EXPLAINERS if name in methods]:
            for column, baseline in headline_columns(method, [m for _, m in records]):
                dots = tuple(
                    Dot(
                        case.case_id,
                        case.spec.title or case.case_id,
                        value,
                        column.number(value),
                        base,
                        None if base is None else baseline.number(base),
                    )
                    for case, metrics in records
                    if (value := column.value(metrics)) is not None and not math.isnan(value)
                    for base in [baseline.value(metrics)]
                )
                if dots:
                    name = f"{model.key}-{slug(column.header)}.svg"
                    title = f"{model.label} · {column.header}"
                    path = figure_path(PLOTS_FOLDER, name)
                    plots.append(DotPlot(path, title, column.header, column.higher_is_better, dots))
    return plots


def slug(header: str) -> str:
    words = "".join(ch.lower() if ch.isalnum() else " " for ch in header).split()
    return "-".join(words)
