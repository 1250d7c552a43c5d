"""Any photo people have decodes to RGB with orientation applied; broken files get a per-case error."""

import io

import numpy as np
import pytest
from PIL import Image

from generator.manifest.schema import PreprocessSpec
from generator.run import images
from generator.run.images import Preprocessor, decode_image
from generator.utils.errors import CaseError
from tests.helpers import CHELSEA, COFFEE, build, make_project, random_resnet_manifest


def save(tmp_path, image, name, **params):
    path = tmp_path / name
    image.save(path, **params)
    return path


def chelsea():
    return Image.open(CHELSEA).convert("RGB")


@pytest.mark.parametrize(
    ("mode", "name"),
    [("L", "gray.png"), ("P", "palette.png"), ("CMYK", "cmyk.jpg"), ("I;16", "deep.png"), ("LA", "gray_alpha.png")],
)
def test_colour_modes_become_rgb(tmp_path, mode, name):
    source = chelsea()
    if mode == "I;16":
        source = Image.fromarray(np.asarray(source.convert("L"), dtype=np.uint16) * 257)
    else:
        source = source.convert(mode)
    image = decode_image(save(tmp_path, source, name), "case")
    assert image.mode == "RGB" and image.size == (451, 300)
    prepared = Preprocessor(PreprocessSpec()).prepare(image)
    assert prepared.pixels.shape == (1, 3, 224, 224)


def test_sixteen_bit_keeps_its_contrast(tmp_path):
    ramp = np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (8, 1))
    image = decode_image(save(tmp_path, Image.fromarray(ramp), "ramp.png"), "case")
    row = np.asarray(image)[0, :, 0]
    assert row[0] == 0 and row[-1] == 255 and np.all(np.diff(row.astype(int)) >= 0)


def test_rgba_composited_on_the_stated_background(tmp_path):
    rgba = Image.new("RGBA", (10, 10), (255, 0, 0, 0))
    rgba.putpixel((0, 0), (0, 0, 255, 255))
    path = save(tmp_path, rgba, "alpha.png")
    white = np.asarray(decode_image(path, "case"))
    assert tuple(white[5, 5]) == (255, 255, 255) and tuple(white[0, 0]) == (0, 0, 255)
    black = np.asarray(decode_image(path, "case", background=(0, 0, 0)))
    assert tuple(black[5, 5]) == (0, 0, 0)


def test_exif_orientation_applied(tmp_path):
    source = chelsea()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    image = decode_image(save(tmp_path, source, "rotated.jpg", exif=exif), "case")
    assert image.size == (300, 451)


@pytest.mark.parametrize("size", [(5, 3), (3000, 40)])
def test_tiny_and_very_wide_images(tmp_path, size):
    image = decode_image(save(tmp_path, chelsea().resize(size), "odd.png"), "case")
    prepared = Preprocessor(PreprocessSpec()).prepare(image)
    assert prepared.crop.size == (224, 224)


def truncated(tmp_path):
    data = io.BytesIO()
    chelsea().save(data, format="JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(data.getvalue()[:2000])
    return path


def empty(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    return path


def text_file(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("hello")
    return path


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (truncated, "cut.jpg: cannot decode image"),
        (empty, "empty.png: not an image Pillow can read"),
        (text_file, "notes.jpg: not an image Pillow can read"),
    ],
)
def test_broken_files_get_a_case_error(tmp_path, make, expected):
    with pytest.raises(CaseError) as caught:
        decode_image(make(tmp_path), "broken")
    assert str(caught.value).startswith("case 'broken': ") and expected in str(caught.value)


def test_decompression_bomb_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(images, "MAX_IMAGE_PIXELS", 1000)
    path = save(tmp_path, Image.new("L", (100, 100)), "bomb.png")
    with pytest.raises(CaseError, match=r"case 'bomb': .*bomb.png: image too large .*downscale it below 1,000 pixels"):
        decode_image(path, "bomb")


@pytest.mark.slow
def test_keep_going_builds_the_rest_and_lists_failures(tmp_path):
    manifest = random_resnet_manifest(
        cases=[
            {"id": "broken", "image": "images/broken.png"},
            {"id": "coffee", "image": "images/coffee.png"},
        ]
    )
    path = make_project(tmp_path, manifest, images=[COFFEE])
    (path.parent / "images" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    result = build(path, site=False)
    assert result.returncode == 1
    assert "case 'broken':" in result.stderr and "broken.png" in result.stderr and "Traceback" not in result.stderr
    assert not (path.parent / "cases" / "coffee.md").exists()  # without --keep-going nothing is written

    result = build(path, "--keep-going", site=False)
    assert result.returncode == 1
    assert (path.parent / "cases" / "coffee.md").exists()
    lines = result.stderr.splitlines()
    assert "1 case(s) failed:" in lines
    assert any(line.startswith("  case 'broken': ") and "broken.png" in line for line in lines)
    index = (path.parent / "index.md").read_text()
    assert "Cases that could not be built" in index and "**broken**" in index
