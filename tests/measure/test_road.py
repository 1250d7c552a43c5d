"""ROAD: the noisy linear imputation against its closed form, the removal orders, and the curves on the offline example."""

import numpy as np
import pytest

from generator.manifest.schema import MetricsSpec
from generator.measure import road
from generator.measure.measurer import Measurer
from tests.helpers import REPO

EDGE, DIAGONAL = 1 / 6, 1 / 12


def test_one_hidden_pixel_is_the_weighted_mean_of_its_eight_neighbours():
    rng = np.random.default_rng(0)
    image = rng.random((5, 6, 3))
    removed = np.zeros((5, 6), bool)
    removed[2, 3] = True
    window = image[1:4, 2:5]
    weights = np.array([[DIAGONAL, EDGE, DIAGONAL], [EDGE, 0, EDGE], [DIAGONAL, EDGE, DIAGONAL]])
    expected = (window * weights[..., None]).sum(axis=(0, 1))  # the weights add up to 1
    filled = road.imputed(image, removed)
    np.testing.assert_allclose(filled[2, 3], expected, atol=1e-12)
    np.testing.assert_array_equal(filled[~removed], image[~removed])  # nothing else moves


def test_a_hidden_corner_pixel_averages_the_neighbours_inside_the_image():
    rng = np.random.default_rng(1)
    image = rng.random((4, 4, 3))
    removed = np.zeros((4, 4), bool)
    removed[0, 0] = True
    expected = (EDGE * image[0, 1] + EDGE * image[1, 0] + DIAGONAL * image[1, 1]) / (2 * EDGE + DIAGONAL)
    np.testing.assert_allclose(road.imputed(image, removed)[0, 0], expected, atol=1e-12)


def residual(filled, removed):
    """Each removed pixel minus the weighted mean of its neighbours inside the image (0 where the system is solved)."""
    height, width = removed.shape
    worst = 0.0
    for y, x in zip(*np.nonzero(removed)):
        total, weight = np.zeros(filled.shape[2]), 0.0
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                if (dy, dx) != (0, 0) and 0 <= y + dy < height and 0 <= x + dx < width:
                    w = EDGE if dy == 0 or dx == 0 else DIAGONAL
                    total += w * filled[y + dy, x + dx]
                    weight += w
        worst = max(worst, float(np.abs(filled[y, x] - total / weight).max()))
    return worst


def test_a_hidden_block_solves_the_sparse_system():
    rng = np.random.default_rng(2)
    image = rng.random((12, 14, 3))
    removed = np.zeros((12, 14), bool)
    removed[3:9, 4:11] = True  # a 6x7 block: its pixels depend on each other
    removed[0, 5:9] = True  # and a strip along the border
    filled = road.imputed(image, removed)
    assert residual(filled, removed) < 1e-12
    assert residual(image, removed) > 0.1  # the original does not solve it: the check can fail
    assert np.all(filled[removed] >= image.min()) and np.all(filled[removed] <= image.max())  # a mean of means
    np.testing.assert_array_equal(filled[~removed], image[~removed])


def test_the_fill_of_a_flat_image_is_flat_plus_the_noise():
    image = np.full((32, 32, 3), 128, np.uint8)
    removed = np.zeros((32, 32), bool)
    removed[8:24, 8:24] = True
    noise = road.noise_field(image.shape, seed=0)
    filled = road.road_image(image, removed, noise).astype(float)
    np.testing.assert_array_equal(filled[~removed], 128)
    assert abs(filled[removed].mean() - 128) < 0.2
    assert filled[removed].std() == pytest.approx(road.ROAD_NOISE * 255, rel=0.1)  # 0.01 of the 0-1 scale


def test_morf_removes_the_most_relevant_share_and_lerf_the_least():
    saliency = np.arange(100, dtype=float).reshape(10, 10)  # pixel 99 most relevant
    morf, lerf = road.removal_masks(saliency)
    assert len(morf) == len(lerf) == len(road.ROAD_FRACTIONS) == 9
    for fraction, most, least in zip(road.ROAD_FRACTIONS, morf, lerf):
        count = round(fraction * 100)
        np.testing.assert_array_equal(np.flatnonzero(most.ravel()), np.arange(100 - count, 100))
        np.testing.assert_array_equal(np.flatnonzero(least.ravel()), np.arange(count))


def test_the_areas_are_the_curves_mean_heights():
    probabilities = np.concatenate([np.full(9, 0.2), np.linspace(0.9, 0.1, 9)])
    found = road.road_from_probabilities(probabilities)
    assert found.morf_auc == pytest.approx(0.2)
    assert found.lerf_auc == pytest.approx(0.5)
    assert found.score == pytest.approx(0.3)
    np.testing.assert_allclose(found.fractions, np.arange(1, 10) / 10)


def test_road_and_the_deletion_curves_share_one_pass():
    """ROAD's images join the deletion and insertion curves' in one call, each distinct image once."""
    calls = []

    def classify(images):
        calls.append(len(images))
        return np.tile(images.reshape(len(images), -1).mean(axis=1, keepdims=True) / 255, (1, 2))

    rng = np.random.default_rng(3)
    image = rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
    maps = {0: {"gradcam": rng.random((16, 16))}, 1: {"gradcam": rng.random((16, 16))}}
    measurer = Measurer(MetricsSpec(steps=4, road=True), [], seed=0)
    curves = measurer.curves(classify, image, maps)
    assert len(calls) == 1
    assert set(curves["road"]) == {0, 1} and set(curves["road"][0]) == {"gradcam", "random"}
    alone = road.road_from_probabilities(classify(road.road_images(image, maps[1]["gradcam"], 0))[:, 1])
    np.testing.assert_allclose(curves["road"][1]["gradcam"].morf_curve, alone.morf_curve)
    np.testing.assert_allclose(curves["road"][1]["gradcam"].lerf_curve, alone.lerf_curve)
    assert curves["faithfulness"][0]["gradcam"].deletion_curve.shape == (5,)
    off = Measurer(MetricsSpec(steps=4, road=False), [], seed=0).curves(classify, image, maps)
    assert "road" not in off and set(off["faithfulness"]) == {0, 1}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["chelsea.png", "coffee.png", "grace_hopper.jpg"])
def test_on_the_offline_example_trained_lite0_gradcam_beats_the_random_map(name):
    """The trained Lite0's Grad-CAM of its top-1 class: MoRF below LeRF; the random map's MoRF is not below its LeRF."""
    from generator.explain import CaseInputs
    from generator.explain.gradcam import GradCam
    from generator.manifest.schema import ModelSpec, PreprocessSpec
    from generator.run.images import Preprocessor, decode_image
    from generator.run.inference import probabilities
    from generator.run.models import load_model, resolve_weights
    from generator.run.results import ModelResult

    spec = ModelSpec(name="efficientnet_lite0")
    model = load_model(spec, resolve_weights(spec, ".", 0), 0)
    original = decode_image(REPO / "examples" / "offline" / "images" / name, name, (255, 255, 255))
    prepared = Preprocessor(PreprocessSpec()).prepare(original)
    probs = probabilities(model, model.input_tensor(prepared))
    target = int(np.argmax(probs))
    inputs = CaseInputs(name, prepared)
    gradcam = GradCam(None)
    explanations = {"gradcam": {target: gradcam.explain(model, inputs, (target,))[0]}}
    result = ModelResult(spec.key, (), (target,), explanations, probabilities=probs)
    settings = MetricsSpec(faithfulness=False, road=True, stability_seeds=1, sanity=False)
    found = Measurer(settings, [gradcam], seed=0).measure(model, inputs, result)[target]["road"]
    assert found["gradcam"].morf_auc < found["gradcam"].lerf_auc, found["gradcam"]
    assert found["random"].morf_auc >= found["random"].lerf_auc, found["random"]
