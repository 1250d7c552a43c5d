"""`source: timm`: names, weights (random, state dict files, the local Hugging Face cache), normalisation and
the Grad-CAM layer by rule, checked against pytorch-grad-cam on each family's smallest variant. Offline: no
test downloads anything (pretrained weights come from a cache folder the test writes itself)."""

import logging

import numpy as np
import pytest
import timm
import torch
from PIL import Image
from safetensors.torch import save_file

from generator.explain.gradcam import grad_cam
from generator.manifest.schema import ModelSpec, PreprocessSpec
from generator.run.fast_forward import forward_for, synthetic_batch
from generator.run.images import Preprocessor
from generator.run.models import load_model, resolve_weights
from generator.utils.errors import WeightsError
from tests.helpers import CHELSEA
from tests.switches import build_tiny, check_pages, tiny_manifest

# name -> (Grad-CAM layer, prefix tokens, channels last, grid on a 224 crop)
FAMILIES = {
    "resnet18": ("layer4", None, False, (7, 7)),
    "convnext_atto": ("stages.3", None, False, (7, 7)),
    "efficientnet_b0": ("bn2", None, False, (7, 7)),  # after the 1x1 head convolution, as torchvision's features
    "regnety_002": ("s4", None, False, (7, 7)),
    "vit_tiny_patch16_224": ("blocks.11.norm1", 1, False, (14, 14)),
    "deit_tiny_distilled_patch16_224": ("blocks.11.norm1", 2, False, (14, 14)),  # class and distillation tokens
    "swin_tiny_patch4_window7_224": ("layers.3", None, True, (7, 7)),
}


def timm_model(name, weights="random", manifest_dir=".", **spec):
    model_spec = ModelSpec(source="timm", name=name, weights=weights, **spec)
    return load_model(model_spec, resolve_weights(model_spec, manifest_dir, 0), 0)


@pytest.fixture(scope="module")
def chelsea():
    return Preprocessor(PreprocessSpec()).prepare(Image.open(CHELSEA).convert("RGB"))


@pytest.fixture(scope="module")
def models():
    """Each family's model, built once for the module."""
    built = {}

    def get(name):
        if name not in built:
            built[name] = timm_model(name)
        return built[name]

    return get


def reshape_for(name):
    """pytorch-grad-cam's reshape transform for the family's layer output (None: already N x C x h x w)."""
    _, prefix, channels_last, (side, _) = FAMILIES[name]
    if channels_last:
        return lambda t: t.permute(0, 3, 1, 2)
    if prefix is None:
        return None
    return lambda t: t[:, prefix:, :].reshape(t.size(0), side, side, t.size(2)).permute(0, 3, 1, 2)


def pytorch_grad_cam_map(model, tensor, target, reshape):
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    # load_model freezes the parameters, so the graph starts at the input
    with GradCAM(model=model.module, target_layers=[model.target_layer], reshape_transform=reshape) as cam:
        return cam(input_tensor=tensor.clone().requires_grad_(True), targets=[ClassifierOutputTarget(target)])[0]


@pytest.mark.slow
@pytest.mark.parametrize("name", list(FAMILIES))
def test_layer_grid_normalisation_and_grad_cam_match_pytorch_grad_cam(models, chelsea, name):
    layer, prefix, channels_last, grid = FAMILIES[name]
    model = models(name)
    assert model.target_layer_name == layer
    assert (model.grid.prefix_tokens, model.grid.channels_last) == (prefix, channels_last)
    assert model.target_layer_probe.grid == grid
    config = timm.create_model(name, pretrained=False).pretrained_cfg
    assert model.normalisation.mean == tuple(config["mean"]) and model.normalisation.std == tuple(config["std"])
    assert model.provenance == f"timm {name}" and len(model.categories) == 1000
    tensor = model.input_tensor(chelsea)
    with torch.inference_mode():
        top = [int(i) for i in torch.argsort(model.module(tensor)[0], descending=True)[:3]]
    for target in top:  # the first of the top classes with a real map (a random model's can be all zero)
        ours = grad_cam(model.module, model.target_layer, tensor, target, model.grid).heatmap
        reference = pytorch_grad_cam_map(model, tensor, target, reshape_for(name))
        if reference.std() == 0:  # no positive evidence for this class: both maps are zero
            assert ours.std() == 0
            continue
        assert np.corrcoef(ours.ravel(), reference.ravel())[0, 1] >= 0.99
        return
    pytest.fail("every map was zero: nothing compared")


def test_vit_takes_its_own_mean_and_std(models):
    model = models("vit_tiny_patch16_224")
    assert model.normalisation.mean == (0.5, 0.5, 0.5) and model.normalisation.std == (0.5, 0.5, 0.5)


def test_random_weights_are_seeded(models):
    again = timm_model("regnety_002")
    for left, right in zip(models("regnety_002").module.state_dict().values(), again.module.state_dict().values()):
        assert torch.equal(left, right)


def test_state_dict_files_with_their_own_head_give_the_logits_of_their_module(tmp_path):
    torch.manual_seed(7)
    trained = timm.create_model("regnety_002", num_classes=3).eval()
    torch.save(trained.state_dict(), tmp_path / "pets3.pth")
    save_file(trained.state_dict(), str(tmp_path / "pets3.safetensors"))
    batch = synthetic_batch((2, 3, 224, 224), seed=3)
    with torch.inference_mode():
        expected = trained(batch)
    for file_name in ("pets3.pth", "pets3.safetensors"):
        model = timm_model("regnety_002", weights=file_name, manifest_dir=tmp_path, classes=("cat", "dog", "bird"))
        assert model.categories == ("cat", "dog", "bird") and model.weights.kind == "file"
        with torch.inference_mode():
            assert torch.allclose(model.module(batch), expected, atol=1e-5)


def write_hub_cache(cache, repo_id, state_dict):
    """The folder layout huggingface_hub.try_to_load_from_cache reads: refs/main -> snapshots/<commit>/file."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    commit = "0" * 40
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    (repo / "snapshots" / commit).mkdir(parents=True)
    save_file(state_dict, str(repo / "snapshots" / commit / "model.safetensors"))


def test_pretrained_weights_come_from_the_local_hugging_face_cache(tmp_path, monkeypatch):
    torch.manual_seed(11)
    published = timm.create_model("regnety_002").eval()
    repo_id = timm.models.get_pretrained_cfg("regnety_002").hf_hub_id
    write_hub_cache(tmp_path / "hub", repo_id, published.state_dict())
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    model = timm_model("regnety_002", weights=None)
    assert model.weights.kind == "pretrained" and repo_id in model.weights.description
    batch = synthetic_batch((1, 3, 224, 224), seed=4)
    with torch.inference_mode():
        assert torch.allclose(model.module(batch), published(batch), atol=1e-5)


@pytest.mark.parametrize("weights", [None, "pretrained"])
def test_pretrained_weights_not_cached_fail_fast_saying_how_to_fix(tmp_path, monkeypatch, weights):
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    spec = ModelSpec(source="timm", name="convnext_atto", weights=weights)
    with pytest.raises(WeightsError) as raised:
        resolve_weights(spec, ".", 0)
    message = str(raised.value)
    assert message.startswith(
        "model 'convnext_atto': the pretrained weights of timm 'convnext_atto' (timm/convnext_atto.d2_in1k) are "
        f"not in the local Hugging Face cache ({tmp_path / 'empty' / 'hub'}); this tool never downloads."
    )
    assert "timm.create_model('convnext_atto', pretrained=True)" in message and "weights: random" in message


@pytest.mark.parametrize(
    "name, weights, message",
    [
        ("convnext_attoo", "random", "model 'convnext_attoo': unknown timm model 'convnext_attoo'; did you mean "),
        ("not_a_model_at_all_xyz", "random", "unknown timm model 'not_a_model_at_all_xyz'; see timm.list_models()"),
        ("resnet18", "IMAGENET1K_V1", "unknown weights 'IMAGENET1K_V1' for a timm model; use 'pretrained'"),
        ("resnet18", "missing.safetensors", "model 'resnet18': weights file not found: "),
    ],
)
def test_unknown_names_and_weights_are_clear_errors(name, weights, message):
    spec = ModelSpec(source="timm", name=name, weights=weights)
    with pytest.raises(WeightsError, match=message.replace("(", r"\(").replace(")", r"\)")) as raised:
        resolve_weights(spec, ".", 0)
    if name == "convnext_attoo":
        assert "convnext_atto" in str(raised.value).split("did you mean ")[1]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["convnext_atto", "vit_tiny_patch16_224"])
def test_fused_forward_traces_and_matches_eager(models, caplog, name):
    module = models(name).module
    shape = (2, 3, 224, 224)
    with caplog.at_level(logging.WARNING, logger="generator.run.fast_forward"):
        fused = forward_for(module, "fp32", "cpu", shape)
    fallbacks = [r for r in caplog.records if r.name == "generator.run.fast_forward"]  # not the model's own warnings
    assert not fallbacks, "fell back to the eager module"
    assert isinstance(fused, torch.jit.ScriptModule)
    batch = synthetic_batch(shape, seed=9)
    with torch.inference_mode():
        assert torch.allclose(fused(batch), module(batch), atol=1e-4)


@pytest.mark.slow
def test_report_with_a_timm_model_builds(tmp_path):
    manifest = tiny_manifest(crop=64, stability_seeds=1, sanity=False, batch_size=32)
    manifest["models"] = [{"source": "timm", "name": "resnet18", "display_name": "timm R18", "weights": "random"}]
    content = build_tiny(manifest, tmp_path)
    methods = (content / "methods.md").read_text(encoding="utf-8")
    assert "`layer4`" in methods and "timm" in methods
    check_pages(content, manifest)
