"""PNG figures: deterministic bytes (no timestamps), one function per kind of figure."""

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from skimage.segmentation import mark_boundaries  # noqa: E402

DPI = 160  # sharp on high-DPI screens and larger in the lightbox
PNG_METADATA = {"Software": None}


def figure_bytes(fig):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", pad_inches=0.05, metadata=PNG_METADATA)
    plt.close(fig)
    return buffer.getvalue()


def image_bytes(image, format="PNG", max_side=None):
    image = image.copy()
    if max_side:
        image.thumbnail((max_side, max_side))
    buffer = io.BytesIO()
    image.save(buffer, format=format, **({"quality": 85} if format == "JPEG" else {}))
    return buffer.getvalue()


def picture(array):
    fig, ax = plt.subplots(figsize=(3.0, 3.0))
    ax.imshow(array)
    ax.set_axis_off()
    return figure_bytes(fig)


def heatmap_overlay(crop_array, heatmap):
    """The heatmap in jet over the crop, with a colour bar of the normalised importance."""
    fig, ax = plt.subplots(figsize=(3.4, 3.0))
    ax.imshow(crop_array)
    overlay = ax.imshow(heatmap, cmap="jet", alpha=0.5, vmin=0.0, vmax=1.0)
    ax.set_axis_off()
    fig.colorbar(overlay, ax=ax, fraction=0.046, pad=0.04, label="importance")
    return figure_bytes(fig)


def lime_explanation(crop_array, segments, result):
    from lime.lime_image import ImageExplanation  # imported on first use: a no-op rebuild renders no figure

    explanation = ImageExplanation(crop_array, segments)
    explanation.local_exp[result.target] = sorted(enumerate(result.weights), key=lambda item: -abs(item[1]))
    return explanation


def lime_top_positive(crop_array, segments, result, num_features):
    """As the reference: lime's top positive superpixels, outlined with mark_boundaries."""
    explanation = lime_explanation(crop_array, segments, result)
    image, mask = explanation.get_image_and_mask(
        result.target, positive_only=True, num_features=num_features, hide_rest=False
    )
    return picture(mark_boundaries(image / 255.0, mask))


def lime_positive_negative(crop_array, segments, result, num_features):
    """lime's top superpixels by |weight|: green supports the class, red speaks against it."""
    explanation = lime_explanation(crop_array, segments, result)
    image, mask = explanation.get_image_and_mask(
        result.target, positive_only=False, num_features=num_features, hide_rest=False
    )
    return picture(mark_boundaries(image / 255.0, mask))


def lime_weight_map(crop_array, segments, weights, scale):
    """Each superpixel painted with its weight on a diverging scale shared by the case's models."""
    fig, ax = plt.subplots(figsize=(3.4, 3.0))
    ax.imshow(crop_array, alpha=0.35)
    painted = ax.imshow(weights[segments], cmap="RdBu_r", vmin=-scale, vmax=scale, alpha=0.75)
    ax.imshow(mark_boundaries(np.zeros_like(crop_array, dtype=float), segments, color=(0.3, 0.3, 0.3)), alpha=0.15)
    ax.set_axis_off()
    fig.colorbar(painted, ax=ax, fraction=0.046, pad=0.04, label="LIME weight")
    return figure_bytes(fig)


def thumbnail(image, size=160):
    return image_bytes(image.convert("RGB"), format="JPEG", max_side=size)


def crop_png(crop):
    return image_bytes(crop)


def shared_weight_scale(weight_arrays):
    peak = max((float(np.max(np.abs(w))) for w in weight_arrays if len(w)), default=0.0)
    return peak if peak > 0 else 1.0


def faithfulness_curves(curves, title=None):
    """Deletion and insertion curves side by side, as PNG bytes (see `faithfulness_figure`)."""
    return figure_bytes(faithfulness_figure(curves, title))


def faithfulness_figure(curves, title=None):
    """The curves' matplotlib figure; `curves` is [(label, FaithfulnessResult, is_baseline)].

    Constrained layout puts the legend below the axes, outside them and their labels, so that no text
    overlaps however many curves there are (tested on the drawn bounding boxes).
    """
    fig, (deletion, insertion) = plt.subplots(1, 2, figsize=(7.6, 3.2), sharey=True, layout="constrained")
    for label, result, is_baseline in curves:
        style = {"linestyle": ":", "color": "0.45"} if is_baseline else {}
        deletion.plot(result.fractions, result.deletion_curve, label=label, **style)
        insertion.plot(result.fractions, result.insertion_curve, label=label, **style)
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
