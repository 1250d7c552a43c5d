"""Grad-CAM on the right layer for every torchvision classification family, with random (seeded) weights.

Each family's smallest variant is built the way a build builds it (load_model), its default layer checked by
name and grid, and its top-1 Grad-CAM required to be a real map (not constant). ViT and Swin maps are
checked against pytorch-grad-cam's GradCAM with the standard reshape of their tokens.
"""

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from generator.explain.gradcam import grad_cam
from generator.manifest.schema import ModelSpec, PreprocessSpec
from generator.render.pages import markdown_text
from generator.run.images import Preprocessor
from generator.run.model_source import Normalisation, normalised
from generator.run.models import load_model, resolve_weights
from generator.run.sources.torchvision_source import family_prefix
from generator.run.target_layers import to_spatial
from generator.utils.errors import WeightsError
from tests.helpers import CHELSEA
from tests.switches import build_tiny, check_pages

# family -> (smallest variant, default layer, grid on a 224 crop)
FAMILIES = {
    "resnet": ("resnet18", "layer4", (7, 7)),
    "resnext": ("resnext50_32x4d", "layer4", (7, 7)),
    "wide_resnet": ("wide_resnet50_2", "layer4", (7, 7)),
    "vgg": ("vgg11", "features", (7, 7)),
    "alexnet": ("alexnet", "features", (6, 6)),
    "squeezenet": ("squeezenet1_1", "features", (13, 13)),
    "densenet": ("densenet121", "features", (7, 7)),
    "googlenet": ("googlenet", "inception5b", (7, 7)),
    "inception": ("inception_v3", "Mixed_7c", (5, 5)),
    "mobilenet": ("mobilenet_v3_small", "features", (7, 7)),
    "mnasnet": ("mnasnet0_5", "layers", (7, 7)),
    "shufflenet": ("shufflenet_v2_x0_5", "conv5", (7, 7)),
    "efficientnet": ("efficientnet_b0", "features", (7, 7)),
    "regnet": ("regnet_y_400mf", "trunk_output", (7, 7)),
    "convnext": ("convnext_tiny", "features", (7, 7)),
    "vit_": ("vit_b_32", "encoder.layers.encoder_layer_11.ln_1", (7, 7)),
    "swin": ("swin_t", "features", (7, 7)),
    "maxvit": ("maxvit_t", "blocks.3", (7, 7)),
}
# variants whose layer or token layout differs from their family's smallest member
EXTRA_VARIANTS = {
    "mobilenet_v2": ("features", (7, 7)),
    "efficientnet_v2_s": ("features", (7, 7)),
    "regnet_x_400mf": ("trunk_output", (7, 7)),
    "swin_v2_t": ("features", (7, 7)),
    "vit_b_16": ("encoder.layers.encoder_layer_11.ln_1", (14, 14)),
}


@pytest.fixture(scope="module")
def chelsea():
    pixels = Preprocessor(PreprocessSpec()).prepare(Image.open(CHELSEA).convert("RGB")).pixels
    return normalised(pixels, Normalisation())


def random_model(name, **spec):
    model_spec = ModelSpec(name=name, weights="random", **spec)
    return load_model(model_spec, resolve_weights(model_spec, ".", 0), 0)


def test_every_torchvision_classifier_belongs_to_a_tested_family():
    names = torchvision.models.list_models(module=torchvision.models)
    untested = [name for name in names if family_prefix(name) not in FAMILIES]
    assert untested == [], "a new torchvision family: add it to FAMILY_LAYERS and to this test"


def top_classes(model, tensor, k):
    with torch.inference_mode():
        return [int(i) for i in torch.argsort(model.module(tensor)[0], descending=True)[:k]]


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, layer, grid",
    [values for values in FAMILIES.values()] + [(name, *rest) for name, rest in EXTRA_VARIANTS.items()],
    ids=[v[0] for v in FAMILIES.values()] + list(EXTRA_VARIANTS),
)
def test_family_default_layer_grid_and_a_real_map(chelsea, name, layer, grid):
    model = random_model(name)
    assert model.target_layer_name == layer
    assert model.target_layer_probe.grid == grid
    # a random model's map of one class can be all zero after the ReLU (no positive evidence anywhere): of its
    # top 3 classes, at least one must give a real map
    spreads = []
    for target in top_classes(model, chelsea, 3):
        result = grad_cam(model.module, model.target_layer, chelsea, target, model.grid)
        assert result.layer_map.shape == grid and result.raw.shape == (224, 224)
        spreads.append(result.heatmap.std())
    assert max(spreads) > 0.01, "constant maps"


def pytorch_grad_cam_map(model, tensor, target, reshape):
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    # load_model freezes the parameters, so the graph starts at the input
    with GradCAM(model=model.module, target_layers=[model.target_layer], reshape_transform=reshape) as cam:
        return cam(input_tensor=tensor.clone().requires_grad_(True), targets=[ClassifierOutputTarget(target)])[0]


def vit_reshape(tensor, side):  # pytorch-grad-cam's vit_reshape_transform for a side x side grid
    return tensor[:, 1:, :].reshape(tensor.size(0), side, side, tensor.size(2)).transpose(2, 3).transpose(1, 2)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, reshape",
    [
        ("vit_b_16", lambda t: vit_reshape(t, 14)),
        ("vit_b_32", lambda t: vit_reshape(t, 7)),
        ("swin_t", lambda t: t.permute(0, 3, 1, 2)),  # torchvision's Swin stages are N x h x w x C
        ("swin_v2_t", lambda t: t.permute(0, 3, 1, 2)),
    ],
)
def test_transformer_maps_match_pytorch_grad_cam(chelsea, name, reshape):
    model = random_model(name)
    for target in top_classes(model, chelsea, 3):
        ours = grad_cam(model.module, model.target_layer, chelsea, target, model.grid).heatmap
        reference = pytorch_grad_cam_map(model, chelsea, target, reshape)
        if reference.std() == 0:  # no positive evidence for this class: both maps are zero
            assert ours.std() == 0
            continue
        assert np.corrcoef(ours.ravel(), reference.ravel())[0, 1] >= 0.99


def test_to_spatial_layouts():
    nchw = torch.arange(2 * 3 * 4 * 4).reshape(2, 3, 4, 4)
    assert torch.equal(to_spatial(nchw), nchw)
    nhwc = nchw.permute(0, 2, 3, 1)  # 2 x 4 x 4 x 3
    assert torch.equal(to_spatial(nhwc), nchw)
    cube = torch.arange(2 * 4 * 4 * 4).reshape(2, 4, 4, 4)
    assert torch.equal(to_spatial(cube), cube) and torch.equal(to_spatial(cube, True), cube.permute(0, 3, 1, 2))
    tokens = nhwc.reshape(2, 16, 3)
    assert torch.equal(to_spatial(tokens), nchw)
    with_class_token = torch.cat([torch.full((2, 1, 3), -1), tokens], dim=1)
    assert torch.equal(to_spatial(with_class_token), nchw)
    for bad in (torch.zeros(2, 10), torch.zeros(2, 7, 3)):
        with pytest.raises(ValueError, match="not a spatial map"):
            to_spatial(bad)


@pytest.mark.parametrize(
    "name, layer, message",
    [
        ("resnet18", "fc", "model 'resnet18': target_layer 'fc' cannot be used for Grad-CAM: its output of shape"),
        ("resnet18", "avgpool", "is a single position"),
        ("googlenet", "aux2.conv.conv", "does not run when the model classifies"),
        ("resnet18", "layer9", "target_layer 'layer9' does not exist"),
    ],
)
def test_target_layer_without_a_map_is_refused_naming_the_model(name, layer, message):
    with pytest.raises(WeightsError, match=message.replace("(", r"\(")):
        random_model(name, target_layer=layer)


def test_target_layer_override_is_used(chelsea):
    model = random_model("resnet18", target_layer="layer3")
    assert model.target_layer_name == "layer3" and model.target_layer_probe.grid == (14, 14)


@pytest.mark.slow
def test_report_with_transformers_and_inception_family_builds(tmp_path):
    """The issue's manifest: ViT, Swin, GoogLeNet, Inception v3, MaxViT and ResNet18 side by side, random weights."""
    names = ["vit_b_16", "swin_t", "googlenet", "inception_v3", "maxvit_t", "resnet18"]
    manifest = {
        "models": [{"name": name, "weights": "random"} for name in names],
        # a batch larger than the sample count runs eagerly: no network is traced for 16 images
        "explainers": {"lime": {"num_samples": 16, "batch_size": 32}},
        "metrics": {"faithfulness": False, "sanity": False, "stability_seeds": 1},
        "cases": [{"id": "chelsea", "image": "images/chelsea.png", "label": "tabby"}],
    }
    content = build_tiny(manifest, tmp_path)
    methods = (content / "methods.md").read_text(encoding="utf-8")
    for name, layer, grid in [
        ("vit_b_16", "encoder.layers.encoder_layer_11.ln_1", "14x14"),
        ("swin_t", "features", "7x7"),
        ("googlenet", "inception5b", "7x7"),
        ("inception_v3", "Mixed_7c", "5x5"),
        ("maxvit_t", "blocks.3", "7x7"),
        ("resnet18", "layer4", "7x7"),
    ]:
        assert f"| torchvision {markdown_text(name)} | random \\(seed 0\\) ⚠️ random | 1000, softmax |" in methods
        assert f"| `{layer}` | {grid} |" in methods
    assert (tmp_path / "site" / "cases" / "chelsea.html").is_file()
    check_pages(content, manifest)
