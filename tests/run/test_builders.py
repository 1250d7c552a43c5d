"""Models are built the way torchvision builds them for their weights (transform_input, num_classes, ...).

A seeded state dict is saved under torchvision's own file name in a temporary TORCH_HOME, so the real
download-and-cache path runs offline; the logits must equal those of torchvision's builder given the enum.
"""

import os

import pytest
import torch
import torchvision

from generator.manifest.schema import ModelSpec
from generator.run.models import load_model, resolve_weights

# builder -> extra constructor settings that give the state dict the keys the ImageNet weights have
ARCHITECTURES = {
    "resnet18": {},
    "googlenet": {"aux_logits": True, "init_weights": True},
    "inception_v3": {"aux_logits": True, "init_weights": True},
    "vit_b_16": {},
}


def cached_checkpoint(torch_home, name):
    """A seeded state dict of `name` saved where torchvision's cache looks for IMAGENET1K_V1."""
    enum = torchvision.models.get_model_weights(name)["IMAGENET1K_V1"]
    torch.manual_seed(3)
    state_dict = torchvision.models.get_model(name, weights=None, **ARCHITECTURES[name]).state_dict()
    folder = torch_home / "hub" / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / os.path.basename(enum.url)
    torch.save(state_dict, path)
    return enum, path


def assert_same_logits(ours, reference):
    """Equal up to float32 round-off (our modules run channels_last; random Inception logits reach 1e9)."""
    torch.testing.assert_close(ours, reference, rtol=1e-3, atol=1e-5 * float(reference.abs().max()))


def logits(module, size):
    torch.manual_seed(11)
    with torch.inference_mode():
        return module.eval()(torch.randn(2, 3, size, size))


@pytest.mark.slow
@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_cached_weights_build_like_torchvisions_own_builder(tmp_path, monkeypatch, name):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    enum, checkpoint = cached_checkpoint(tmp_path, name)
    size = enum.meta["min_size"][0] if name != "inception_v3" else 299
    reference = logits(torchvision.models.get_model(name, weights=enum), size)

    spec = ModelSpec(name=name, weights="IMAGENET1K_V1")
    ours = load_model(spec, resolve_weights(spec, ".", 0), 0)
    assert_same_logits(logits(ours.module, size), reference)

    # the same checkpoint copied beside the manifest is recognised by its file name
    (tmp_path / "weights").mkdir()
    copy = tmp_path / "weights" / checkpoint.name
    copy.write_bytes(checkpoint.read_bytes())
    spec = ModelSpec(name=name, weights=f"weights/{checkpoint.name}")
    from_file = load_model(spec, resolve_weights(spec, tmp_path, 0), 0)
    assert_same_logits(logits(from_file.module, size), reference)


@pytest.mark.slow
def test_transform_input_is_what_differs_for_inception(tmp_path, monkeypatch):
    """The builder setting matters: without transform_input the same weights give other logits."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    enum, checkpoint = cached_checkpoint(tmp_path, "inception_v3")
    spec = ModelSpec(name="inception_v3", weights="IMAGENET1K_V1")
    ours = load_model(spec, resolve_weights(spec, ".", 0), 0).module
    assert ours.transform_input and ours.AuxLogits is None
    plain = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False)
    plain.load_state_dict(torch.load(checkpoint, weights_only=True))
    assert not torch.allclose(logits(plain, 299), logits(ours, 299), atol=1e-3)
