"""What needs axes, drawn with matplotlib: the faithfulness curves and the colour bars beside the heatmaps.

matplotlib is imported on first use, so that a rebuild that renders nothing never loads it. Colour
bars are drawn once per process for each scale and reused by every figure that shows the same one.
"""

import io
from collections import namedtuple
from functools import lru_cache

import numpy as np

DPI = 160  # sharp on high-DPI screens and larger in the lightbox
PNG_METADATA = {"Software": None}

# one line of the curves figure: plain arrays, so that drawing it needs none of the measuring code
Curve = namedtuple("Curve", "label fractions deletion insertion baseline")


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def figure_bytes(fig):
    plt = pyplot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", pad_inches=0.05, metadata=PNG_METADATA)
    plt.close(fig)
    return buffer.getvalue()


@lru_cache(maxsize=None)
def colormap_table(name):
    """The colormap's 256 colours as a 256 x 3 uint8 table (matplotlib's own colours, looked up once)."""
    import matplotlib

    return np.round(matplotlib.colormaps[name](np.arange(256))[:, :3] * 255).astype(np.uint8)


@lru_cache(maxsize=64)
def colour_bar(name, vmin, vmax, label, height):
    """A vertical colour bar with ticks and label, `height` pixels high, as an H x W x 3 uint8 array."""
    plt = pyplot()
    import matplotlib

    width = 0.78 if vmin < 0 else 0.66  # room for a minus sign
    fig = plt.figure(figsize=(width, height / DPI), dpi=DPI)
    bar = fig.add_axes((0.08, 0.04, 0.2 / width, 0.92))
    mappable = matplotlib.cm.ScalarMappable(matplotlib.colors.Normalize(vmin, vmax), name)
    colorbar = fig.colorbar(mappable, cax=bar)
    colorbar.set_label(label, fontsize=7)
    colorbar.ax.tick_params(labelsize=6)
    fig.canvas.draw()
    pixels = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    pixels.setflags(write=False)
    return pixels


def faithfulness_curves(curves, title=None):
    """Deletion and insertion curves side by side, as PNG bytes (see `faithfulness_figure`)."""
    return figure_bytes(faithfulness_figure(curves, title))


def faithfulness_figure(curves, title=None):
    """The curves' matplotlib figure; `curves` is [Curve] (a baseline is drawn dotted and grey).

    Constrained layout puts the legend below the axes, outside them and their labels, so that no text
    overlaps however many curves there are (tested on the drawn bounding boxes).
    """
    plt = pyplot()
    fig, (deletion, insertion) = plt.subplots(1, 2, figsize=(7.6, 3.2), sharey=True, layout="constrained")
    for curve in curves:
        style = {"linestyle": ":", "color": "0.45"} if curve.baseline else {}
        deletion.plot(curve.fractions, curve.deletion, label=curve.label, **style)
        insertion.plot(curve.fractions, curve.insertion, label=curve.label, **style)
    for ax, name, hint in ((deletion, "Deletion", "lower is better"), (insertion, "Insertion", "higher is better")):
        ax.set_title(f"{name} ({hint})", fontsize=9)
        ax.set_xlabel("share of pixels", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    deletion.set_ylabel("probability of the target", fontsize=8)
    handles, labels = deletion.get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, fontsize=7, loc="outside lower center", ncol=min(len(labels), 3))
    if title:
        fig.suptitle(title, fontsize=9)
    return fig
