"""Regions carried from the photo onto the crop, checked against closed forms and the real preprocessing.

A 400x300 photo through Resize((256, 256)) + CenterCrop(224): x scales by 256/400, y by 256/300, and the crop
starts at row 16, column 16 of the resized image. A resized pixel is inside when its centre maps back inside.
"""

import numpy as np
import pytest
import yaml
from PIL import Image
from pydantic import ValidationError

from generator.manifest.loader import load_manifest
from generator.manifest.schema import CaseSpec, PreprocessSpec
from generator.run.images import Preprocessor
from generator.run.region_geometry import case_regions, crop_offsets
from generator.utils.errors import CaseError, ManifestError

PHOTO = (400, 300)
REFERENCE = PreprocessSpec(resize=(256, 256), crop=224)


def case_spec(tmp_path, **case):
    if not (tmp_path / "photo.png").exists():
        Image.new("RGB", PHOTO).save(tmp_path / "photo.png")
    return CaseSpec.model_validate({"image": "photo.png", **case}, context={"content_dir": tmp_path})


def regions_of(tmp_path, **case):
    spec = case_spec(tmp_path, **case)
    return {region.name: region for region in case_regions(spec, tmp_path, PHOTO, REFERENCE)}


def crop_box(top, left, bottom, right):
    """The expected crop mask: rows top..bottom and columns left..right, inclusive."""
    mask = np.zeros((224, 224), dtype=bool)
    mask[top : bottom + 1, left : right + 1] = True
    return mask


def test_crop_offsets_are_center_crops():
    assert crop_offsets((256, 256), 224) == (16, 16)
    assert crop_offsets((300, 257), 224) == (38, 16)  # round((257 - 224) / 2) = round(16.5) = 16 (banker's)


def test_a_box_in_the_middle_lands_on_rows_and_columns_48_to_175(tmp_path):
    # columns: (c + 0.5) * 400 / 256 in [100, 300)  <=>  64 <= c <= 191; rows the same with 300 / 256; minus 16
    region = regions_of(tmp_path, regions={"middle": [100, 75, 300, 225]})["middle"]
    np.testing.assert_array_equal(region.mask, crop_box(48, 48, 175, 175))
    assert region.pixels == 128 * 128
    assert region.crop_share == pytest.approx(128 * 128 / 224**2)
    assert region.share_kept == 1.0
    assert region.kind == "box" and not region.outside


def test_a_box_partly_outside_keeps_its_share_inside_the_crop(tmp_path):
    # the top-left quarter: resized rows and columns 0..127, of which 16..127 are in the crop
    region = regions_of(tmp_path, regions={"corner": [0, 0, 200, 150]})["corner"]
    np.testing.assert_array_equal(region.mask, crop_box(0, 0, 111, 111))
    assert region.share_kept == pytest.approx(112**2 / 128**2)


def test_a_box_wholly_outside_the_crop_is_reported_outside(tmp_path):
    # columns 0..12 and rows 0..10 of the resized photo: all before the crop's first row and column (16)
    region = regions_of(tmp_path, regions={"far corner": [0, 0, 20, 13]})["far corner"]
    assert region.outside and region.pixels == 0 and region.share_kept == 0.0
    assert not region.mask.any()


def test_a_polygon_is_rasterised_at_the_pixel_centres(tmp_path):
    triangle = [[100, 75], [300, 75], [100, 225]]
    region = regions_of(tmp_path, regions={"triangle": triangle})["triangle"]
    rows, columns = np.mgrid[0:224, 0:224]
    u, v = (columns + 16 + 0.5) * 400 / 256, (rows + 16 + 0.5) * 300 / 256
    # inside the right triangle with legs on x = 100 and y = 75: x >= 100, y >= 75, (x-100)/200 + (y-75)/150 <= 1
    expected = (u >= 100) & (v >= 75) & ((u - 100) / 200 + (v - 75) / 150 <= 1)
    assert region.kind == "polygon"
    assert (region.mask != expected).sum() <= 2 * 224  # the hypotenuse's centres may fall on either side
    np.testing.assert_array_equal(region.mask[60:100, 60:100], expected[60:100, 60:100])
    # a rectangle given as a polygon is the box
    rectangle = [[100, 75], [300, 75], [300, 225], [100, 225]]
    np.testing.assert_array_equal(regions_of(tmp_path, regions={"r": rectangle})["r"].mask, crop_box(48, 48, 175, 175))


def test_a_mask_of_another_size_is_scaled_to_the_photo(tmp_path):
    sheet = np.zeros((600, 800), dtype=np.uint8)  # twice the photo's size
    sheet[150:450, 200:600] = 255  # the photo's box [100, 75, 300, 225]
    Image.fromarray(sheet).save(tmp_path / "cat.png")
    region = regions_of(tmp_path, regions={"cat": "cat.png"})["cat"]
    np.testing.assert_array_equal(region.mask, crop_box(48, 48, 175, 175))
    assert region.kind == "mask"


def test_a_colour_mask_marks_any_non_zero_channel(tmp_path):
    sheet = np.zeros((150, 200, 3), dtype=np.uint8)  # half the photo's size
    sheet[37:113, 50:150, 2] = 1  # a dim blue rectangle: still non-zero
    Image.fromarray(sheet).save(tmp_path / "blue.png")
    region = regions_of(tmp_path, regions={"blue": {"mask": "blue.png"}})["blue"]
    assert region.pixels > 0
    assert region.mask[112, 112] and not region.mask[0, 0]


def test_an_empty_mask_names_the_case_and_the_file(tmp_path):
    Image.fromarray(np.zeros((30, 40), dtype=np.uint8)).save(tmp_path / "nothing.png")
    with pytest.raises(CaseError, match=r"region 'x'.*nothing\.png marks no pixel"):
        regions_of(tmp_path, regions={"x": "nothing.png"})


def test_a_tiny_region_keeps_the_pixel_at_its_centre(tmp_path):
    region = regions_of(tmp_path, regions={"dot": [200.1, 150.1, 200.2, 150.2]})["dot"]
    assert region.pixels == 1
    # the resized pixel holding (200.15, 150.15): column floor(200.15 * 0.64) = 128, row floor(150.15 * 256/300) = 128
    assert region.mask[128 - 16, 128 - 16]


def test_a_box_off_the_photo_is_an_error_naming_the_region(tmp_path):
    with pytest.raises(CaseError, match=r"region 'lost'.*400x300 photo"):
        regions_of(tmp_path, regions={"lost": [500, 400, 600, 500]})


def test_the_object_is_named_or_found_by_the_label(tmp_path):
    named = regions_of(tmp_path, regions={"a": [0, 0, 10, 10], "b": [100, 75, 300, 225]}, object="b")
    assert [name for name, region in named.items() if region.is_object] == ["b"]
    by_label = regions_of(tmp_path, label="Tabby", regions={"tabby": [100, 75, 300, 225], "desk": [0, 0, 50, 50]})
    assert by_label["tabby"].is_object and not by_label["desk"].is_object
    assert not any(region.is_object for region in regions_of(tmp_path, regions={"desk": [0, 0, 50, 50]}).values())
    with pytest.raises(ValidationError, match=r"object 'cat' is not one of the case's regions \('desk'\)"):
        regions_of(tmp_path, regions={"desk": [0, 0, 50, 50]}, object="cat")


@pytest.mark.parametrize("preprocess", [REFERENCE, PreprocessSpec(resize=(300, 257), crop=224)])
def test_the_mask_lines_up_with_the_preprocessed_photo(tmp_path, preprocess):
    """A white box on a black photo, through the real Resize + CenterCrop: its bright half is the region."""
    box = [100, 75, 300, 225]
    photo = np.zeros((PHOTO[1], PHOTO[0], 3), dtype=np.uint8)
    photo[75:225, 100:300] = 255
    crop = np.asarray(Preprocessor(preprocess).prepare(Image.fromarray(photo)).crop.convert("L"))
    spec = case_spec(tmp_path, regions={"box": box})
    (region,) = case_regions(spec, tmp_path, PHOTO, preprocess)
    bright = crop >= 128
    assert region.mask.shape == crop.shape
    assert (region.mask != bright).sum() <= 2 * (crop.shape[0] + crop.shape[1])  # at most the edge pixels differ
    np.testing.assert_array_equal(region.mask[crop > 250], True)
    np.testing.assert_array_equal(region.mask[crop < 5], False)


def test_bad_regions_are_listed_with_their_key_paths(tmp_path):
    Image.new("RGB", PHOTO).save(tmp_path / "photo.png")
    regions = {"cat": [20, 0, 10, 300], "blob": "masks/none.png", "tri": [[1, 2], [3, 4]], "odd": {"box": [0, 0, 1]}}
    manifest = {"cases": [{"image": "photo.png", "regions": regions}, {"image": "photo.png", "object": "cup"}]}
    (tmp_path / "manifest.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")
    with pytest.raises(ManifestError) as caught:
        load_manifest(tmp_path / "manifest.yaml")
    problems = "\n".join(caught.value.problems)
    assert "cases[0].regions.cat.box: box [20.0, 0.0, 10.0, 300.0] is empty: write [x0, y0, x1, y1]" in problems
    assert "cases[0].regions.blob.mask: mask image not found: masks/none.png" in problems
    assert "cases[0].regions.tri.polygon: must list at least 3 item(s)" in problems
    assert "cases[0].regions.odd.box" in problems
    assert "cases[1]: object 'cup' is not one of the case's regions (none)" in problems
