"""The crop with its regions outlined: each outline where its mask's edge is, in its colour, the object's thicker."""

import io

import numpy as np
from PIL import Image

from generator.utils.figures import SCALE
from generator.utils.region_figure import PALETTE, Outline, label_box, regions_picture, ring


def box(top, left, bottom, right, size=64):
    mask = np.zeros((size, size), dtype=bool)
    mask[top:bottom, left:right] = True
    return mask


def decoded(png):
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def test_ring_is_the_inner_edge_of_the_mask():
    mask = box(10, 10, 20, 20)
    edge = ring(mask, 1)
    assert edge.sum() == 10 * 10 - 8 * 8  # the outermost pixels of a 10x10 square
    assert edge[10, 15] and edge[19, 15] and not edge[11, 15] and not edge[9, 15]
    assert ring(mask, 2).sum() == 10 * 10 - 6 * 6


def test_outlines_are_drawn_in_their_colours_and_the_object_twice_as_thick():
    crop = np.full((64, 64, 3), 128, dtype=np.uint8)
    outlines = [Outline("cat", box(30, 30, 60, 60), True), Outline("desk", box(30, 2, 60, 20), False)]
    picture = decoded(regions_picture(crop, outlines))
    assert picture.shape == (64 * SCALE, 64 * SCALE, 3)
    row = 50 * SCALE  # below the name labels
    cat_edge = picture[row, 30 * SCALE : 30 * SCALE + 2 * SCALE + 1]
    assert (cat_edge[: 2 * SCALE] == PALETTE[0]).all() and (cat_edge[2 * SCALE] == 128).all()
    desk_edge = picture[row, 2 * SCALE : 2 * SCALE + SCALE + 1]
    assert (desk_edge[:SCALE] == PALETTE[1]).all() and (desk_edge[SCALE] == 128).all()
    assert (picture[45 * SCALE, 45 * SCALE] == 128).all()  # inside is the photo, untouched


def test_labels_do_not_cover_each_other():
    first = label_box((0, 0), (40, 12), (128, 128), [])
    second = label_box((0, 0), (40, 12), (128, 128), [first])
    assert first == (0, 0, 40, 12) and second == (0, 12, 40, 24)
