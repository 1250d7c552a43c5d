"""The CAM family against pytorch-grad-cam's class of the same name, on a seeded ResNet18 and a seeded ViT.

Each method explains the model's top classes on chelsea through the explainer the build runs
(`explain`), and its map must correlate at 0.99 or more with pytorch-grad-cam's (a map that is zero in
pytorch-grad-cam, a class without positive evidence, must be zero here too), on at least three classes. The gradient-free methods run one
forward pass per channel: on a 112 crop for the ResNet18 (512 channels). The ViT is timm's own test ViT (the
architecture of vit_tiny_patch16_224 at 64 channels and a 160 input: a 10 x 10 grid and a class token).
"""

import numpy as np
import pytest
import torch
from PIL import Image

from generator.explain import EXPLAINERS, CaseInputs
from generator.explain.cam import channel_axis
from generator.manifest.schema import ExplainersSpec, ModelSpec, PreprocessSpec
from generator.run.images import Preprocessor
from generator.run.model_source import GridLayout
from generator.run.models import load_model, resolve_weights
from tests.helpers import CHELSEA
from tests.requires import module

pytestmark = pytest.mark.slow
grad_cam_library = module("pytorch_grad_cam", "grad-cam")

REFERENCE = {
    "gradcam": "GradCAM",
    "gradcam_plus_plus": "GradCAMPlusPlus",
    "hirescam": "HiResCAM",
    "layercam": "LayerCAM",
    "xgradcam": "XGradCAM",
    "eigencam": "EigenCAM",
    "scorecam": "ScoreCAM",
    "ablationcam": "AblationCAM",
}
CHANNEL_PASSES = ("scorecam", "ablationcam")
MODELS = {  # source, name, crop for the gradient methods, crop for the channel passes
    "resnet18": ("torchvision", "resnet18", 224, 112),
    "vit": ("timm", "test_vit", 160, 160),
}


def test_every_cam_method_is_compared():
    cams = {name for name, cls in EXPLAINERS.items() if cls.uses_target_layer}
    assert cams == set(REFERENCE), "add the new CAM method to REFERENCE"


@pytest.fixture(scope="module")
def built():
    cache = {}

    def get(key):
        if key not in cache:
            source, name, _, _ = MODELS[key]
            spec = ModelSpec(source=source, name=name, weights="random")
            cache[key] = load_model(spec, resolve_weights(spec, ".", 0), 0)
        return cache[key]

    return get


def inputs_at(crop):
    prepared = Preprocessor(PreprocessSpec(resize=(crop, crop), crop=crop)).prepare(Image.open(CHELSEA).convert("RGB"))
    return CaseInputs("chelsea", prepared)


def reshape_for(model):
    """pytorch-grad-cam's reshape transform for the ViT's tokens (prefix tokens dropped, a square grid)."""
    if model.grid.prefix_tokens is None:
        return None
    prefix = model.grid.prefix_tokens

    def reshape(t):
        side = int(round((t.size(1) - prefix) ** 0.5))
        return t[:, prefix:, :].reshape(t.size(0), side, side, t.size(2)).permute(0, 3, 1, 2)

    return reshape


def reference_maps(method, model, tensor, targets):
    from pytorch_grad_cam.ablation_layer import AblationLayerVit
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    cls = getattr(grad_cam_library, REFERENCE[method])
    extra = {}
    if method == "ablationcam" and model.grid.prefix_tokens is not None:
        extra["ablation_layer"] = AblationLayerVit()
    batch = tensor.repeat(len(targets), 1, 1, 1).requires_grad_(True)
    with cls(model=model.module, target_layers=[model.target_layer], reshape_transform=reshape_for(model), **extra) as cam:
        cam.batch_size = 64
        return cam(input_tensor=batch, targets=[ClassifierOutputTarget(t) for t in targets])


@pytest.mark.parametrize("model_key", list(MODELS))
@pytest.mark.parametrize("method", list(REFERENCE))
def test_cam_method_equals_pytorch_grad_cam_on_three_classes(built, model_key, method):
    model = built(model_key)
    _, _, gradient_crop, passes_crop = MODELS[model_key]
    inputs = inputs_at(passes_crop if method in CHANNEL_PASSES else gradient_crop)
    tensor = model.input_tensor(inputs.image)
    with torch.inference_mode():
        # the top classes; the gradient methods' up to five, as a random model's map of a class can be all zero
        candidates = 3 if method in CHANNEL_PASSES else 5
        targets = tuple(int(i) for i in torch.argsort(model.module(tensor)[0], descending=True)[:candidates])
    explainer = EXPLAINERS[method](getattr(ExplainersSpec(), method), seed=0)
    ours = explainer.explain(model, inputs, targets)
    references = reference_maps(method, model, tensor, targets)
    compared = 0
    for result, reference in zip(ours, references):
        if reference.std() == 0:  # no positive evidence for this class in pytorch-grad-cam: none here either
            assert result.heatmap.std() == 0, (method, result.target)
            continue
        rho = np.corrcoef(result.heatmap.ravel(), reference.ravel())[0, 1]
        assert rho >= 0.99, (method, model_key, result.target, rho)
        compared += 1
    assert compared >= 3, f"only {compared} of the top {len(targets)} classes had a map to compare"


def test_channel_axis_of_each_layout():
    assert channel_axis((1, 512, 7, 7), 512, GridLayout()) == 1
    assert channel_axis((1, 197, 192), 192, GridLayout(prefix_tokens=1)) == -1
    assert channel_axis((1, 7, 7, 768), 768, GridLayout(channels_last=True)) == -1
    assert channel_axis((1, 8, 8, 8), 8, GridLayout(channels_last=False)) == 1


def test_a_report_with_every_method_on_a_resnet_and_a_vit_builds(tmp_path):
    """Every explainer (the CAM family, LIME, KernelSHAP, Integrated Gradients) and every default measure on a
    ResNet and a ViT (timm's test models, whose 160 input is the crop), through the build and MkDocs in strict mode.

    ROAD (model-agnostic: curve images classified like any other) runs on every method in test_switches'
    every-method-and-measure case, whose check_pages wants its case section and overview ranking."""
    from tests.switches import CAM_VARIANTS, build_tiny, check_pages, tiny_manifest

    manifest = tiny_manifest(
        models=["timm:test_resnet", "timm:test_vit"],
        cams=CAM_VARIANTS,
        integrated_gradients=True,
        kernel_shap=True,
        crop=160,
        batch_size=64,
    )
    content = build_tiny(manifest, tmp_path)
    check_pages(content, manifest)
    page = (content / "cases" / "chelsea.md").read_text(encoding="utf-8")
    assert set(EXPLAINERS) == {"gradcam", "lime", "kernel_shap", "integrated_gradients", *CAM_VARIANTS}
    for name, explainer in EXPLAINERS.items():
        assert f"## {explainer.title}\n" in page, explainer.title
    assert (tmp_path / "site" / "cases" / "chelsea.html").is_file()
