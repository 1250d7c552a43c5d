"""Read a photo's objects from a Pascal VOC .xml or a COCO .json file, as named regions in the photo's pixels.

Each object becomes a region named by its class; a class seen again is numbered in file order ("dog",
"dog 2", ...). VOC pixel indices are 1-based and inclusive, so VOC's xmin..xmax is the box [xmin - 1, xmax].
"""

from __future__ import annotations

import json
import logging
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

from pydantic import ValidationError

from generator.manifest.regions import BoxRegion, PolygonRegion

logger = logging.getLogger(__name__)

AnnotationShape = BoxRegion | PolygonRegion
AnnotationRegions = dict[str, tuple[AnnotationShape, ...]]
ANNOTATION_KINDS = {".xml": "VOC", ".json": "COCO"}  # by suffix: the word a region's kind starts with

# ElementTree expands internal entities; a file that declares none cannot be made to expand any
DECLARATION = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class AnnotationError(ValueError):
    """An annotation file that cannot be read; the message names the file, what is wrong and how to fix it."""

    def __init__(self, path: Path, message: str) -> None:
        self.path = path
        super().__init__(f"{path}: {message}")


def read_annotations(path: Path, image_name: str, photo_size: tuple[int, int]) -> AnnotationRegions:
    """The objects of the photo `image_name` (photo_size = (width, height) as decoded), by region name."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise AnnotationError(path, f"cannot read the file ({error}); save it as UTF-8 text") from None
    if path.suffix.lower() == ".xml":
        return numbered(read_voc(path, text, photo_size))
    return numbered(read_coco(path, text, image_name, photo_size))


def numbered(objects: Iterable[tuple[str, tuple[AnnotationShape, ...]]]) -> AnnotationRegions:
    """Name each object by its class, the second of a class "dog 2", the third "dog 3", ..."""
    regions: AnnotationRegions = {}
    seen: dict[str, int] = {}
    for name, shapes in objects:
        count = seen.get(name, 0) + 1
        label = name if count == 1 else f"{name} {count}"
        while label in regions:
            count += 1
            label = f"{name} {count}"
        seen[name] = count
        regions[label] = shapes
    return regions


def check_size(path: Path, written: tuple[int, int], photo_size: tuple[int, int]) -> None:
    if tuple(written) != tuple(photo_size):
        raise AnnotationError(
            path,
            f"annotated for a {written[0]}x{written[1]} image, but the photo is {photo_size[0]}x{photo_size[1]} "
            "(width x height): annotate the photo itself, not a resized copy",
        )


def number(path: Path, value: object, where: str) -> float:
    if isinstance(value, bool):
        raise AnnotationError(path, f"{where}: expected a number, found {value!r}")
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise AnnotationError(path, f"{where}: expected a number, found {value!r}") from None


def box_of(path: Path, corners: tuple[float, float, float, float], where: str) -> BoxRegion:
    try:
        return BoxRegion(box=corners)
    except ValidationError:
        raise AnnotationError(path, f"{where}: the box {list(corners)} is empty; fix its coordinates") from None


# Pascal VOC


def read_voc(path: Path, text: str, photo_size: tuple[int, int]) -> list[tuple[str, tuple[AnnotationShape, ...]]]:
    if DECLARATION.search(text):
        raise AnnotationError(path, "declares a DOCTYPE or ENTITY, which is refused: remove the declaration")
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as error:
        raise AnnotationError(path, f"not valid XML ({error}); export it again as Pascal VOC") from None
    voc_size = voc_image_size(path, root)
    if voc_size is not None:
        check_size(path, voc_size, photo_size)
    return [voc_object(path, element, index) for index, element in enumerate(root.findall("object"), start=1)]


def voc_text(path: Path, element: ElementTree.Element, key: str, where: str) -> str:
    found = element.findtext(key)
    if found is None or not found.strip():
        raise AnnotationError(path, f"{where} has no <{key}>; each Pascal VOC object needs <name> and <bndbox>")
    return found.strip()


def voc_image_size(path: Path, root: ElementTree.Element) -> tuple[int, int] | None:
    size = root.find("size")
    if size is None or size.find("width") is None or size.find("height") is None:
        return None
    width = number(path, voc_text(path, size, "width", "<size>"), "<size><width>")
    height = number(path, voc_text(path, size, "height", "<size>"), "<size><height>")
    return round(width), round(height)


def voc_object(path: Path, element: ElementTree.Element, index: int) -> tuple[str, tuple[AnnotationShape, ...]]:
    where = f"<object> {index}"
    name = voc_text(path, element, "name", where)
    bndbox = element.find("bndbox")
    if bndbox is None:
        raise AnnotationError(path, f"{where} ({name}) has no <bndbox>; give it xmin, ymin, xmax and ymax")
    xmin, ymin, xmax, ymax = (
        number(path, voc_text(path, bndbox, key, f"{where} ({name}) <bndbox>"), f"{where} ({name}) <{key}>")
        for key in ("xmin", "ymin", "xmax", "ymax")
    )
    return name, (box_of(path, (xmin - 1, ymin - 1, xmax, ymax), f"{where} ({name})"),)


# COCO


def read_coco(
    path: Path, text: str, image_name: str, photo_size: tuple[int, int]
) -> list[tuple[str, tuple[AnnotationShape, ...]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise AnnotationError(path, f"not valid JSON ({error}); export it again as COCO") from None
    if not isinstance(data, dict):
        raise AnnotationError(path, "expected a COCO object with images, annotations and categories")
    image = coco_image(path, listed(path, data, "images"), image_name)
    if "width" in image and "height" in image:
        written = (number(path, image["width"], "image width"), number(path, image["height"], "image height"))
        check_size(path, (round(written[0]), round(written[1])), photo_size)
    categories = coco_categories(path, listed(path, data, "categories"))
    return [
        coco_object(path, annotation, categories, index)
        for index, annotation in enumerate(listed(path, data, "annotations"))
        if annotation.get("image_id") == image["id"]
    ]


def listed(path: Path, data: Mapping[str, object], key: str) -> list[dict[str, object]]:
    """The list `key` of a COCO file, each item an object."""
    items = data.get(key)
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise AnnotationError(path, f"'{key}' is missing or not a list of objects; a COCO file needs one")
    return items


def required(path: Path, item: Mapping[str, object], key: str, where: str) -> object:
    if key not in item:
        raise AnnotationError(path, f"{where} has no '{key}'")
    return item[key]


def basename(name: str) -> str:
    return PurePosixPath(name.replace("\\", "/")).name


def coco_image(path: Path, images: list[dict[str, object]], image_name: str) -> dict[str, object]:
    wanted = basename(image_name)
    names = [basename(str(required(path, image, "file_name", f"images[{i}]"))) for i, image in enumerate(images)]
    matches = [image for image, name in zip(images, names) if name == wanted]
    if not matches:
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "") if names else "none"
        raise AnnotationError(
            path, f"no image with file name {wanted!r} (found: {shown}); annotate the photo or fix its file_name"
        )
    if len(matches) > 1:
        raise AnnotationError(path, f"{len(matches)} images have the file name {wanted!r}: keep one")
    required(path, matches[0], "id", f"image {wanted!r}")
    return matches[0]


def coco_categories(path: Path, categories: list[dict[str, object]]) -> dict[object, str]:
    return {
        required(path, category, "id", f"categories[{i}]"): str(required(path, category, "name", f"categories[{i}]"))
        for i, category in enumerate(categories)
    }


def coco_object(
    path: Path, annotation: Mapping[str, object], categories: Mapping[object, str], index: int
) -> tuple[str, tuple[AnnotationShape, ...]]:
    where = f"annotations[{index}]"
    category = required(path, annotation, "category_id", where)
    if category not in categories:
        raise AnnotationError(path, f"{where}: category_id {category!r} is not among the categories")
    name = categories[category]
    polygons = coco_polygons(path, annotation.get("segmentation"), f"{where} ({name}) segmentation")
    if polygons:
        return name, polygons
    logger.warning(
        "%s: %s (%s) has no polygon segmentation (RLE or none): its bounding box stands for it", path, where, name
    )
    return name, (coco_box(path, required(path, annotation, "bbox", where), f"{where} ({name}) bbox"),)


def coco_box(path: Path, bbox: object, where: str) -> BoxRegion:
    if not isinstance(bbox, list) or len(bbox) != 4:
        raise AnnotationError(path, f"{where}: expected [x, y, width, height], found {bbox!r}")
    x, y, width, height = (number(path, value, where) for value in bbox)
    return box_of(path, (x, y, x + width, y + height), where)


def coco_polygons(path: Path, segmentation: object, where: str) -> tuple[PolygonRegion, ...]:
    """The polygons of a segmentation, or none for an RLE (a mapping) or a missing one."""
    if not isinstance(segmentation, list):
        return ()
    polygons = []
    for i, flat in enumerate(segmentation):
        if not isinstance(flat, list) or len(flat) % 2 or len(flat) < 6:
            raise AnnotationError(path, f"{where}[{i}]: expected [x1, y1, x2, y2, ...] with at least 3 points")
        values = [number(path, value, f"{where}[{i}]") for value in flat]
        polygons.append(PolygonRegion(polygon=tuple(zip(values[0::2], values[1::2]))))
    return tuple(polygons)
