"""No text of the curves figure overlaps another: legend, axis labels, tick labels and titles are apart."""

import itertools

import matplotlib.pyplot as plt
import numpy as np
import pytest

from generator.utils.plots import Curve, deletion_insertion_figure


def curve(label, level, baseline=False):
    fractions = np.linspace(0, 1, 9)
    return Curve(label, fractions, level * (1 - fractions), level * fractions, baseline)


def text_boxes(fig):
    """(name, window extent) of every visible text and of the legend, after drawing."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [("legend", legend.get_window_extent(renderer)) for legend in fig.legends]
    if fig._suptitle is not None:
        boxes.append(("suptitle", fig._suptitle.get_window_extent(renderer)))
    for i, ax in enumerate(fig.axes):
        texts = [ax.title, ax.xaxis.label, ax.yaxis.label, *drawn_tick_labels(ax.xaxis), *drawn_tick_labels(ax.yaxis)]
        boxes += [(f"axes {i} {t.get_text()!r}", t.get_window_extent(renderer)) for t in texts if t.get_text()]
    return boxes


def drawn_tick_labels(axis):
    """Tick labels matplotlib draws: visible, and at a tick inside the axis' view (others are not drawn)."""
    low, high = sorted(axis.get_view_interval())
    return [
        tick.label1
        for tick in axis.get_major_ticks()
        if tick.label1.get_visible() and tick.get_visible() and low <= tick.get_loc() <= high
    ]


@pytest.mark.parametrize("count", [1, 3, 5, 7])  # the old legend covered the x label from 5 curves on
def test_curves_figure_has_no_overlapping_text(count):
    curves = [curve(f"Model {i} Grad-CAM explanation", 0.2 + 0.1 * i) for i in range(count - 1)]
    curves.append(curve("random order (Model 0)", 0.5, baseline=True))
    fig = deletion_insertion_figure(curves, "Each model's explanations of its own top-1 class")
    try:
        boxes = text_boxes(fig)
        assert any(name == "legend" for name, _ in boxes)
        overlapping = [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2) if box_a.overlaps(box_b)]
        assert overlapping == []
        legend = next(box for name, box in boxes if name == "legend")
        for ax in fig.axes:  # below the plotting area and its x label, not on them
            assert legend.y1 <= ax.xaxis.label.get_window_extent().y0
    finally:
        plt.close(fig)
