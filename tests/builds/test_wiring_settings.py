"""Every setting that changes a number is set to a value other than its default, and the number it changes checked.

Each test builds the tiny report of tests/wiring.py in-process with one or more settings changed and checks the
numbers the build handed to the pages against an independent computation: the tiny network run here by hand, the
segmentation called directly, a closed form.
"""

import numpy as np
import pytest
import torch
from PIL import Image

from generator.explain.lime import LimeSpec, segment_image
from tests.wiring import CLASSES, make_tiny_project, recorded_build, tiny_manifest, tiny_net, write_manifest

IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def tiny_probabilities(folder, images, mean=IMAGENET[0], std=IMAGENET[1]):
    """The tiny network's softmax on uint8 N x H x W x 3 images, normalised with `mean` and `std` (by hand)."""
    module = tiny_net()
    module.load_state_dict(torch.load(folder / "content" / "net.pth", weights_only=True))
    pixels = torch.tensor(np.asarray(images), dtype=torch.float32).permute(0, 3, 1, 2) / 255.0
    pixels = (pixels - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    with torch.no_grad():
        return torch.softmax(module.eval()(pixels), dim=1).double().numpy()


def build(tmp_path, monkeypatch, manifest, folder=None):
    """(the project folder, the chelsea case's result and the tiny model's result) of one build."""
    folder = folder or make_tiny_project(tmp_path, manifest)
    write_manifest(folder, manifest)
    case = recorded_build(folder, monkeypatch).cases["chelsea"]
    return folder, case, case.models["tiny"]


def test_metrics_hide_color_paints_the_deleted_pixels(tmp_path, monkeypatch):
    """With every pixel deleted the image is one colour: the deletion curve ends at that image's probability."""
    folder, case, result = build(tmp_path, monkeypatch, tiny_manifest(metrics={"steps": 4, "hide_color": 255}))
    shape = case.crop_array.shape
    white, black = tiny_probabilities(folder, [np.full(shape, 255, np.uint8), np.zeros(shape, np.uint8)])
    (target,) = result.targets
    assert abs(white[target] - black[target]) > 1e-3  # the two colours tell the setting apart
    curves = result.metrics[target].of("faithfulness")
    assert set(curves) == {"gradcam", "lime", "integrated_gradients", "random"}
    for name, curve in curves.items():
        assert curve.deletion_curve[-1] == pytest.approx(white[target], abs=1e-5), name
        assert curve.deletion_curve[0] == pytest.approx(result.probabilities[target], abs=1e-5), name


def test_metrics_steps_and_top_k_reach_the_curves_and_the_agreements(tmp_path, monkeypatch):
    _, _, result = build(tmp_path, monkeypatch, tiny_manifest(metrics={"steps": 5, "top_k": 2, "stability_seeds": 2}))
    measured = result.metrics[result.targets[0]]
    for curve in measured.of("faithfulness").values():
        np.testing.assert_allclose(curve.fractions, np.linspace(0, 1, 6))
        assert len(curve.deletion_curve) == len(curve.insertion_curve) == 6
    assert len(measured.of("map_agreement")) == 3  # three methods: three pairs
    assert {agreement.k for agreement in measured.of("map_agreement").values()} == {2}


def test_metrics_top_k_reaches_the_agreements_between_models(tmp_path, monkeypatch):
    manifest = tiny_manifest(metrics={"top_k": 2, "stability_seeds": 1})
    manifest["models"].append({**manifest["models"][0], "display_name": "Tiny twin"})  # the same network twice
    _, case, _ = build(tmp_path, monkeypatch, manifest)
    assert len(case.comparisons) == 3  # one pair of models, three methods
    assert {pair.agreement.k for pair in case.comparisons} == {2}
    assert {pair.agreement.top_k_overlap for pair in case.comparisons} == {1.0}  # a network agrees with itself


@pytest.mark.parametrize("where", ["model", "preprocess"])
def test_mean_and_std_normalise_the_models_input(tmp_path, monkeypatch, where):
    mean, std = (0.2, 0.3, 0.4), (0.5, 0.25, 0.125)
    manifest = tiny_manifest()
    if where == "model":
        manifest["models"][0].update(mean=list(mean), std=list(std))
    else:
        manifest["preprocess"].update(mean=list(mean), std=list(std))
    folder, case, result = build(tmp_path, monkeypatch, manifest)
    (by_hand,) = tiny_probabilities(folder, [case.crop_array], mean, std)
    (default,) = tiny_probabilities(folder, [case.crop_array])
    assert np.abs(by_hand - default).max() > 1e-3
    np.testing.assert_allclose(result.probabilities, by_hand, atol=1e-5)


def test_the_default_normalisation_is_imagenets(tmp_path, monkeypatch):
    folder, case, result = build(tmp_path, monkeypatch, tiny_manifest())
    (by_hand,) = tiny_probabilities(folder, [case.crop_array])
    np.testing.assert_allclose(result.probabilities, by_hand, atol=1e-5)
    assert result.top_k[0].name == CLASSES[int(np.argmax(by_hand))]


def test_preprocess_background_fills_transparent_pixels(tmp_path, monkeypatch):
    """A photo whose left half is transparent: the crop's left columns are the background colour."""
    background = (10, 200, 30)
    manifest = tiny_manifest(preprocess={"resize": [72, 72], "crop": 64, "background": list(background)})
    manifest["cases"] = [{"id": "chelsea", "image": "images/half.png"}]
    folder = make_tiny_project(tmp_path, manifest)
    rgba = np.full((80, 80, 4), 255, np.uint8)
    rgba[:, :40, 3] = 0
    rgba[:, 40:, :3] = (90, 60, 120)
    Image.fromarray(rgba, "RGBA").save(folder / "content" / "images" / "half.png")
    _, case, _ = build(tmp_path, monkeypatch, manifest, folder)
    np.testing.assert_array_equal(case.crop_array[:, :20], np.broadcast_to(background, (64, 20, 3)))
    np.testing.assert_array_equal(case.crop_array[:, -20:], np.broadcast_to((90, 60, 120), (64, 20, 3)))


def test_the_seed_reaches_limes_perturbations(tmp_path, monkeypatch):
    """Seeds 0 and 1 share the superpixels here but draw other perturbed images: other LIME weights."""
    folder, case_0, result_0 = build(tmp_path, monkeypatch, tiny_manifest())
    _, case_1, result_1 = build(tmp_path, monkeypatch, tiny_manifest(seed=1), folder)
    np.testing.assert_array_equal(case_0.segments, case_1.segments)
    target = result_0.targets[0]
    weights = [r.explanations["lime"][target].weights for r in (result_0, result_1)]
    assert not np.allclose(*weights)
    neighbourhoods = [r.explanations["lime"][target].neighbourhood for r in (result_0, result_1)]
    assert neighbourhoods[0][0] == neighbourhoods[1][0]  # row 0 is the image itself in both


@pytest.mark.parametrize("setting", [{"max_dist": 10}, {"ratio": 0.9}, {"kernel_size": 2}])
def test_quickshift_settings_reach_the_segmentation(tmp_path, monkeypatch, setting):
    lime = {"num_samples": 20, "batch_size": 4096, **setting}
    folder, case, _ = build(tmp_path, monkeypatch, tiny_manifest(explainers={"lime": lime}))
    expected = segment_image(case.crop_array, LimeSpec(**lime), seed=0)
    default = segment_image(case.crop_array, LimeSpec(num_samples=20), seed=0)
    assert not np.array_equal(expected, default)  # the setting tells the segmentations apart
    np.testing.assert_array_equal(case.segments, expected)


def test_metrics_pointing_tolerance_decides_the_pointing_game(tmp_path, monkeypatch):
    """A small region in a corner: missed by some map at a tolerance of 0, hit by every map that points at 100 px."""
    manifest = tiny_manifest(metrics={"steps": 4, "stability_seeds": 2, "pointing_tolerance": 0})
    manifest["cases"][0]["regions"] = {"corner": [0, 0, 60, 40]}
    folder, case, result = build(tmp_path, monkeypatch, manifest)
    (region,) = case.regions
    assert not region.outside
    target = result.targets[0]
    strict = {method: scores["corner"].pointing_hit for method, scores in result.metrics[target]["pointing"].items()}
    assert False in strict.values()
    manifest["metrics"]["pointing_tolerance"] = 100
    _, case, result = build(tmp_path, monkeypatch, manifest, folder)
    loose = {method: scores["corner"].pointing_hit for method, scores in result.metrics[target]["pointing"].items()}
    # None: a map with no positive value points nowhere, at any tolerance
    assert loose == {method: None if hit is None else True for method, hit in strict.items()}
