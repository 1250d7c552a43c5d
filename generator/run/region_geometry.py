"""Carry a case's regions from the photo onto the crop the models see: Resize((H, W)), then CenterCrop(crop).

A resized pixel is inside a region when its centre, mapped back onto the photo, is (the centre convention
of PIL's resize, which torchvision's Resize uses), so a region's crop mask lines up with the crop's pixels.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.path import Path as PolygonPath
from numpy.typing import NDArray
from PIL import Image, ImageOps

from generator.manifest.annotations import ANNOTATION_KINDS, AnnotationError, read_annotations
from generator.manifest.regions import BoxRegion, MaskRegion, PolygonRegion
from generator.run.images import check_pixel_count
from generator.utils.errors import CaseError
from generator.utils.records import result_type

if TYPE_CHECKING:
    from generator.manifest.schema import CaseSpec, PreprocessSpec

AnyShape = BoxRegion | PolygonRegion | MaskRegion
Bounds = tuple[float, float, float, float]  # x0, y0, x1, y1 in the photo's pixels
Mask = NDArray[np.bool_]


class RegionError(ValueError):
    """A region that cannot be carried onto the crop (an unreadable or empty mask image)."""


@result_type
@dataclass(frozen=True)
class CropRegion:
    """One named region on the crop the models see."""

    name: str
    kind: str  # "box", "polygon", "mask" (from the manifest) or "VOC box", "COCO polygon", "COCO box"
    mask: Mask | None  # crop x crop, True inside; None once the figures are drawn (without_mask)
    pixels: int  # crop pixels inside
    crop_share: float  # pixels / the crop's pixels
    share_kept: float  # the share of the region (on the resized photo) inside the crop: 1.0 wholly, 0.0 not at all
    is_object: bool

    @property
    def outside(self) -> bool:
        """No part of the region is in the crop."""
        return self.pixels == 0

    def without_mask(self) -> CropRegion:
        return replace(self, mask=None)


@dataclass(frozen=True)
class CentreGrid:
    """The centres of the resized photo's pixels, in the photo's coordinates."""

    u: NDArray[np.float64]  # x of each column's centre
    v: NDArray[np.float64]  # y of each row's centre
    photo_size: tuple[int, int]  # (width, height)

    @classmethod
    def of(cls, photo_size: tuple[int, int], resize: tuple[int, int]) -> CentreGrid:
        (width, height), (rows, columns) = photo_size, resize
        u = (np.arange(columns) + 0.5) * width / columns
        v = (np.arange(rows) + 0.5) * height / rows
        return cls(u=u, v=v, photo_size=(width, height))

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.v), len(self.u)

    def pixel_at(self, x: float, y: float) -> tuple[int, int]:
        """The (row, column) of the resized pixel that holds the photo's point (x, y)."""
        (width, height), (rows, columns) = self.photo_size, self.shape
        return min(math.floor(y * rows / height), rows - 1), min(math.floor(x * columns / width), columns - 1)


def region_on_resized(
    shapes: Sequence[AnyShape], photo_size: tuple[int, int], resize: tuple[int, int], content_dir: Path
) -> Mask:
    """The region's pixels on the resized photo (resize = (height, width)); a tiny region keeps one pixel."""
    grid = CentreGrid.of(photo_size, resize)
    inside = np.zeros(grid.shape, dtype=bool)
    bounds: list[Bounds] = []
    for shape in shapes:
        covered, bound = rasterised(shape, grid, content_dir)
        inside |= covered
        if bound is not None:
            bounds.append(bound)
    if not inside.any():
        mark_centre(inside, bounds, grid)
    return inside


def rasterised(shape: AnyShape, grid: CentreGrid, content_dir: Path) -> tuple[Mask, Bounds | None]:
    """The pixel centres inside one shape, and its bounds when its area is positive."""
    if isinstance(shape, BoxRegion):
        return box_inside(shape.box, grid), shape.box
    if isinstance(shape, PolygonRegion):
        return polygon_inside(shape.polygon, grid), polygon_bounds(shape.polygon)
    marked = read_mask(content_dir / PurePosixPath(shape.mask.replace("\\", "/")))
    return mask_inside(marked, grid), mask_bounds(marked, grid.photo_size)


def box_inside(box: Bounds, grid: CentreGrid) -> Mask:
    x0, y0, x1, y1 = box
    columns = (x0 <= grid.u) & (grid.u < x1)
    rows = (y0 <= grid.v) & (grid.v < y1)
    return np.asarray(rows[:, None] & columns[None, :], dtype=bool)


def polygon_inside(corners: tuple[tuple[float, float], ...], grid: CentreGrid) -> Mask:
    inside = np.zeros(grid.shape, dtype=bool)
    xs, ys = [x for x, _ in corners], [y for _, y in corners]
    columns = np.flatnonzero((min(xs) <= grid.u) & (grid.u <= max(xs)))  # only the centres near the polygon
    rows = np.flatnonzero((min(ys) <= grid.v) & (grid.v <= max(ys)))
    if columns.size and rows.size:
        u, v = np.meshgrid(grid.u[columns], grid.v[rows])
        found = PolygonPath(np.asarray(corners, dtype=np.float64)).contains_points(np.column_stack([u.ravel(), v.ravel()]))
        inside[np.ix_(rows, columns)] = found.reshape(u.shape)
    return inside


def polygon_bounds(corners: tuple[tuple[float, float], ...]) -> Bounds | None:
    xs, ys = np.asarray([x for x, _ in corners]), np.asarray([y for _, y in corners])
    area = 0.5 * abs(float(np.dot(xs, np.roll(ys, -1)) - np.dot(ys, np.roll(xs, -1))))  # the shoelace formula
    return (float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())) if area > 0 else None


def read_mask(path: Path) -> Mask:
    """The marked pixels of a mask image, at its own size; RegionError naming the file when none or unreadable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                check_pixel_count(image.size)
                image.load()
                marked = marked_pixels(ImageOps.exif_transpose(image))
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise RegionError(f"mask {path}: cannot read it ({error}); save it as a PNG, non-zero inside") from None
    if not marked.any():
        raise RegionError(f"mask {path} marks no pixel: paint the region non-zero (white) on black")
    return marked


def marked_pixels(image: Image.Image) -> Mask:
    """Non-zero pixels; where transparency is used, the opaque ones (a region painted on a transparent sheet)."""
    if image.mode in ("1", "L", "I", "I;16", "I;16B", "I;16L", "F") and "transparency" not in image.info:
        return np.asarray(np.asarray(image) != 0, dtype=bool)
    rgba = np.asarray(image.convert("RGBA"))
    alpha = rgba[..., 3]
    if (alpha < 255).any():
        return np.asarray(alpha > 0, dtype=bool)
    return np.asarray(rgba[..., :3].any(axis=2), dtype=bool)


def mask_inside(marked: Mask, grid: CentreGrid) -> Mask:
    """The mask sampled at the pixel centres: a mask of another size than the photo is scaled to it."""
    (height, width), (photo_width, photo_height) = marked.shape, grid.photo_size
    rows = np.minimum(np.floor(grid.v * height / photo_height).astype(np.int64), height - 1)
    columns = np.minimum(np.floor(grid.u * width / photo_width).astype(np.int64), width - 1)
    return np.asarray(marked[np.ix_(rows, columns)], dtype=bool)


def mask_bounds(marked: Mask, photo_size: tuple[int, int]) -> Bounds:
    rows, columns = np.flatnonzero(marked.any(axis=1)), np.flatnonzero(marked.any(axis=0))
    x_scale, y_scale = photo_size[0] / marked.shape[1], photo_size[1] / marked.shape[0]
    return (
        float(columns[0] * x_scale),
        float(rows[0] * y_scale),
        float((columns[-1] + 1) * x_scale),
        float((rows[-1] + 1) * y_scale),
    )


def mark_centre(inside: Mask, bounds: Sequence[Bounds], grid: CentreGrid) -> None:
    """A region between the pixel centres keeps the one pixel that holds its centre, if it lies on the photo."""
    if not bounds:
        return
    width, height = grid.photo_size
    x0, y0 = max(min(b[0] for b in bounds), 0.0), max(min(b[1] for b in bounds), 0.0)
    x1, y1 = min(max(b[2] for b in bounds), float(width)), min(max(b[3] for b in bounds), float(height))
    if x1 > x0 and y1 > y0:
        inside[grid.pixel_at((x0 + x1) / 2, (y0 + y1) / 2)] = True


def crop_offsets(shape: tuple[int, int], crop: int) -> tuple[int, int]:
    """(top, left) of torchvision's CenterCrop on a resized image of `shape` (height, width)."""
    return int(round((shape[0] - crop) / 2.0)), int(round((shape[1] - crop) / 2.0))


def crop_window(resized_mask: Mask, crop: int) -> Mask:
    top, left = crop_offsets((resized_mask.shape[0], resized_mask.shape[1]), crop)
    return np.asarray(resized_mask[top : top + crop, left : left + crop], dtype=bool)


def crop_region(name: str, kind: str, resized: Mask, crop: int, is_object: bool) -> CropRegion:
    window = crop_window(resized, crop)
    pixels, total = int(window.sum()), int(resized.sum())
    return CropRegion(
        name=name,
        kind=kind,
        mask=window,
        pixels=pixels,
        crop_share=pixels / (crop * crop),
        share_kept=pixels / total if total else 0.0,
        is_object=is_object,
    )


def case_regions(
    spec: CaseSpec, content_dir: Path, photo_size: tuple[int, int], preprocess: PreprocessSpec
) -> tuple[CropRegion, ...]:
    """The case's regions on its crop: the annotation file's objects, then the manifest's regions."""
    named = named_shapes(spec, content_dir, photo_size)
    chosen = object_name(spec, named)
    regions = []
    for name, (kind, shapes) in named.items():
        try:
            resized = region_on_resized(shapes, photo_size, (preprocess.resize[0], preprocess.resize[1]), content_dir)
        except RegionError as error:
            raise CaseError(spec.case_id, f"region {name!r}: {error}") from None
        if not resized.any():
            raise CaseError(
                spec.case_id,
                f"region {name!r} ({kind}) covers no part of the {photo_size[0]}x{photo_size[1]} photo: "
                "give its coordinates in the photo's pixels, x from 0 to its width and y from 0 to its height",
            )
        regions.append(crop_region(name, kind, resized, preprocess.crop, name == chosen))
    return tuple(regions)


def named_shapes(
    spec: CaseSpec, content_dir: Path, photo_size: tuple[int, int]
) -> dict[str, tuple[str, tuple[AnyShape, ...]]]:
    """Region name -> (kind, shapes); a manifest region replaces an annotation region of its name, in place."""
    named: dict[str, tuple[str, tuple[AnyShape, ...]]] = {}
    if spec.annotations is not None:
        path = content_dir / PurePosixPath(spec.annotations.replace("\\", "/"))
        try:
            objects = read_annotations(path, spec.image, photo_size)
        except AnnotationError as error:
            raise CaseError(spec.case_id, str(error)) from None
        kind = ANNOTATION_KINDS[path.suffix.lower()]
        named.update({name: (f"{kind} {shapes[0].kind}", shapes) for name, shapes in objects.items()})
    named.update({name: (shape.kind, (shape,)) for name, shape in spec.regions.items()})
    return named


def object_name(spec: CaseSpec, named: Mapping[str, object]) -> str | None:
    """The region that is the object: `object:`, else the one named like the label (case-insensitive), else none."""
    if spec.object is not None:
        if spec.object not in named:
            known = ", ".join(repr(name) for name in named) or "none"
            raise CaseError(
                spec.case_id, f"object {spec.object!r} is not one of the case's regions ({known}): fix `object:`"
            )
        return spec.object
    if not isinstance(spec.label, str):
        return None
    if spec.label in named:
        return spec.label
    return next((name for name in named if name.casefold() == spec.label.casefold()), None)
