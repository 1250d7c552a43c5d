"""Integrated Gradients: Captum's own numbers, completeness, and its place on every page of a report."""

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image
from torch import nn

from generator.explain import CaseInputs, enabled_explainers
from generator.explain.integrated_gradients import (
    IntegratedGradients,
    IntegratedGradientsSpec,
    black_baseline,
    integrated_gradients,
)
from generator.manifest.schema import ExplainersSpec, PreprocessSpec
from generator.run.images import Preprocessor
from generator.run.model_source import Normalisation, normalised
from tests.switches import build_tiny, check_pages, generated_pages, tiny_manifest

PREPROCESS = PreprocessSpec(resize=(40, 40), crop=32)
IMAGENET = Normalisation()  # torchvision's models' mean and std


def tiny_net(seed=0):
    """Smooth (softplus) so that the path integral converges fast and completeness is tight."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1), nn.Softplus(), nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(96, 5)
    ).eval()


class Model:
    """The part of generator.run.models.LoadedModel an explainer reads."""

    def __init__(self, module):
        self.module = module
        self.normalisation = IMAGENET

    def input_tensor(self, image):
        return normalised(image.pixels, self.normalisation)


def cat_inputs(preprocess=PREPROCESS):
    prepared = Preprocessor(preprocess).prepare(Image.fromarray(skimage.data.chelsea()))
    return CaseInputs("chelsea", prepared)


def test_black_baseline_is_the_normalised_black_image():
    inputs = cat_inputs()
    baseline = black_baseline(inputs.image.pixels, IMAGENET)
    black = normalised(Preprocessor(PREPROCESS).prepare(Image.new("RGB", (40, 40))).pixels, IMAGENET)
    torch.testing.assert_close(baseline, black)
    mean, std = torch.tensor(IMAGENET.mean), torch.tensor(IMAGENET.std)
    torch.testing.assert_close(baseline[0, :, 0, 0], -mean / std)


@pytest.mark.parametrize("target", [0, 3])
def test_equals_captums_own_call(target):
    from captum.attr import IntegratedGradients as CaptumIG

    net, inputs = tiny_net(), cat_inputs()
    tensor = normalised(inputs.image.pixels, IMAGENET)
    baseline = black_baseline(tensor, IMAGENET)
    (ours,) = IntegratedGradients(IntegratedGradientsSpec(steps=24, internal_batch_size=5)).explain(
        Model(net), inputs, (target,)
    )
    theirs = CaptumIG(net).attribute(tensor, baselines=baseline, target=target, n_steps=24, internal_batch_size=5)
    np.testing.assert_allclose(ours.raw, theirs[0].sum(dim=0).detach().double().numpy(), rtol=0, atol=1e-6)
    assert ours.target == target and ours.raw.shape == (32, 32)
    assert ours.heatmap.max() == pytest.approx(1.0) and ours.heatmap.min() >= 0


def test_completeness_attributions_add_up_to_the_logit_difference():
    net, inputs = tiny_net(1), cat_inputs()
    tensor = normalised(inputs.image.pixels, IMAGENET)
    baseline = black_baseline(tensor, IMAGENET)
    with torch.no_grad():
        gap = (net(tensor) - net(baseline))[0].double().numpy()
    for target in range(5):
        result = integrated_gradients(net, tensor, baseline, target, steps=64, internal_batch_size=16)
        assert result.raw.sum() == pytest.approx(gap[target], abs=1e-3 * max(1.0, abs(gap[target])))
        assert abs(result.delta) < 1e-3 * max(1.0, abs(gap[target]))
    # with fewer steps the integral is coarser: Captum's delta says by how much, and the sum still agrees with it
    coarse = integrated_gradients(net, tensor, baseline, 2, steps=2, internal_batch_size=2)
    assert coarse.raw.sum() - gap[2] == pytest.approx(coarse.delta, abs=1e-5)


def test_off_by_default_and_registered_after_the_reference_methods():
    names = [e.name for e in enabled_explainers(ExplainersSpec(), 0)]
    assert names == ["gradcam", "lime"]
    spec = ExplainersSpec(integrated_gradients={"enabled": True})
    assert [e.name for e in enabled_explainers(spec, 0)] == ["gradcam", "lime", "integrated_gradients"]


@pytest.mark.slow
def test_a_report_with_integrated_gradients_shows_it_everywhere(tmp_path):
    manifest = tiny_manifest(integrated_gradients=True, two_models=True, label="tabby")
    content = build_tiny(manifest, tmp_path)
    check_pages(content, manifest)
    pages = generated_pages(content)
    case = pages["cases/chelsea.md"]
    assert "## Integrated Gradients" in case and "-integrated_gradients-" in case
    for header in (
        "Integrated Gradients deletion AUC",
        "Integrated Gradients insertion AUC",
        "Integrated Gradients concentration",
        "Grad-CAM vs Integrated Gradients ρ",
        "LIME vs Integrated Gradients ρ",
        "Integrated Gradients sanity ρ",
    ):
        assert header in case, header
    assert "| Integrated Gradients |" in case  # model against model
    assert "Integrated Gradients deletion AUC" in pages["index.md"]  # the overview's means
    methods = pages["methods.md"]
    assert "## Integrated Gradients" in methods and "Captum's `IntegratedGradients`" in methods
    figures = sorted(p.name for p in (content / "figures" / "chelsea").glob("*integrated_gradients*"))
    assert figures and all(Image.open(content / "figures" / "chelsea" / name).size[0] > 100 for name in figures)
