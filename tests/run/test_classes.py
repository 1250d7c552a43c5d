"""Each model's own classes: a fine-tuned head of any size, `classes:`, `output:`, and labels resolved per model."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from torchvision import transforms

from generator.build import BuildOptions
from generator.manifest.loader import load_manifest
from generator.run.class_names import model_targets, unknown_classes
from generator.run.results import Prediction
from generator.session import BuildSession
from generator.utils.errors import ManifestError, WeightsError
from tests.helpers import CHELSEA, FAST_LIME, build, make_project
from tests.switches import build_tiny

CROP = {"resize": [72, 72], "crop": 64}
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def fine_tuned(folder, classes, seed=3, name="head.pth"):
    """A ResNet18 state dict with a `classes`-way head, as a training script saves it."""
    torch.manual_seed(seed)
    module = torchvision.models.resnet18(num_classes=classes)
    (folder / "content" / "models").mkdir(parents=True, exist_ok=True)
    path = folder / "content" / "models" / name
    torch.save(module.state_dict(), path)
    return module.eval(), f"models/{name}"


def manifest_with(model, cases=None, **extra):
    return {
        "title": "Own classes",
        "models": [model],
        "preprocess": CROP,
        "explainers": {**FAST_LIME},
        "metrics": {"steps": 4, "stability_seeds": 1, "sanity": False},
        "cases": cases or [{"id": "chelsea", "image": "images/chelsea.png"}],
        **extra,
    }


def session_for(path):
    folder = Path(path).parent.parent
    options = BuildOptions(manifest=path, site_dir=folder / "site", cache_dir=None)
    return BuildSession.open(options)


def reference_probabilities(module, output="softmax"):
    """The reference recipe by hand: Resize, CenterCrop, ToTensor, Normalize, then the model and its activation."""
    recipe = transforms.Compose(
        [
            transforms.Resize((72, 72)),
            transforms.CenterCrop(64),
            transforms.ToTensor(),
            transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )
    with torch.no_grad():
        logits = module(recipe(Image.open(CHELSEA).convert("RGB")).unsqueeze(0)).double()
    return (torch.softmax(logits, 1) if output == "softmax" else torch.sigmoid(logits))[0].numpy()


@pytest.mark.slow
def test_a_three_class_head_builds_with_its_names_and_the_reference_probabilities(tmp_path):
    module, weights = fine_tuned(tmp_path, 3)
    entry = {"name": "resnet18", "display_name": "Pets3", "weights": weights, "classes": ["cat", "dog", "cup"]}
    path = make_project(tmp_path, manifest_with(entry, [{"image": "images/chelsea.png", "label": "cat"}]))
    session = session_for(path)
    (model,) = session.models
    assert model.categories == ("cat", "dog", "cup") and model.output == "softmax"
    result = session.compute(session.manifest.cases[0]).models[model.key]
    np.testing.assert_allclose(result.probabilities, reference_probabilities(module), rtol=0, atol=1e-6)
    assert {p.name for p in result.top_k} == {"cat", "dog", "cup"}  # top_k 5 of a 3-way head: all three

    content = build_tiny(manifest_with(entry, [{"image": "images/chelsea.png", "label": "cat"}]), tmp_path)
    page = (content / "cases" / "chelsea.md").read_text(encoding="utf-8")
    assert "| cat |" in page or "cat (" in page
    assert "**Ground truth:** cat" in page


def test_classes_from_a_file_and_a_count_that_does_not_fit(tmp_path):
    _, weights = fine_tuned(tmp_path, 3)
    (tmp_path / "content" / "classes.json").write_text(json.dumps({"0": "cat", "1": "dog", "2": "cup"}))
    (tmp_path / "content" / "two.txt").write_text("cat\ndog\n")
    good = make_project(tmp_path, manifest_with({"name": "resnet18", "weights": weights, "classes": "classes.json"}))
    assert session_for(good).models[0].categories == ("cat", "dog", "cup")
    bad = make_project(tmp_path, manifest_with({"name": "resnet18", "weights": weights, "classes": "two.txt"}))
    with pytest.raises(WeightsError, match="classes lists 2 name\\(s\\) but the model has 3 output\\(s\\)"):
        session_for(bad)


def test_a_head_without_names_is_numbered_and_a_1000_way_one_is_imagenet(tmp_path):
    _, weights = fine_tuned(tmp_path, 4)
    path = make_project(tmp_path, manifest_with({"name": "resnet18", "weights": weights}))
    assert session_for(path).models[0].categories == ("class 0", "class 1", "class 2", "class 3")
    imagenet = make_project(tmp_path / "r", manifest_with({"name": "resnet18", "weights": "random"}))
    assert session_for(imagenet).models[0].categories[281] == "tabby"


@pytest.mark.slow
def test_sigmoid_and_binary_models_build_and_say_what_their_numbers_are(tmp_path):
    module, weights = fine_tuned(tmp_path, 4, name="four.pth")
    binary, one = fine_tuned(tmp_path, 1, name="one.pth")
    models = [
        {"name": "resnet18", "display_name": "Tags4", "weights": weights, "output": "sigmoid"},
        {"name": "resnet18", "display_name": "Binary", "weights": one, "classes": ["cat"]},
    ]
    path = make_project(tmp_path, {**manifest_with(models[0]), "models": models})
    session = session_for(path)
    tags, single = session.models
    assert (tags.output, single.output) == ("sigmoid", "sigmoid")  # one output: binary, its sigmoid
    case = session.compute(session.manifest.cases[0])
    np.testing.assert_allclose(
        case.models[tags.key].probabilities, reference_probabilities(module, "sigmoid"), atol=1e-6
    )
    np.testing.assert_allclose(
        case.models[single.key].probabilities, reference_probabilities(binary, "sigmoid"), atol=1e-6
    )
    content = build_tiny({**manifest_with(models[0]), "models": models}, tmp_path)
    methods = (content / "methods.md").read_text(encoding="utf-8")
    assert "4, sigmoid" in methods and "1, sigmoid" in methods
    page = (content / "cases" / "chelsea.md").read_text(encoding="utf-8")
    assert page.count("| # | Class (index) | Sigmoid probability |") == 2
    assert "Sigmoid outputs: each class's own probability (multi-label); they need not add up to 1." in page


@pytest.mark.slow
def test_a_label_only_one_model_knows_builds_with_exit_0_and_a_note(tmp_path):
    _, weights = fine_tuned(tmp_path, 3)
    models = [
        {"name": "resnet18", "display_name": "Pets3", "weights": weights, "classes": ["cat", "dog", "cup"]},
        {"name": "resnet18", "display_name": "R18", "weights": "random"},
    ]
    cases = [{"image": "images/chelsea.png", "label": "tabby", "targets": ["dog"]}]
    path = make_project(tmp_path, {**manifest_with(models[0], cases), "models": models})
    done = build(path)
    assert done.returncode == 0, done.stderr
    page = (path.parent / "cases" / "chelsea.md").read_text(encoding="utf-8")
    assert "Pets3: no mark (tabby is not among Pets3's classes)" in page
    assert "the ground truth, tabby, is not among its classes" in page


def test_a_class_no_model_has_is_a_manifest_error_with_did_you_mean(tmp_path):
    _, weights = fine_tuned(tmp_path, 3)
    entry = {"name": "resnet18", "weights": weights, "classes": ["cat", "dog", "cup"]}
    path = make_project(
        tmp_path, manifest_with(entry, [{"image": "images/chelsea.png", "label": "dgo", "targets": [7]}])
    )
    with pytest.raises(ManifestError) as caught:
        session_for(path)
    problems = caught.value.problems
    assert problems[0].startswith(
        "cases[0].label: unknown class 'dgo': no model of the report has it (did you mean: dog"
    )
    assert problems[1] == "cases[0].targets: class index 7 is out of range: the models have 3 classes (0..2)"


class Model:
    """The part of a LoadedModel the class resolution reads."""

    def __init__(self, categories):
        self.categories = tuple(categories)

    def class_index(self, ref):
        from generator.run.models import LoadedModel

        return LoadedModel.class_index(self, ref)


def test_targets_are_each_models_own_and_repeated_imagenet_names_go_by_index(tmp_path):
    imagenet = list(torchvision.models.ResNet18_Weights.IMAGENET1K_V1.meta["categories"])
    a, b, pets = Model(imagenet), Model(imagenet), Model(["cat", "crane", "dog"])
    crane_machine = imagenet.index("crane", 200)  # 517: the second "crane" (the first is the bird, 134)
    predictions = [
        [Prediction(crane_machine, "crane", 0.9)],
        [Prediction(281, "tabby", 0.8)],
        [Prediction(2, "dog", 1)],
    ]
    path = make_project(
        tmp_path, manifest_with({"name": "resnet18"}, [{"image": "images/chelsea.png", "targets": ["dog", 1]}])
    )
    spec = load_manifest(path).cases[0]
    assert model_targets(a, spec, [a, b, pets], predictions) == (crane_machine, 281, 1)  # "dog" is no ImageNet name
    assert model_targets(pets, spec, [a, b, pets], predictions) == (1, 2)  # crane by name; tabby unknown; dog; 1
    assert unknown_classes(load_manifest(path), [a, pets]) == []


def test_a_model_trained_at_another_size_is_named_in_a_warning(caplog):
    from generator.manifest.schema import ModelSpec
    from generator.run.model_source import BuiltModel
    from generator.run.models import warn_native_input

    spec = ModelSpec(name="vit_b_16", display_name="ViT")
    with caplog.at_level("WARNING", logger="generator.run.models"):
        warn_native_input(spec, BuiltModel(module=torch.nn.Identity(), native_input=(224, 224)), 64)
        warn_native_input(spec, BuiltModel(module=torch.nn.Identity(), native_input=(64, 64)), 64)
        warn_native_input(spec, BuiltModel(module=torch.nn.Identity()), 64)
        warn_native_input(spec, BuiltModel(module=torch.nn.Identity(), interpolation="bicubic"), 64)
    assert [r.getMessage() for r in caplog.records] == [
        "model 'ViT' was trained on 224x224 inputs; the report's crop is 64x64 (preprocess.crop)",
        "model 'ViT' was trained on bicubic-resized inputs; the report resizes every model's crop bilinearly",
    ]
