"""The regions an author marks on a case's photo: boxes, polygons and mask images, in the photo's pixels.

A region is written in the manifest in one of three short forms (a box `[x0, y0, x1, y1]`, a polygon
`[[x, y], ...]`, a mask image's path) or spelled out (`{box: ...}`, `{polygon: ...}`, `{mask: ...}`).
Coordinates are continuous pixel coordinates of the photo as decoded (EXIF orientation applied): the
photo's top-left corner is (0, 0), pixel (i, j) covers [i, i + 1) x [j, j + 1), so a box [0, 0, w, h]
is the whole w x h photo. generator/run/region_geometry.py carries them onto the crop the models see.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Annotated, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationInfo, field_validator, model_validator

ANNOTATION_SUFFIXES = {".xml": "Pascal VOC", ".json": "COCO"}
MASK_SUFFIXES = {".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}  # lossless: JPEG noise would mark stray pixels


class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BoxRegion(Shape):
    box: tuple[float, float, float, float] = Field(
        description="[x0, y0, x1, y1] in the photo's pixels, x to the right and y down; x1 > x0, y1 > y0."
    )

    @field_validator("box")
    @classmethod
    def _ordered(cls, value: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        x0, y0, x1, y1 = value
        if x1 <= x0 or y1 <= y0:
            raise ValueError(f"box {list(value)} is empty: write [x0, y0, x1, y1] with x1 > x0 and y1 > y0")
        return value

    @property
    def kind(self) -> str:
        return "box"


class PolygonRegion(Shape):
    polygon: tuple[tuple[float, float], ...] = Field(
        min_length=3, description="The corners [[x, y], ...] in the photo's pixels, in order (closed implicitly)."
    )

    @property
    def kind(self) -> str:
        return "polygon"


class MaskRegion(Shape):
    mask: str = Field(
        description="A lossless image (PNG, ...) relative to the manifest's folder: non-zero pixels are inside. "
        "A mask of another size than the photo is scaled to it."
    )

    @field_validator("mask")
    @classmethod
    def _mask_inside_content(cls, value: str, info: ValidationInfo) -> str:
        return check_content_file(value, (info.context or {}).get("content_dir"), MASK_SUFFIXES, "mask image")

    @property
    def kind(self) -> str:
        return "mask"


def shape_kind(value: object) -> str | None:
    """The tag of a region written out (a mapping) or built in Python (a Shape)."""
    if isinstance(value, Shape):
        return str(getattr(value, "kind"))
    if isinstance(value, Mapping):
        found = [key for key in ("box", "polygon", "mask") if key in value]
        return found[0] if len(found) == 1 else None
    return None


RegionShape = Annotated[
    Union[
        Annotated[BoxRegion, Tag("box")],
        Annotated[PolygonRegion, Tag("polygon")],
        Annotated[MaskRegion, Tag("mask")],
    ],
    Discriminator(
        shape_kind,
        custom_error_type="region_shape",
        custom_error_message="a region is a box [x0, y0, x1, y1], a polygon [[x, y], ...] or a mask image's path",
    ),
]


def spelled_out(value: builtins.object) -> builtins.object:
    """The short forms as mappings: 4 numbers a box, a list of points a polygon, a string a mask's path."""
    if isinstance(value, str):
        return {"mask": value}
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(item, (list, tuple)) for item in value):
            return {"polygon": value}
        return {"box": value}
    return value


class CaseRegions(BaseModel):
    """The region keys of a case (mixed into CaseSpec)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    regions: dict[str, RegionShape] = Field(
        default_factory=dict,
        description="Named regions of the photo: a box [x0, y0, x1, y1], a polygon [[x, y], ...] or a mask image, "
        "in the photo's pixels (docs/manifest.md, 'Regions'). The region measures (the methods page's 'Regions') "
        "read every map on each.",
    )
    object: str | None = Field(
        None,
        description="The region that is the object (the one the overview's region measures read); default: a region "
        "named like the case's label, if any.",
    )
    annotations: str | None = Field(
        None,
        description="A Pascal VOC .xml or COCO .json file (relative to the manifest's folder): each object of this "
        "photo becomes a region named by its class (a repeated class: 'dog', 'dog 2', ...).",
    )

    @field_validator("regions", mode="before")
    @classmethod
    def _short_forms(cls, value: builtins.object) -> builtins.object:
        if isinstance(value, Mapping):
            return {name: spelled_out(shape) for name, shape in value.items()}
        return value

    @field_validator("regions")
    @classmethod
    def _names_not_blank(cls, value: dict[str, RegionShape]) -> dict[str, RegionShape]:
        for name in value:
            if not name.strip():
                raise ValueError("a region's name is blank: give every region a name")
        return value

    @field_validator("annotations")
    @classmethod
    def _annotations_inside_content(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        content_dir = (info.context or {}).get("content_dir")
        return check_content_file(value, content_dir, set(ANNOTATION_SUFFIXES), "annotation file")

    @model_validator(mode="after")
    def _object_is_a_region(self) -> CaseRegions:
        if self.object is not None and self.annotations is None and self.object not in self.regions:
            known = ", ".join(repr(name) for name in self.regions) or "none"
            raise ValueError(f"object {self.object!r} is not one of the case's regions ({known})")
        return self


def check_content_file(
    value: str, content_dir: str | os.PathLike[str] | None, suffixes: set[str], what: str
) -> str:
    """A file the author names, relative to the manifest's folder, inside it, with one of `suffixes`."""
    path = PurePosixPath(value.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts:
        raise ValueError(f"{what} {value!r} must be a path inside the manifest's folder, relative to it")
    if path.suffix.lower() not in suffixes:
        raise ValueError(f"{what} {value!r}: expected one of {', '.join(sorted(suffixes))}")
    if content_dir is not None:
        root = Path(content_dir).resolve()
        full = (root / path).resolve()
        if not full.is_relative_to(root):
            raise ValueError(f"{what} {value!r} points outside the manifest's folder ({full}): copy it in")
        if not full.is_file():
            raise ValueError(f"{what} not found: {value}")
    return value
