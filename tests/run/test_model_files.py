"""Models from files and from the author's code: ONNX, TorchScript, a python entry point, a HuggingFace folder.

Every model here is built by the test with seeded random weights and saved into the project's own folder;
nothing is downloaded. The ONNX and TorchScript copies of a ResNet18 must give the torch module's LIME
weights (the black-box methods run on them as on any model) and their pages must say why the gradient
methods are left out.
"""

import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from scipy.stats import spearmanr
from torch import nn

from generator.explain.lime import explain_with_lime, segment_image
from generator.manifest.loader import load_manifest
from generator.manifest.schema import ModelSpec
from generator.run import fast_forward
from generator.run.images import Preprocessor
from generator.run.inference import batch_classifier
from generator.run.models import load_model, load_models, resolve_weights
from generator.run.sources.onnx_source import OnnxClassifier
from generator.utils.errors import WeightsError
from tests import requires
from tests.helpers import CHELSEA, FAST_METRICS, SMALL_CROP
from tests.switches import build_tiny, check_pages, generated_pages

SEED = 0
CLASSES = ["a", "b", "c"]
LIME = {"lime": {"num_samples": 60, "batch_size": 20}}
GRADIENT_METHODS = {"integrated_gradients": {"enabled": True, "steps": 4}}
CASES = [{"id": "chelsea", "image": "images/chelsea.png"}]
ONNX_REASON = "an ONNX file does not expose the model's layers and gradients"


def seeded_resnet18() -> nn.Module:
    torch.manual_seed(SEED)
    return torchvision.models.resnet18(num_classes=len(CLASSES)).eval()


def export_onnx(module: nn.Module, path: Path, dynamic_batch: bool = True, size: int = 64) -> None:
    axes = {"pixels": {0: "batch"}, "logits": {0: "batch"}} if dynamic_batch else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation and tracer notices
        torch.onnx.export(
            module,
            (torch.zeros(1, 3, size, size),),
            str(path),
            input_names=["pixels"],
            output_names=["logits"],
            dynamic_axes=axes,
            dynamo=False,
        )


def save_torchscript(module: nn.Module, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.trace(module, torch.zeros(1, 3, 64, 64)), str(path))


def manifest_of(models, explainers=LIME, cases=CASES):
    return {
        "title": "Model files",
        "models": models,
        "preprocess": dict(SMALL_CROP),
        "explainers": {**explainers},
        "metrics": dict(FAST_METRICS),
        "cases": cases,
    }


def write_module(folder: Path, name: str, source: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")


# --- the black boxes: ONNX and TorchScript ------------------------------------------------------------------


@pytest.fixture(scope="module")
def file_models(tmp_path_factory):
    """One report of a torch ResNet18, its ONNX export and its TorchScript file, with Grad-CAM and IG on."""
    folder = tmp_path_factory.mktemp("model-files")
    content = folder / "content"
    content.mkdir()
    module = seeded_resnet18()
    torch.save(module.state_dict(), content / "r18.pth")
    export_onnx(module, content / "net.onnx")
    save_torchscript(module, content / "net.pt")
    common = {"classes": CLASSES}
    manifest = manifest_of(
        [
            {"name": "resnet18", "display_name": "Torch", "weights": "r18.pth", **common},
            {"source": "onnx", "name": "net.onnx", "display_name": "Deployed", **common},
            {"source": "torchscript", "name": "net.pt", "display_name": "Scripted", **common},
        ],
        explainers={**LIME, **GRADIENT_METHODS},
    )
    content_dir = build_tiny(manifest, folder)
    return content_dir, manifest


@pytest.mark.slow
def test_onnx_and_torchscript_give_the_torch_modules_lime_weights(file_models):
    content_dir, _ = file_models
    manifest = load_manifest(content_dir / "manifest.yaml")
    models = {m.label: m for m in load_models(manifest, content_dir)}
    assert models["Deployed"].opaque == ONNX_REASON and models["Scripted"].opaque is not None
    assert models["Deployed"].target_layer_name is None and models["Torch"].target_layer_name == "layer4"
    image = Preprocessor(manifest.preprocess).prepare(Image.open(CHELSEA).convert("RGB"))
    settings = manifest.explainers.lime
    segments = segment_image(image.crop_array, settings, manifest.seed)

    def lime_weights(label):
        classifier = batch_classifier(models[label], settings.batch_size)
        return explain_with_lime(classifier, image.crop_array, segments, (0, 1, 2), settings, manifest.seed)

    reference = lime_weights("Torch")
    assert max(np.abs(r.weights).max() for r in reference) > 1e-3  # weights large enough to compare
    for label in ("Deployed", "Scripted"):
        for ours, expected in zip(lime_weights(label), reference, strict=True):
            assert ours.target == expected.target
            assert spearmanr(ours.weights, expected.weights).statistic >= 0.999, label
            assert np.abs(ours.weights - expected.weights).max() <= 1e-4, label


@pytest.mark.slow
def test_pages_explain_why_the_gradient_methods_are_left_out(file_models):
    content_dir, manifest = file_models
    check_pages(content_dir, manifest)  # no missing figure, no empty column, no nan
    pages = generated_pages(content_dir)
    case, methods = pages["cases/chelsea.md"], pages["methods.md"]
    for method in ("Grad-CAM", "Integrated Gradients"):
        assert f"{method} is left out for Deployed: {ONNX_REASON}." in case
        assert f"{method} is left out for Deployed: {ONNX_REASON}." in methods
        assert f"{method} is left out for Scripted: " in case
    assert "Not for Deployed: " in methods  # the sanity check's row
    assert "deployed-gradcam" not in case and "scripted-integrated_gradients" not in case
    assert "torch-gradcam" in case and "deployed-lime" in case and "scripted-lime" in case
    assert "Deployed is never traced" in methods


@pytest.mark.slow
def test_a_report_of_an_onnx_model_alone_builds(tmp_path):
    content = tmp_path / "content"
    content.mkdir()
    export_onnx(seeded_resnet18(), content / "net.onnx")
    manifest = manifest_of([{"source": "onnx", "name": "net.onnx", "classes": CLASSES}])
    content_dir = build_tiny(manifest, tmp_path)
    check_pages(content_dir, manifest)
    pages = generated_pages(content_dir)
    assert f"Grad-CAM is left out for net.onnx: {ONNX_REASON}." in pages["cases/chelsea.md"].replace("\\", "")
    assert "| Target layer |" not in pages["methods.md"]  # no model with a layer: no column of dashes


def test_an_onnx_file_with_a_fixed_batch_of_one_runs_any_batch(tmp_path):
    torch.manual_seed(SEED)
    module = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))
    export_onnx(module.eval(), tmp_path / "one.onnx", dynamic_batch=False, size=16)
    spec = ModelSpec(source="onnx", name="one.onnx")
    model = load_model(spec, resolve_weights(spec, tmp_path, SEED), SEED, crop=16, manifest_dir=tmp_path)
    assert isinstance(model.module, OnnxClassifier) and model.module.fixed_batch == 1
    batch = torch.randn(5, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        np.testing.assert_allclose(model.module(batch).numpy(), module(batch).numpy(), atol=1e-5)
    assert model.provenance == "ONNX file one.onnx (onnxruntime)"
    assert model.weights.digest == resolve_weights(spec, tmp_path, SEED + 1).digest  # the file's, not the seed's


def test_an_opaque_model_is_never_traced(tmp_path, monkeypatch):
    module = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 2)).eval()
    export_onnx(module, tmp_path / "tiny.onnx", size=8)
    spec = ModelSpec(source="onnx", name="tiny.onnx")
    model = load_model(spec, resolve_weights(spec, tmp_path, SEED), SEED, crop=8, manifest_dir=tmp_path)
    traced = []
    monkeypatch.setattr(fast_forward, "_trace_fused", lambda *args: traced.append(args))
    forward = fast_forward.forward_for(model.module, "fp32", "cpu", (4, 3, 8, 8))
    batch = torch.rand(4, 3, 8, 8)
    with torch.inference_mode():
        np.testing.assert_allclose(forward(batch).numpy(), module(batch).numpy(), atol=1e-5)
    assert traced == []


# --- the author's own code ----------------------------------------------------------------------------------

RESNET_ENTRY = """
    import torchvision

    def build():
        return torchvision.models.resnet18(num_classes=3)
"""


@pytest.mark.slow
def test_a_python_entry_point_builds(tmp_path):
    write_module(tmp_path / "content", "my_nets", RESNET_ENTRY)
    manifest = manifest_of([{"source": "python", "name": "my_nets:build", "classes": CLASSES}])
    content_dir = build_tiny(manifest, tmp_path)
    check_pages(content_dir, manifest)
    pages = generated_pages(content_dir)
    assert "`layer4`" in pages["methods.md"]  # the Grad-CAM layer, found by rule
    assert "your code: my_nets:build (ResNet)" in pages["methods.md"].replace("\\", "")
    assert "-gradcam-" in pages["cases/chelsea.md"]


def test_a_python_entry_point_is_seeded_and_takes_a_state_dict(tmp_path):
    write_module(tmp_path, "seeded_nets", RESNET_ENTRY)
    spec = ModelSpec(source="python", name="seeded_nets:build")
    first = load_model(spec, resolve_weights(spec, tmp_path, SEED), SEED, crop=64, manifest_dir=tmp_path)
    again = load_model(spec, resolve_weights(spec, tmp_path, SEED), SEED, crop=64, manifest_dir=tmp_path)
    torch.testing.assert_close(first.module.state_dict(), again.module.state_dict())
    other = seeded_resnet18()
    torch.manual_seed(SEED + 5)
    torch.save(torchvision.models.resnet18(num_classes=3).state_dict(), tmp_path / "trained.pth")
    spec = ModelSpec(source="python", name="seeded_nets:build", weights="trained.pth")
    loaded = load_model(spec, resolve_weights(spec, tmp_path, SEED), SEED, crop=64, manifest_dir=tmp_path)
    expected = torch.load(tmp_path / "trained.pth", weights_only=True)
    torch.testing.assert_close(loaded.module.state_dict()["fc.weight"], expected["fc.weight"])
    assert not torch.equal(loaded.module.state_dict()["fc.weight"], other.state_dict()["fc.weight"])
    assert loaded.target_layer_name == "layer4" and loaded.opaque is None


def test_the_manifests_folder_wins_over_an_earlier_import_and_sys_path_is_restored(tmp_path):
    import sys

    saved = list(sys.path)
    for number in (1, 2):
        folder = tmp_path / f"project{number}"
        write_module(
            folder, "same_name_nets", f"from torch import nn\n\ndef build():\n    return nn.Linear({number}, 2)\n"
        )
        spec = ModelSpec(source="python", name="same_name_nets:build")
        weights = resolve_weights(spec, folder, SEED)
        from generator.run.sources import source_of

        built = source_of(spec).build(spec, weights, SEED)
        assert built.module.in_features == number
    assert sys.path == saved


# --- HuggingFace --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_huggingface_vit_folder_builds_with_its_classes_and_a_token_grid(tmp_path):
    transformers = requires.module("transformers", "HuggingFace transformers")
    folder = tmp_path / "content" / "vit-3"
    config = transformers.ViTConfig(
        image_size=64,
        patch_size=16,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        id2label={0: "heron", 1: "otter", 2: "kettle"},
        label2id={"heron": 0, "otter": 1, "kettle": 2},
    )
    torch.manual_seed(SEED)
    transformers.ViTForImageClassification(config).save_pretrained(folder)
    processor = transformers.ViTImageProcessor(
        image_mean=[0.5] * 3, image_std=[0.5] * 3, size={"height": 64, "width": 64}
    )
    processor.save_pretrained(folder)

    spec = ModelSpec(source="huggingface", name="vit-3", display_name="ViT")
    model = load_model(spec, resolve_weights(spec, tmp_path / "content", SEED), SEED, crop=64)
    assert model.categories == ("heron", "otter", "kettle")
    assert model.normalisation.mean == (0.5, 0.5, 0.5) and model.normalisation.std == (0.5, 0.5, 0.5)
    assert model.target_layer_name.endswith("layers.1.layernorm_before") or model.target_layer_name.endswith(
        "layer.1.layernorm_before"
    )
    assert model.grid.prefix_tokens == 1 and model.target_layer_probe.grid == (4, 4)

    manifest = manifest_of([{"source": "huggingface", "name": "vit-3", "display_name": "ViT"}])
    content_dir = build_tiny(manifest, tmp_path)
    check_pages(content_dir, manifest)
    pages = generated_pages(content_dir)
    assert "| 4x4 |" in pages["methods.md"]
    assert "[0.5, 0.5, 0.5] / [0.5, 0.5, 0.5]" in pages["methods.md"]
    top = pages["cases/chelsea.md"]
    assert any(f"| {name} (" in top for name in ("heron", "otter", "kettle"))
    assert "vit-gradcam-" in top


# --- what goes wrong ----------------------------------------------------------------------------------------


def load(spec, folder):
    return load_model(spec, resolve_weights(spec, folder, SEED), SEED, crop=64, manifest_dir=folder)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"source": "onnx", "name": "missing.onnx"}, "ONNX file not found"),
        ({"source": "torchscript", "name": "missing.pt"}, "TorchScript file not found"),
        ({"source": "onnx", "name": "net.onnx", "weights": "random"}, "holds its own weights"),
        ({"source": "python", "name": "my_nets.build"}, "is not package.module:function"),
        ({"source": "python", "name": "no_such_module_here:build"}, "cannot import no_such_module_here"),
        ({"source": "python", "name": "bad_nets:missing"}, "has no function 'missing'"),
        ({"source": "python", "name": "bad_nets:not_a_module"}, "returned a int, not a torch.nn.Module"),
        ({"source": "python", "name": "bad_nets:raises"}, "bad_nets:raises() raised ValueError: no network"),
        ({"source": "huggingface", "name": "no-such-folder"}, "neither a folder"),
        ({"source": "torchscript", "name": "not_script.pt"}, "cannot load"),
    ],
)
def test_bad_entries_give_weights_errors_naming_the_model(tmp_path, entry, message):
    (tmp_path / "net.onnx").write_bytes(b"")
    (tmp_path / "not_script.pt").write_bytes(b"not a TorchScript archive")
    write_module(
        tmp_path,
        "bad_nets",
        """
        def not_a_module():
            return 3

        def raises():
            raise ValueError("no network")
        """,
    )
    spec = ModelSpec(display_name="Mine", **entry)
    with pytest.raises(WeightsError) as error:
        load(spec, tmp_path)
    assert "model 'Mine'" in str(error.value) and message in str(error.value)
