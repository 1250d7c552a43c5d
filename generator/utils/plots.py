"""What needs axes, drawn with matplotlib: the deletion and insertion curves and the colour bars beside the heatmaps.

matplotlib is imported on first use, so that a rebuild that renders nothing never loads it. Colour
bars are drawn once per process for each scale and reused by every figure that shows the same one.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Literal, NamedTuple

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

DPI = 160  # sharp on high-DPI screens and larger in the lightbox
PNG_METADATA = {"Software": None}


class Curve(NamedTuple):
    """One line of the curves figure: plain arrays, so that drawing it needs none of the measuring code."""

    label: str
    fractions: NDArray[np.float64]
    deletion: NDArray[np.float64]
    insertion: NDArray[np.float64]
    baseline: bool


def agg_figure(
    figsize: tuple[float, float], dpi: float | None = None, layout: Literal["constrained"] | None = None
) -> tuple[Figure, FigureCanvasAgg]:
    """A figure that draws into memory (Agg), made without pyplot: pyplot would hold it open until closed, a
    plain Figure goes when nothing refers to it (the curves' laid-out figures are cached and dropped)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi, layout=layout)
    return fig, FigureCanvasAgg(fig)


@lru_cache(maxsize=None)
def colormap_table(name: str) -> NDArray[np.uint8]:
    """The colormap's 256 colours as a 256 x 3 uint8 table (matplotlib's own colours, looked up once)."""
    import matplotlib

    return np.round(matplotlib.colormaps[name](np.arange(256))[:, :3] * 255).astype(np.uint8)


@lru_cache(maxsize=64)
def colour_bar(name: str, vmin: float, vmax: float, label: str, height: int) -> NDArray[np.uint8]:
    """A vertical colour bar with ticks and label, `height` pixels high, as an H x W x 3 uint8 array."""
    import matplotlib

    width = 0.78 if vmin < 0 else 0.66  # room for a minus sign
    fig, canvas = agg_figure((width, height / DPI), dpi=DPI)
    bar = fig.add_axes((0.08, 0.04, 0.2 / width, 0.92))
    mappable = matplotlib.cm.ScalarMappable(matplotlib.colors.Normalize(vmin, vmax), name)
    colorbar = fig.colorbar(mappable, cax=bar)
    colorbar.set_label(label, fontsize=7)
    colorbar.ax.tick_params(labelsize=6)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())[..., :3].copy()
    pixels.setflags(write=False)
    return pixels


def deletion_insertion_curves(curves: Sequence[Curve], title: str | None = None) -> bytes:
    """Deletion and insertion curves side by side, as PNG bytes (see `deletion_insertion_figure`).

    The figure of one set of lines (labels, styles, title) is laid out once per process and kept: each
    case then only moves its lines' points and draws again, which takes half the time of a new figure.
    The axes are fixed (probabilities on [0, 1]), so the layout does not depend on the points.
    """
    fig = laid_out_figure(tuple((curve.label, curve.baseline) for curve in curves), title)
    deletion, insertion = fig.axes[:2]
    for curve, deleted, inserted in zip(curves, deletion.lines, insertion.lines, strict=True):
        deleted.set_data(curve.fractions, curve.deletion)
        inserted.set_data(curve.fractions, curve.insertion)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata=PNG_METADATA)
    return buffer.getvalue()


@lru_cache(maxsize=8)
def laid_out_figure(lines: tuple[tuple[str, bool], ...], title: str | None) -> Figure:
    """The curves figure for `lines` ((label, is_baseline), ...), drawn once so that its layout is fixed."""
    empty = np.zeros(0)
    fig = deletion_insertion_figure([Curve(label, empty, empty, empty, baseline) for label, baseline in lines], title)
    fig.canvas.draw()
    fig.set_layout_engine("none")
    return fig


def deletion_insertion_figure(curves: Sequence[Curve], title: str | None = None) -> Figure:
    """The curves' matplotlib figure; `curves` is [Curve] (a baseline is drawn dotted and grey).

    Constrained layout puts the legend below the axes, outside them and their labels, so that no text
    overlaps however many curves there are (tested on the drawn bounding boxes).
    """
    fig, _ = agg_figure((7.6, 3.2), layout="constrained")
    deletion, insertion = fig.subplots(1, 2, sharey=True)
    for curve in curves:
        style = {"linestyle": ":", "color": "0.45"} if curve.baseline else {}
        deletion.plot(curve.fractions, curve.deletion, label=curve.label, **style)
        insertion.plot(curve.fractions, curve.insertion, label=curve.label, **style)
    for ax, name, hint in ((deletion, "Deletion", "lower is better"), (insertion, "Insertion", "higher is better")):
        ax.set_title(f"{name} ({hint})", fontsize=9)
        ax.set_xlabel("share of pixels", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        ax.set_xlim(-0.05, 1.05)
        ax.set_ylim(-0.05, 1.05)  # probabilities: one scale on every case page
    deletion.set_ylabel("probability of the target", fontsize=8)
    handles, labels = deletion.get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, fontsize=7, loc="outside lower center", ncol=min(len(labels), 3))
    if title:
        fig.suptitle(title, fontsize=9)
    return fig
