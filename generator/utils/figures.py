"""The case figures, drawn with array operations and written with Pillow: deterministic PNG bytes.

Heatmaps are coloured through a lookup table of matplotlib's own colormap, blended over the crop
like matplotlib's `imshow(..., alpha=...)` would, enlarged `SCALE` times (nearest neighbour, sharp
on high-DPI screens) and set beside a colour bar that is drawn once per scale (`plots.colour_bar`).
Only the curves figure needs axes; they stay in `plots`.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from PIL import Image
from skimage.segmentation import mark_boundaries

from generator.utils import plots

SCALE = 2  # each crop pixel becomes SCALE x SCALE pixels
GAP = 6  # white pixels between a picture and its colour bar
WHITE = 255.0
COLOURS = 256  # entries of every colour table (matplotlib's colormaps have 256)
PNG_COMPRESSION = 1  # zlib level: 3x faster to write than Pillow's default 6, files about 15% larger

Pixel = TypeVar("Pixel", bound=np.generic)
RGB = NDArray[np.uint8]  # H x W x 3
Segments = NDArray[np.integer]  # H x W superpixel ids


def png_bytes(array: ArrayLike) -> bytes:
    return image_bytes(Image.fromarray(np.ascontiguousarray(array, dtype=np.uint8)))


def image_bytes(image: Image.Image, format: str = "PNG", max_side: int | None = None) -> bytes:
    image = image.copy()
    if max_side:
        image.thumbnail((max_side, max_side))
    buffer = io.BytesIO()
    image.save(buffer, format=format, **({"quality": 85} if format == "JPEG" else {"compress_level": PNG_COMPRESSION}))
    return buffer.getvalue()


def enlarged(array: NDArray[Pixel]) -> NDArray[Pixel]:
    return np.repeat(np.repeat(array, SCALE, axis=0), SCALE, axis=1)


def to_uint8(array: NDArray[np.floating]) -> RGB:
    return np.clip(np.round(array), 0, 255).astype(np.uint8)


def colour_index(values: ArrayLike, vmin: float, vmax: float) -> NDArray[np.uint8]:
    """Each value's entry (0-255) in a 256-colour table on [vmin, vmax], as matplotlib's Normalize + Colormap."""
    scaled = (np.asarray(values, dtype=np.float64) - vmin) / (vmax - vmin) * COLOURS
    return np.clip(np.floor(np.nan_to_num(scaled, nan=0.0)), 0, COLOURS - 1).astype(np.uint8)


def coloured(values: ArrayLike, name: str, vmin: float, vmax: float) -> NDArray[np.float64]:
    """`values` (H x W) through the colormap `name` on [vmin, vmax]."""
    return plots.colormap_table(name)[colour_index(values, vmin, vmax)].astype(np.float64)


def map_png(values: ArrayLike, vmin: float, vmax: float) -> bytes:
    """A map as an 8-bit grayscale PNG of its colour-table entries: the case page's viewer colours it in the
    browser through the same table (plots.colormap_table), so that its blend equals the static figure's."""
    return png_bytes(colour_index(values, vmin, vmax))


def over(top: NDArray[np.float64], bottom: NDArray[np.float64] | float, alpha: float) -> NDArray[np.float64]:
    """`top` drawn over `bottom` with opacity `alpha` (both float RGB on 0..255)."""
    return alpha * top + (1.0 - alpha) * bottom


def with_colour_bar(picture: RGB, name: str, vmin: float, vmax: float, label: str) -> RGB:
    bar = plots.colour_bar(name, float(vmin), float(vmax), label, picture.shape[0])
    gap = np.full((picture.shape[0], GAP, 3), 255, np.uint8)
    return np.concatenate([picture, gap, bar], axis=1)


def picture(array: ArrayLike) -> bytes:
    """An RGB array (uint8, or float on 0..1) as an enlarged PNG."""
    array = np.asarray(array)
    if array.dtype != np.uint8:
        array = to_uint8(array * 255.0)
    return png_bytes(enlarged(array))


HEATMAP_COLORMAP = "jet"  # a heatmap's colours, on [0, 1]
HEATMAP_OPACITY = 0.5
WEIGHT_COLORMAP = "RdBu_r"  # a signed weight map's colours, on [-scale, scale]


def overlay_pixels(crop_array: RGB, heatmap: NDArray[np.floating]) -> RGB:
    """The heatmap in jet at half opacity over the crop, at the crop's resolution (uint8 H x W x 3)."""
    colours = coloured(heatmap, HEATMAP_COLORMAP, 0.0, 1.0)
    return to_uint8(over(colours, crop_array.astype(np.float64), HEATMAP_OPACITY))


def heatmap_overlay(crop_array: RGB, heatmap: NDArray[np.floating]) -> bytes:
    """The heatmap in jet over the crop, with a colour bar of the normalised importance."""
    picture = enlarged(overlay_pixels(crop_array, heatmap))
    return png_bytes(with_colour_bar(picture, HEATMAP_COLORMAP, 0.0, 1.0, "importance"))


def weight_map_pixels(crop_array: RGB, segments: Segments, weights: NDArray[np.floating], scale: float) -> RGB:
    """Each superpixel in its weight's colour (RdBu_r on [-scale, scale]) over a faded crop, boundaries in grey."""
    faded = over(crop_array.astype(np.float64), WHITE, 0.35)
    painted = over(coloured(np.asarray(weights)[segments], WEIGHT_COLORMAP, -scale, scale), faded, 0.75)
    boundaries = mark_boundaries(np.zeros(crop_array.shape, dtype=float), segments, color=(0.3, 0.3, 0.3)) * 255.0
    return to_uint8(over(boundaries, painted, 0.15))


def lime_weight_map(
    crop_array: RGB, segments: Segments, weights: NDArray[np.floating], scale: float, label: str = "LIME weight"
) -> bytes:
    """Each superpixel painted with its weight (a LIME weight, a Shapley value) on a diverging scale shared by the
    case's models."""
    picture = enlarged(weight_map_pixels(crop_array, segments, weights, scale))
    return png_bytes(with_colour_bar(picture, WEIGHT_COLORMAP, -scale, scale, label))


def lime_order(weights: NDArray[np.floating]) -> list[int]:
    """Superpixel ids by decreasing |weight|, ties in id order: the order of lime's `local_exp`."""
    return sorted(range(len(weights)), key=lambda feature: -abs(weights[feature]))


def lime_image_and_mask(
    crop_array: RGB, segments: Segments, weights: NDArray[np.floating], num_features: int, positive_only: bool
) -> tuple[RGB, Segments]:
    """What lime's `ImageExplanation.get_image_and_mask(..., hide_rest=False)` returns, without lime.

    positive_only: the top `num_features` superpixels with positive weight, mask 1. Otherwise the top
    `num_features` by |weight|: mask 1 (green channel raised to the image's maximum) or -1 (red).
    """
    image, mask = crop_array.copy(), np.zeros(segments.shape, segments.dtype)
    order = lime_order(weights)
    if positive_only:
        for feature in [f for f in order if weights[f] > 0][:num_features]:
            mask[segments == feature] = 1
        return image, mask
    for feature in order[:num_features]:
        inside, negative = segments == feature, weights[feature] < 0
        mask[inside] = -1 if negative else 1
        image[inside, 0 if negative else 1] = np.max(crop_array)
    return image, mask


def lime_top_positive(crop_array: RGB, segments: Segments, weights: NDArray[np.floating], num_features: int) -> bytes:
    """As the reference: lime's top positive superpixels, outlined with mark_boundaries."""
    image, mask = lime_image_and_mask(crop_array, segments, weights, num_features, positive_only=True)
    return picture(mark_boundaries(image / 255.0, mask))


def lime_positive_negative(
    crop_array: RGB, segments: Segments, weights: NDArray[np.floating], num_features: int
) -> bytes:
    """lime's top superpixels by |weight|: green supports the class, red speaks against it."""
    image, mask = lime_image_and_mask(crop_array, segments, weights, num_features, positive_only=False)
    return picture(mark_boundaries(image / 255.0, mask))


def thumbnail(image: Image.Image, size: int = 160) -> bytes:
    return image_bytes(image.convert("RGB"), format="JPEG", max_side=size)


def crop_png(crop: Image.Image) -> bytes:
    return image_bytes(crop)


NICE_STEPS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def shared_weight_scale(weight_arrays: Iterable[NDArray[np.floating]]) -> float:
    """The colour scale of a case's weight maps: its largest |weight|, rounded up to a round number.

    Round numbers (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten: at most 25% above the peak)
    give readable colour-bar ticks, and a report's cases share a few scales, each bar drawn once.
    """
    peak = max((float(np.max(np.abs(w))) for w in weight_arrays if len(w)), default=0.0)
    return nice_ceiling(peak) if peak > 0 and np.isfinite(peak) else 1.0


def nice_ceiling(value: float) -> float:
    """The smallest NICE_STEPS number times a power of ten that is >= value (> 0)."""
    decade = 10.0 ** np.floor(np.log10(value))
    return float(next(step * decade for step in NICE_STEPS if step * decade >= value * (1 - 1e-12)))
