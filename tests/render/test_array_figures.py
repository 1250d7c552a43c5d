"""The array-drawn figures show what matplotlib would draw: the same colours, blended the same way."""

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402
from skimage.segmentation import mark_boundaries  # noqa: E402

from generator.utils import figures, plots  # noqa: E402

SIZE = 64
TOLERANCE = 3  # per channel, of 255: matplotlib blends in 8 bits, one rounding per layer


def crop_and_segments():
    rng = np.random.default_rng(7)
    crop = rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    rows, cols = np.mgrid[:SIZE, :SIZE]
    segments = (rows // 16) * 4 + cols // 16
    return crop, segments


def matplotlib_pixels(*layers):
    """What matplotlib's imshow draws, one image pixel per screen pixel: layers are (array, imshow keywords)."""
    fig = plt.figure(figsize=(1, 1), dpi=SIZE)
    ax = fig.add_axes((0, 0, 1, 1))
    for array, keywords in layers:
        ax.imshow(array, interpolation="nearest", **keywords)
    ax.set_axis_off()
    fig.canvas.draw()
    pixels = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return pixels


def assert_close(ours, theirs):
    difference = np.abs(ours.astype(int) - theirs.astype(int))
    assert ours.shape == theirs.shape
    assert difference.max() <= TOLERANCE, difference.max()
    assert difference.mean() < 1.0, difference.mean()  # under one level of 255 on average


@pytest.mark.parametrize("pattern", ["ramp", "random", "flat-zero", "flat-one"])
def test_heatmap_overlay_matches_matplotlib(pattern):
    crop, _ = crop_and_segments()
    heatmap = {
        "ramp": np.linspace(0, 1, SIZE * SIZE).reshape(SIZE, SIZE),
        "random": np.random.default_rng(3).random((SIZE, SIZE)),
        "flat-zero": np.zeros((SIZE, SIZE)),
        "flat-one": np.ones((SIZE, SIZE)),
    }[pattern]
    reference = matplotlib_pixels((crop, {}), (heatmap, {"cmap": "jet", "alpha": 0.5, "vmin": 0.0, "vmax": 1.0}))
    assert_close(figures.overlay_pixels(crop, heatmap), reference)


@pytest.mark.parametrize("scale", [0.05, 1.0, 7.5])
def test_lime_weight_map_matches_matplotlib(scale):
    crop, segments = crop_and_segments()
    weights = np.random.default_rng(5).uniform(-scale, scale, segments.max() + 1)
    boundaries = mark_boundaries(np.zeros_like(crop, dtype=float), segments, color=(0.3, 0.3, 0.3))
    reference = matplotlib_pixels(
        (crop, {"alpha": 0.35}),
        (weights[segments], {"cmap": "RdBu_r", "vmin": -scale, "vmax": scale, "alpha": 0.75}),
        (boundaries, {"alpha": 0.15}),
    )
    assert_close(figures.weight_map_pixels(crop, segments, weights, scale), reference)


def test_values_outside_the_scale_take_the_end_colours():
    table = plots.colormap_table("jet")
    values = np.array([[-1.0, 0.0, 0.5, 1.0, 2.0, np.nan]])
    colours = figures.coloured(values, "jet", 0.0, 1.0)
    assert (colours[0, 0] == table[0]).all() and (colours[0, 1] == table[0]).all()
    assert (colours[0, 2] == table[128]).all()
    assert (colours[0, 3] == table[255]).all() and (colours[0, 4] == table[255]).all()


def decoded(png):
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def test_overlay_figure_is_the_enlarged_picture_beside_one_colour_bar():
    crop, _ = crop_and_segments()
    heatmap = np.random.default_rng(1).random((SIZE, SIZE))
    drawn = decoded(figures.heatmap_overlay(crop, heatmap))
    side = SIZE * figures.SCALE
    picture = figures.overlay_pixels(crop, heatmap)
    assert drawn.shape[0] == side
    assert (drawn[:, :side] == np.repeat(np.repeat(picture, 2, axis=0), 2, axis=1)).all()
    assert (drawn[:, side : side + figures.GAP] == 255).all()
    bar = plots.colour_bar("jet", 0.0, 1.0, "importance", side)
    assert (drawn[:, side + figures.GAP :] == bar).all()


def test_colour_bar_is_drawn_once_per_scale():
    plots.colour_bar.cache_clear()
    crop, segments = crop_and_segments()
    for seed in range(3):
        figures.heatmap_overlay(crop, np.random.default_rng(seed).random((SIZE, SIZE)))
        figures.lime_weight_map(crop, segments, np.linspace(-1, 1, 16), 2.0)
    info = plots.colour_bar.cache_info()
    assert info.misses == 2 and info.hits == 4


def test_figures_are_the_same_bytes_every_time():
    crop, segments = crop_and_segments()
    heatmap = np.random.default_rng(2).random((SIZE, SIZE))
    assert figures.heatmap_overlay(crop, heatmap) == figures.heatmap_overlay(crop.copy(), heatmap.copy())
    weights = np.linspace(-1, 1, 16)
    assert figures.lime_weight_map(crop, segments, weights, 1.0) == figures.lime_weight_map(
        crop, segments, weights, 1.0
    )


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("positive_only", [True, False])
def test_lime_superpixels_are_limes_own(seed, positive_only):
    """The top superpixels and their colouring equal lime's get_image_and_mask (ties, zeros and signs too)."""
    from lime.lime_image import ImageExplanation

    crop, segments = crop_and_segments()
    rng = np.random.default_rng(seed)
    weights = rng.choice([-0.5, -0.1, 0.0, 0.1, 0.3, 0.5], size=segments.max() + 1) * rng.integers(1, 3)
    explanation = ImageExplanation(crop, segments)
    explanation.local_exp[0] = sorted(enumerate(weights), key=lambda item: -abs(item[1]))
    for k in (1, 3, 5, 16):
        image, mask = explanation.get_image_and_mask(0, positive_only=positive_only, num_features=k, hide_rest=False)
        ours = figures.lime_image_and_mask(crop, segments, weights, k, positive_only)
        assert (ours[0] == image).all() and (ours[1] == mask).all()


def test_curves_figure_laid_out_once_draws_what_a_new_one_draws():
    fractions = np.linspace(0, 1, 5)

    def curves(level):
        return [
            plots.Curve("A Grad-CAM", fractions, level * (1 - fractions), level * fractions, False),
            plots.Curve("random map (A)", fractions, 1 - fractions / 2, fractions / 2, True),
        ]

    plots.laid_out_figure.cache_clear()
    first = plots.deletion_insertion_curves(curves(0.9), "title")
    reused = plots.deletion_insertion_curves(curves(0.4), "title")  # the same figure, other points
    plots.laid_out_figure.cache_clear()
    assert plots.deletion_insertion_curves(curves(0.4), "title") == reused != first
    assert plots.laid_out_figure.cache_info().currsize == 1


@pytest.mark.parametrize(
    ("peak", "scale"),
    [(0.0734, 0.08), (0.08, 0.08), (1.0, 1.0), (1.01, 1.2), (9.1, 10.0), (0.00031, 0.0004), (0.0, 1.0)],
)
def test_weight_scale_is_the_peak_rounded_up(peak, scale):
    weights = [np.array([0.0, -peak, peak / 2]), np.array([])]
    assert figures.shared_weight_scale(weights) == pytest.approx(scale)


def test_curves_figures_leave_no_figure_open_however_many_line_sets_are_drawn():
    """The laid-out figures' cache keeps 8; the ones it drops must go, not stay open in pyplot."""
    import gc

    import matplotlib.pyplot as plt

    fractions = np.linspace(0, 1, 5)
    open_before = len(plt.get_fignums())
    for n in range(20):  # more distinct line sets than the cache keeps
        curve = plots.Curve(f"model {n}", fractions, 1 - fractions, fractions, False)
        assert plots.deletion_insertion_curves([curve], "title").startswith(b"\x89PNG")
    gc.collect()
    assert len(plt.get_fignums()) == open_before
