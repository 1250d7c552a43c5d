"""Grad-CAM proven with values: a closed form on a hand-built CNN, and an independent recipe on ResNet18."""

import numpy as np
import pytest
import skimage.data
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image
from torch import nn

from generator.explain.gradcam import GradCam, grad_cam
from generator.manifest.schema import PreprocessSpec
from generator.run.images import Preprocessor
from generator.run.model_source import GridLayout, Normalisation, normalised

HOOK_DICTS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")


def leftover_hooks(module):
    return [(name, kind) for name, sub in module.named_modules() for kind in HOOK_DICTS if getattr(sub, kind)]


# --- 1. closed form on a tiny hand-built CNN -------------------------------------------------------
#
# input x (2 x 8 x 8) -> AvgPool2d(2) -> P (2 x 4 x 4)
#   -> target layer: 1x1 conv with weights CONV_W (3 x 2) and bias CONV_B -> A (3 x 4 x 4)
#   -> global average pooling -> Linear(W, b) -> 4 logits.
# logit_c = sum_k W[c, k] * mean(A_k) + b_c, so d logit_c / d A_k(i, j) = W[c, k] / (h * w) everywhere;
# the GAP of that gradient is W[c, k] / (h * w) and Grad-CAM is ReLU(sum_k W[c, k] / (h * w) * A_k).

H = W_ = 4  # the target layer's resolution
CONV_W = np.array([[1.0, -2.0], [0.5, 1.5], [-1.0, 0.25]])
CONV_B = np.array([0.1, -0.2, 0.3])
LIN_W = np.array(
    [
        [16.0, 8.0, 4.0],  # class 0: mixed signs across the map
        [-16.0, 0.0, 32.0],  # class 1: mixed
        [0.0, 0.0, 0.0],  # class 2: no evidence anywhere -> all-zero map
        [-32.0, -32.0, -32.0],  # class 3 (with INPUT_ALL_POS): negative everywhere -> ReLU zeroes all
    ]
)
LIN_B = np.array([0.5, -0.5, 1.0, 0.0])


def tiny_cnn():
    conv = nn.Conv2d(2, 3, kernel_size=1)
    linear = nn.Linear(3, 4)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(CONV_W, dtype=torch.float32).view(3, 2, 1, 1))
        conv.bias.copy_(torch.tensor(CONV_B, dtype=torch.float32))
        linear.weight.copy_(torch.tensor(LIN_W, dtype=torch.float32))
        linear.bias.copy_(torch.tensor(LIN_B, dtype=torch.float32))
    module = nn.Sequential(nn.AvgPool2d(2), conv, nn.AdaptiveAvgPool2d(1), nn.Flatten(), linear).eval()
    return module, conv


def known_input():
    return np.random.RandomState(7).normal(size=(2, 8, 8)).round(2)


def closed_form_activations(x):
    pooled = x.reshape(2, H, 2, W_, 2).mean(axis=(2, 4))  # AvgPool2d(2) by hand
    return np.einsum("kc,chw->khw", CONV_W, pooled) + CONV_B[:, None, None]


def closed_form_cam(activations, target):
    return np.maximum(np.einsum("k,khw->hw", LIN_W[target] / (H * W_), activations), 0.0)


def as_tensor(x):
    return torch.tensor(x, dtype=torch.float32).unsqueeze(0)


@pytest.mark.parametrize("target", [0, 1])
def test_layer_map_equals_closed_form_with_relu_zeroing_part(target):
    module, conv = tiny_cnn()
    x = known_input()
    expected = closed_form_cam(closed_form_activations(x), target)
    # the case is informative: the ReLU zeroes part of the map and keeps the rest
    unclipped = np.einsum("k,khw->hw", LIN_W[target] / (H * W_), closed_form_activations(x))
    assert 0 < (unclipped < 0).sum() < unclipped.size

    result = grad_cam(module, conv, as_tensor(x), target)

    assert result.target == target
    assert result.layer_map.shape == (H, W_)
    np.testing.assert_allclose(result.layer_map, expected, rtol=0, atol=1e-6)
    assert (result.layer_map[unclipped < 0] == 0).all()
    assert (result.layer_map[unclipped > 1e-6] > 0).all()

    # raw: the closed-form map upsampled bilinearly to the input's 8x8; heatmap: raw / max, in [0, 1]
    upsampled = F.interpolate(torch.tensor(expected)[None, None], size=(8, 8), mode="bilinear", align_corners=False)
    np.testing.assert_allclose(result.raw, upsampled[0, 0].numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(result.heatmap, result.raw / result.raw.max(), rtol=0, atol=1e-12)
    assert result.heatmap.min() >= 0 and result.heatmap.max() == pytest.approx(1.0)
    assert result.heatmap.shape == (8, 8)
    assert leftover_hooks(module) == []


def test_map_negative_everywhere_gives_zero_heatmap_not_nan():
    module, conv = tiny_cnn()
    x = np.abs(known_input()) + 1.0  # every pooled input > 0 -> every A_k > 0 here
    activations = closed_form_activations(x)
    assert (np.einsum("k,khw->hw", LIN_W[3], activations) < 0).all()
    for target in (2, 3):
        result = grad_cam(module, conv, as_tensor(x), target)
        np.testing.assert_array_equal(result.layer_map, np.zeros((H, W_)))
        np.testing.assert_array_equal(result.heatmap, np.zeros((8, 8)))
    assert leftover_hooks(module) == []


@pytest.mark.parametrize("bad_target", [4, 1000, -1, -5])
def test_hooks_released_when_target_is_invalid(bad_target):
    module, conv = tiny_cnn()
    with pytest.raises(IndexError):
        grad_cam(module, conv, as_tensor(known_input()), bad_target)
    assert leftover_hooks(module) == []
    # and the module still works normally afterwards
    result = grad_cam(module, conv, as_tensor(known_input()), 0)
    np.testing.assert_allclose(result.layer_map, closed_form_cam(closed_form_activations(known_input()), 0), atol=1e-6)
    assert leftover_hooks(module) == []


def test_input_tensor_is_not_modified_and_needs_no_grad():
    module, conv = tiny_cnn()
    tensor = as_tensor(known_input())
    before = tensor.clone()
    grad_cam(module, conv, tensor, 0)
    assert not tensor.requires_grad and tensor.grad is None
    assert torch.equal(tensor, before)


# --- 2. ResNet18 (random, seeded) against an independent hook-based recipe ---------------------------


@pytest.fixture(scope="module")
def chelsea_tensor():
    pixels = Preprocessor(PreprocessSpec()).prepare(Image.fromarray(skimage.data.chelsea())).pixels
    return normalised(pixels, Normalisation())


def reference_grad_cam(module, layer, tensor, target):
    """The Grad-CAM recipe written out: hook layer4's output, d logit / d A, GAP, weighted sum, ReLU, upsample."""
    saved = {}
    handle = layer.register_forward_hook(lambda _module, _inputs, output: saved.__setitem__("A", output))
    try:
        inputs = tensor.detach().clone().requires_grad_(True)  # parameters may have requires_grad False
        with torch.enable_grad():
            logits = module(inputs)
            (gradients,) = torch.autograd.grad(logits[0, target], saved["A"])
    finally:
        handle.remove()
    activations = saved["A"].detach()
    weights = gradients.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * activations).sum(dim=1, keepdim=True))
    upsampled = F.interpolate(cam, size=tuple(tensor.shape[-2:]), mode="bilinear", align_corners=False)
    return cam[0, 0].double().numpy(), upsampled[0, 0].double().numpy()


def resnet18_random(frozen_channels_last):
    torch.manual_seed(0)
    module = torchvision.models.resnet18(weights=None).eval()
    if frozen_channels_last:  # what generator.run.models.load_model does
        module.to(memory_format=torch.channels_last)
        for parameter in module.parameters():
            parameter.requires_grad_(False)
    return module


@pytest.mark.parametrize("frozen_channels_last", [False, True], ids=["plain", "as-load_model"])
def test_resnet18_layer4_matches_independent_recipe(chelsea_tensor, frozen_channels_last):
    module = resnet18_random(frozen_channels_last)
    with torch.inference_mode():
        logits = module(chelsea_tensor)[0]
    order = torch.argsort(logits, descending=True)
    targets = (int(order[0]), int(order[500]))  # the top class and a mid-ranked one
    maps = []
    for target in targets:
        result = grad_cam(module, module.layer4, chelsea_tensor, target)
        ref_map, ref_raw = reference_grad_cam(module, module.layer4, chelsea_tensor, target)
        assert result.layer_map.shape == (7, 7) and result.raw.shape == (224, 224)
        assert ref_raw.max() > 0, "degenerate reference: nothing to compare"
        np.testing.assert_allclose(result.layer_map, ref_map, rtol=1e-4, atol=1e-6 * ref_map.max())
        pearson = np.corrcoef(result.raw.ravel(), ref_raw.ravel())[0, 1]
        assert pearson > 0.999
        assert np.unravel_index(result.raw.argmax(), result.raw.shape) == np.unravel_index(
            ref_raw.argmax(), ref_raw.shape
        )
        np.testing.assert_allclose(result.heatmap, ref_raw / ref_raw.max(), atol=1e-4)
        maps.append(result.heatmap)
        assert leftover_hooks(module) == []
    # the two targets give genuinely different maps, so the comparison above is not trivially shared
    assert np.corrcoef(maps[0].ravel(), maps[1].ravel())[0, 1] < 0.99


def test_explainer_returns_one_result_per_target_in_order(chelsea_tensor):
    module = resnet18_random(True)

    class Model:  # what GradCam.explain uses of a LoadedModel
        def input_tensor(self, image):
            return image.tensor

    model = Model()
    model.module, model.target_layer, model.grid = module, module.layer4, GridLayout()

    class Inputs:
        pass

    inputs = Inputs()
    inputs.image = Inputs()
    inputs.image.tensor = chelsea_tensor
    results = GradCam(settings=None).explain(model, inputs, (281, 7))
    assert [r.target for r in results] == [281, 7]
    np.testing.assert_array_equal(results[1].layer_map, grad_cam(module, module.layer4, chelsea_tensor, 7).layer_map)
