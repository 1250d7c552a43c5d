"""Every kind of photo README.md says works goes through a whole build (exit 0), and the crop the models saw is
the photo as it is displayed: converted to RGB, turned upright, transparency composited on preprocess.background.

Each photo is two flat colours side by side (one above the other once turned upright), so the RGB picture a
user sees can be written down by hand; the expected crop is that picture through the reference geometry
(Resize((256, 256)), CenterCrop(224)), compared with the build's figures/<id>/input-crop.png (a lossless PNG).
"""

import numpy as np
import pytest
from PIL import Image
from torchvision import transforms

from tests.helpers import make_project
from tests.repository.test_readme_promises import invoke, tiny_manifest

BACKGROUND = (0, 128, 255)  # not the default white: the build must use the manifest's colour
ORIENTATION = 0x0112  # the EXIF tag; 6 = "turn 90 degrees clockwise to display"


def halves(mode, size, left, right):
    """A `mode` image whose left half is `left` and right half `right` (pixel values in that mode)."""
    image = Image.new(mode, size, left)
    image.paste(right, (size[0] // 2, 0, size[0], size[1]))
    return image


def palette_halves(transparent):
    image = halves("P", (64, 48), 0, 1)
    image.putpalette([10, 120, 230, 250, 30, 60])
    if transparent:
        image.info["transparency"] = 0
    return image


def sixteen_bit_halves():
    values = np.full((48, 64), 1000, dtype=np.uint16)
    values[:, 32:] = 3000
    return Image.fromarray(values)  # Pillow's I;16


def upright_halves(top, bottom, size=(32, 64)):
    """An RGB image whose top half is `top` and bottom half `bottom`."""
    image = Image.new("RGB", size, top)
    image.paste(bottom, (0, size[1] // 2, size[0], size[1]))
    return image


def exif_rotated():
    """Stored lying on its side (red left, blue right); displayed turned clockwise: red on top, blue below."""
    return halves("RGB", (64, 32), (220, 20, 20), (20, 20, 220))


# case id -> (file name, the file's image, save options, what a user sees, whether the file is lossless)
KINDS = {
    "grayscale": ("gray.png", lambda: halves("L", (64, 48), 40, 200), {}, ((40,) * 3, (200,) * 3), True),
    "palette": ("palette.png", lambda: palette_halves(False), {}, ((10, 120, 230), (250, 30, 60)), True),
    "palette-transparent": (
        "palette-alpha.png",
        lambda: palette_halves(True),
        {"transparency": 0},
        (BACKGROUND, (250, 30, 60)),
        True,
    ),
    "gray-alpha": (
        "gray-alpha.png",
        lambda: halves("LA", (64, 48), (100, 0), (100, 255)),
        {},
        (BACKGROUND, (100,) * 3),
        True,
    ),
    "rgba": (
        "rgba.png",
        lambda: halves("RGBA", (64, 48), (200, 10, 10, 0), (200, 10, 10, 255)),
        {},
        (BACKGROUND, (200, 10, 10)),
        True,
    ),
    # Pillow's CMYK -> RGB: each channel 255 - C (M, Y) when K is 0
    "cmyk": (
        "cmyk.jpg",
        lambda: halves("CMYK", (64, 48), (0, 255, 255, 0), (255, 55, 0, 0)),
        {"quality": 95},
        ((255, 0, 0), (0, 200, 255)),
        False,
    ),
    "sixteen-bit": ("deep.png", sixteen_bit_halves, {}, ((0,) * 3, (255,) * 3), True),  # stretched to 0..255
    "exif-rotated": ("rotated.jpg", exif_rotated, {"quality": 95, "orientation": 6}, None, False),
    "tiny": (
        "tiny.png",
        lambda: halves("RGB", (8, 8), (30, 160, 90), (240, 200, 20)),
        {},
        ((30, 160, 90), (240, 200, 20)),
        True,
    ),
    "very-wide": (
        "wide.png",
        lambda: halves("RGB", (2000, 50), (30, 160, 90), (240, 200, 20)),
        {},
        ((30, 160, 90), (240, 200, 20)),
        True,
    ),
}


def seen_by_a_user(case_id):
    """The RGB picture the case's file shows, written by hand."""
    _, make, _, colours, _ = KINDS[case_id]
    if case_id == "exif-rotated":
        return upright_halves((220, 20, 20), (20, 20, 220))
    return halves("RGB", make().size, *colours)


def save(image, path, options):
    options = dict(options)
    if "orientation" in options:
        exif = Image.Exif()
        exif[ORIENTATION] = options.pop("orientation")
        options["exif"] = exif
    image.save(path, **options)


def expected_crop(case_id):
    geometry = transforms.Compose([transforms.Resize((256, 256)), transforms.CenterCrop(224)])
    return np.asarray(geometry(seen_by_a_user(case_id)), dtype=int)


QUADRANT_CENTRES = [(56, 56), (56, 168), (168, 56), (168, 168)]  # (row, column) in the 224 crop


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One build (site included, --device auto) of one case per image kind, in its own folder and cache."""
    folder = tmp_path_factory.mktemp("image-kinds")
    cases = [{"id": case_id, "image": f"images/{KINDS[case_id][0]}"} for case_id in KINDS]
    path = make_project(folder, tiny_manifest(cases=cases, preprocess={"background": list(BACKGROUND)}), images=())
    for case_id, (file_name, make, options, _, _) in KINDS.items():
        save(make(), path.parent / "images" / file_name, options)
    args = ["--site-dir", folder / "site", "--cache-dir", folder / "cache", "-q"]
    result = invoke("build", "--manifest", path, "--device", "auto", *args)
    return path.parent, folder / "site", result


@pytest.mark.slow
def test_every_image_kind_builds_exit_0(built):
    content, site, result = built
    assert (result.exit_code, result.output) == (0, "")
    assert sorted(page.stem for page in (content / "cases").glob("*.md")) == sorted(KINDS)


@pytest.mark.slow
@pytest.mark.parametrize("case_id", sorted(KINDS))
def test_each_image_kind_has_its_page_and_the_crop_a_user_would_expect(built, case_id):
    content, site, _ = built
    assert (site / "cases" / f"{case_id}.html").is_file()
    figures = content / "figures" / case_id
    assert (figures / "thumbnail.jpg").is_file()
    assert [path.name for path in figures.glob("r18-gradcam-*.png")], sorted(p.name for p in figures.iterdir())
    crop = np.asarray(Image.open(figures / "input-crop.png"), dtype=int)
    assert crop.shape == (224, 224, 3)
    expected = expected_crop(case_id)
    for row, column in QUADRANT_CENTRES:  # flat regions, far from the seam: within JPEG's error
        assert np.abs(crop[row, column] - expected[row, column]).max() <= 4, (row, column, crop[row, column])
    if KINDS[case_id][4]:  # lossless files: every pixel, within Pillow's rounding of the alpha blend
        assert np.abs(crop - expected).max() <= 1
