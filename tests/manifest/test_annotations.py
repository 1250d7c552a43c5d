"""Pascal VOC and COCO files written by the test, read into named regions of the case's photo."""

import json

import pytest
from PIL import Image

from generator.manifest.annotations import AnnotationError, read_annotations
from generator.manifest.regions import BoxRegion, PolygonRegion
from generator.manifest.schema import CaseSpec, PreprocessSpec
from generator.run.region_geometry import case_regions
from generator.utils.errors import CaseError

PHOTO = (400, 300)

VOC = """<annotation>
  <filename>photo.png</filename>
  <size><width>400</width><height>300</height><depth>3</depth></size>
  <object><name>dog</name><bndbox><xmin>101</xmin><ymin>76</ymin><xmax>300</xmax><ymax>225</ymax></bndbox></object>
  <object><name>dog</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>50</xmax><ymax>40</ymax></bndbox></object>
  <object><name>ball</name><bndbox><xmin>301</xmin><ymin>201</ymin><xmax>340</xmax><ymax>240</ymax></bndbox></object>
</annotation>
"""


def coco(file_name="photos/photo.png", width=400, height=300):
    return {
        "images": [
            {"id": 1, "file_name": "other.png", "width": 10, "height": 10},
            {"id": 7, "file_name": file_name, "width": width, "height": height},
        ],
        "categories": [{"id": 3, "name": "cat"}, {"id": 4, "name": "sofa"}],
        "annotations": [
            {"image_id": 7, "category_id": 3, "segmentation": [[100, 75, 300, 75, 300, 225, 100, 225]],
             "bbox": [100, 75, 200, 150]},
            {"image_id": 7, "category_id": 4, "segmentation": {"counts": "abc", "size": [300, 400]},
             "bbox": [0, 200, 400, 100]},
            {"image_id": 1, "category_id": 3, "segmentation": [[0, 0, 5, 0, 5, 5]], "bbox": [0, 0, 5, 5]},
        ],
    }


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_voc_objects_become_boxes_named_by_class_with_repeats_numbered(tmp_path):
    regions = read_annotations(write(tmp_path, "photo.xml", VOC), "photo.png", PHOTO)
    assert list(regions) == ["dog", "dog 2", "ball"]
    # VOC's pixels are 1-based and inclusive: xmin 101 .. xmax 300 is the box [100, 300)
    assert regions["dog"] == (BoxRegion(box=(100, 75, 300, 225)),)
    assert regions["dog 2"] == (BoxRegion(box=(0, 0, 50, 40)),)


def test_coco_objects_of_the_photo_become_polygons_or_their_box(tmp_path, caplog):
    path = write(tmp_path, "instances.json", json.dumps(coco()))
    regions = read_annotations(path, "images/photo.png", PHOTO)  # matched by the file's base name
    assert list(regions) == ["cat", "sofa"]  # the other image's cat is not this photo's
    assert regions["cat"] == (PolygonRegion(polygon=((100, 75), (300, 75), (300, 225), (100, 225))),)
    assert regions["sofa"] == (BoxRegion(box=(0, 200, 400, 300)),)  # an RLE falls back to its bbox
    assert "bounding box stands for it" in caplog.text


def test_annotated_regions_reach_the_crop_and_the_manifest_overrides_one(tmp_path):
    Image.new("RGB", PHOTO).save(tmp_path / "photo.png")
    write(tmp_path, "photo.xml", VOC)
    spec = CaseSpec.model_validate(
        {"image": "photo.png", "annotations": "photo.xml", "label": "dog", "regions": {"ball": [0, 250, 10, 300]}},
        context={"content_dir": tmp_path},
    )
    regions = {r.name: r for r in case_regions(spec, tmp_path, PHOTO, PreprocessSpec(resize=(256, 256), crop=224))}
    assert list(regions) == ["dog", "dog 2", "ball"]
    assert regions["dog"].kind == "VOC box" and regions["dog"].is_object
    assert regions["dog"].pixels == 128 * 128  # the box [100, 75, 300, 225] (tests/run/test_region_geometry.py)
    assert regions["ball"].kind == "box" and regions["ball"].outside  # the manifest's ball replaced the file's


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("bad.xml", "<annotation><object>", "not valid XML"),
        ("bomb.xml", '<!DOCTYPE a [<!ENTITY b "c">]><annotation/>', "DOCTYPE or ENTITY"),
        ("nobox.xml", "<annotation><object><name>x</name></object></annotation>", "has no <bndbox>"),
        ("size.xml", VOC.replace("<width>400", "<width>200"), r"annotated for a 200x300 image.*400x300"),
        ("bad.json", "{", "not valid JSON"),
        ("missing.json", json.dumps(coco(file_name="elsewhere.png")), r"no image with file name 'photo.png'"),
        ("size.json", json.dumps(coco(width=800, height=600)), "annotated for a 800x600 image"),
    ],
)
def test_a_bad_file_names_itself_and_says_what_to_fix(tmp_path, name, text, message):
    with pytest.raises(AnnotationError, match=message) as caught:
        read_annotations(write(tmp_path, name, text), "photo.png", PHOTO)
    assert name in str(caught.value)


def test_a_bad_file_fails_the_case_by_name(tmp_path):
    Image.new("RGB", PHOTO).save(tmp_path / "photo.png")
    write(tmp_path, "photo.xml", "<annotation>")
    spec = CaseSpec.model_validate(
        {"image": "photo.png", "id": "kitchen", "annotations": "photo.xml"}, context={"content_dir": tmp_path}
    )
    with pytest.raises(CaseError, match="photo.xml: not valid XML") as caught:
        case_regions(spec, tmp_path, PHOTO, PreprocessSpec())
    assert caught.value.case_id == "kitchen"


def test_the_annotation_key_is_checked_when_the_manifest_loads(tmp_path):
    with pytest.raises(ValueError, match="annotation file"):
        CaseSpec.model_validate({"image": "photo.png", "annotations": "boxes.txt"}, context={"content_dir": None})
