"""The model input with the author's regions outlined and named, drawn with array operations.

Each region's outline is the ring of its mask's pixels that touch the outside, in one colour of the
Okabe-Ito palette (distinguishable with every common colour-vision deficiency), on the crop enlarged
`figures.SCALE` times; the object's outline is twice as thick. Each name is written in a box of the same
colour at the region's top-left corner (Pillow's own font: the same bytes on every machine with this Pillow).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from generator.utils.figures import RGB, SCALE, enlarged, png_bytes

PALETTE = (  # Okabe & Ito (2008), black left out: it vanishes on dark photos
    (230, 159, 0),
    (86, 180, 233),
    (0, 158, 115),
    (240, 228, 66),
    (0, 114, 178),
    (213, 94, 0),
    (204, 121, 167),
)
FONT_SIZE = 20  # on the enlarged picture: 10 px where the page shows it at the crop's size
LABEL_PADDING = 3
Box = tuple[int, int, int, int]  # left, top, right, bottom (exclusive) on the picture


@dataclass(frozen=True)
class Outline:
    name: str
    mask: NDArray[np.bool_]  # crop H x W
    is_object: bool


def region_colour(index: int) -> tuple[int, int, int]:
    return PALETTE[index % len(PALETTE)]


def ring(mask: NDArray[np.bool_], width: int) -> NDArray[np.bool_]:
    """The mask's pixels within `width` pixels (chessboard distance) of a pixel outside it or of the border."""
    inner = mask.copy()
    for _ in range(width):
        padded = np.pad(inner, 1, constant_values=False)
        inner = (
            inner
            & padded[:-2, 1:-1]
            & padded[2:, 1:-1]
            & padded[1:-1, :-2]
            & padded[1:-1, 2:]
            & padded[:-2, :-2]
            & padded[:-2, 2:]
            & padded[2:, :-2]
            & padded[2:, 2:]
        )
    return mask & ~inner


def outlined(crop_array: RGB, outlines: Sequence[Outline]) -> RGB:
    """The enlarged crop with each region's outline painted in its colour (the object's twice as thick)."""
    picture = enlarged(crop_array).copy()
    for index, outline in enumerate(outlines):
        edge = ring(enlarged(outline.mask), 2 * SCALE if outline.is_object else SCALE)
        picture[edge] = region_colour(index)
    return picture


def label_corner(mask: NDArray[np.bool_]) -> tuple[int, int]:
    """(x, y) of the region's top-left: its first row's first pixel, on the enlarged picture."""
    rows = np.flatnonzero(mask.any(axis=1))
    top = int(rows[0])
    left = int(np.flatnonzero(mask[top])[0])
    return left * SCALE, top * SCALE


def font_size(picture_width: int) -> int:
    """FONT_SIZE on the reference crop's picture (224 enlarged), in proportion on others, never below 8 px."""
    return max(8, round(FONT_SIZE * picture_width / (224 * SCALE)))


def overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def label_box(corner: tuple[int, int], size: tuple[int, int], picture: tuple[int, int], taken: Sequence[Box]) -> Box:
    """Where a label of `size` goes: above the region's corner where there is room, inside the picture, moved
    down below the labels already placed that it would cover."""
    (x, y), (width, height), (picture_width, picture_height) = corner, size, picture
    x = min(max(x, 0), max(picture_width - width, 0))
    y = min(max(y - height, 0), max(picture_height - height, 0))
    box = (x, y, x + width, y + height)
    while any(overlaps(box, other) for other in taken) and box[3] + height <= picture_height:
        box = (x, box[1] + height, x + width, box[3] + height)
    return box


def with_names(picture: RGB, outlines: Sequence[Outline]) -> RGB:
    """Each region's name in a box of its colour at its top-left corner, kept inside the picture."""
    image = Image.fromarray(picture)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=font_size(image.width))
    taken: list[Box] = []
    for index, outline in enumerate(outlines):
        left, top, right, bottom = draw.textbbox((0, 0), outline.name, font=font)
        size = (int(right - left) + 2 * LABEL_PADDING, int(bottom - top) + 2 * LABEL_PADDING)
        box = label_box(label_corner(outline.mask), size, (image.width, image.height), taken)
        taken.append(box)
        draw.rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=region_colour(index))
        draw.text((box[0] + LABEL_PADDING - left, box[1] + LABEL_PADDING - top), outline.name, fill=(0, 0, 0), font=font)
    return np.asarray(image, dtype=np.uint8)


def regions_picture(crop_array: RGB, outlines: Sequence[Outline]) -> bytes:
    """The crop, enlarged, with every region that reaches into it outlined and named (PNG bytes)."""
    shown = [outline for outline in outlines if outline.mask.any()]
    return png_bytes(with_names(outlined(crop_array, shown), shown))
