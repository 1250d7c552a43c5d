"""The centre crop's geometry against torchvision's own Resize((h, w)) + CenterCrop(c), over sizes whose margins are
odd (torchvision rounds the offset to nearest, half to even: 255 / 224 starts at 16, not 15), for the crop's
pixels and for the regions carried onto it (a box's x lands on x * W' / W minus the crop's left offset)."""

import math

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import transforms

from generator.manifest.schema import CaseSpec, PreprocessSpec
from generator.run.images import Preprocessor
from generator.run.region_geometry import case_regions, crop_offsets, crop_window

# (resize (h, w), crop): even margins, odd margins rounding up (31 / 2 = 15.5 -> 16) and to even (33 / 2 -> 16)
SIZES = [((256, 256), 224), ((255, 255), 224), ((257, 300), 224), ((259, 263), 224), ((72, 75), 64), ((41, 45), 30)]


def torchvision_offsets(shape, crop):
    """(top, left) of torchvision's CenterCrop, read off a crop of an image whose pixels are their own indices."""
    rows, columns = shape
    index = torch.arange(rows * columns).view(1, rows, columns)
    first = int(transforms.CenterCrop(crop)(index)[0, 0, 0])
    return divmod(first, columns)


@pytest.mark.parametrize("rows", range(30, 46))
def test_crop_offsets_are_torchvisions_for_every_margin(rows):
    for columns in range(30, 46):
        for crop in (17, 24, 29, 30):
            assert crop_offsets((rows, columns), crop) == torchvision_offsets((rows, columns), crop), (rows, columns, crop)


@pytest.mark.parametrize("resize, crop", SIZES)
def test_the_crop_window_is_torchvisions_centre_crop(resize, crop):
    values = np.random.RandomState(0).rand(*resize) > 0.5
    expected = transforms.CenterCrop(crop)(torch.from_numpy(values)[None])[0].numpy()
    np.testing.assert_array_equal(crop_window(values, crop), expected)


def photo(size, seed=0):
    return Image.fromarray(np.random.RandomState(seed).randint(0, 256, (size[1], size[0], 3), dtype=np.uint8))


@pytest.mark.parametrize("resize, crop", SIZES)
def test_the_crop_pixels_are_torchvisions(resize, crop):
    image = photo((451, 300))
    expected = transforms.Compose([transforms.Resize(resize), transforms.CenterCrop(crop)])(image)
    prepared = Preprocessor(PreprocessSpec(resize=resize, crop=crop)).prepare(image)
    np.testing.assert_array_equal(prepared.crop_array, np.asarray(expected))


@pytest.mark.parametrize("resize, crop", SIZES)
def test_a_box_lands_where_the_resize_and_the_crop_put_it(tmp_path, resize, crop):
    """A box's columns on the crop: resized column c (centre (c + 0.5) * W / w) inside [x0, x1), minus the left
    offset; rows the same. The offsets are torchvision's, so a floor instead of a round moves every edge by one."""
    width, height = 451, 300
    photo((width, height)).save(tmp_path / "photo.png")
    box = (101.0, 57.0, 333.0, 241.0)
    spec = CaseSpec.model_validate(
        {"image": "photo.png", "regions": {"box": list(box)}}, context={"content_dir": tmp_path}
    )
    (region,) = case_regions(spec, tmp_path, (width, height), PreprocessSpec(resize=resize, crop=crop))
    top, left = torchvision_offsets(resize, crop)

    def first_and_last(low, high, size, resized):  # resized pixels whose centre maps into [low, high)
        first = math.ceil(low * resized / size - 0.5)
        last = math.ceil(high * resized / size - 0.5) - 1
        return first, last

    columns = first_and_last(box[0], box[2], width, resize[1])
    rows = first_and_last(box[1], box[3], height, resize[0])
    expected = np.zeros((crop, crop), dtype=bool)
    expected[max(rows[0] - top, 0) : rows[1] - top + 1, max(columns[0] - left, 0) : columns[1] - left + 1] = True
    np.testing.assert_array_equal(region.mask, expected)


def test_the_reference_recipe_maps_x_to_x_times_256_over_w_minus_16(tmp_path):
    """Resize((256, 256)), CenterCrop(224) of a 400 x 300 photo: the box [100, 75, 300, 225] covers crop rows and
    columns 48..175 (x: 100 * 256 / 400 - 16 = 48; y: 75 * 256 / 300 - 16 = 48)."""
    photo((400, 300)).save(tmp_path / "photo.png")
    spec = CaseSpec.model_validate(
        {"image": "photo.png", "regions": {"box": [100, 75, 300, 225]}}, context={"content_dir": tmp_path}
    )
    (region,) = case_regions(spec, tmp_path, (400, 300), PreprocessSpec())
    rows, columns = np.nonzero(region.mask)
    assert (rows.min(), rows.max(), columns.min(), columns.max()) == (48, 175, 48, 175)
