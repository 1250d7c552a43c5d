"""Weights: torchvision's real download-and-cache path (offline, via TORCH_HOME), local files, errors."""

import errno
import shutil
import socket
import time
from pathlib import Path

import pytest
import torch
import torchvision
import yaml
from click.testing import CliRunner

from generator.cli import main
from generator.manifest.schema import ModelSpec
from generator.run.models import load_model, resolve_weights
from generator.utils.errors import WeightsError
from tests.helpers import FAST_LIME, FAST_METRICS, REPO, build, make_project, run_cli

RESNET_FILES = {"resnet18": "resnet18-f37072fd.pth", "resnet50": "resnet50-0676ba61.pth"}


@pytest.fixture(scope="module")
def torch_home(tmp_path_factory):
    """A TORCH_HOME whose hub cache holds seeded state dicts under torchvision's own file names."""
    home = tmp_path_factory.mktemp("torch_home")
    checkpoints = home / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    for name, file_name in RESNET_FILES.items():
        torch.manual_seed(1)
        torch.save(torchvision.models.get_model(name, weights=None).state_dict(), checkpoints / file_name)
    return home


def default_manifest_copy(tmp_path, case_id="chelsea"):
    """The shipped default manifest, reduced to one case and a small LIME sample for test speed."""
    manifest = yaml.safe_load((REPO / "content" / "manifest.yaml").read_text())
    manifest["cases"] = [case for case in manifest["cases"] if case["id"] == case_id]
    manifest["explainers"] = FAST_LIME
    manifest["metrics"] = FAST_METRICS  # what these tests read (weights, their files, the errors) is not measured
    images = [REPO / "content" / case["image"] for case in manifest["cases"]]
    return make_project(tmp_path, manifest, images)


@pytest.mark.slow
def test_default_manifest_builds_through_torchvision_cache(tmp_path, torch_home):
    path = default_manifest_copy(tmp_path)
    result = build(path, site=False, env={"TORCH_HOME": str(torch_home)})
    assert result.returncode == 0, result.stderr
    page = (path.parent / "cases" / "chelsea.md").read_text()
    assert "**ResNet18** · IMAGENET1K\\_V1" in page and "**ResNet50** · IMAGENET1K\\_V1" in page
    methods = (path.parent / "methods.md").read_text()
    assert "resnet18\\-f37072fd\\.pth" in methods and "resnet50\\-0676ba61\\.pth" in methods


def test_weights_loaded_from_cache_equal_the_saved_file(torch_home, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(torch_home))
    spec = ModelSpec(name="resnet18")
    model = load_model(spec, resolve_weights(spec, ".", 0), 0)
    saved = torch.load(torch_home / "hub" / "checkpoints" / RESNET_FILES["resnet18"], weights_only=True)
    assert torch.equal(model.module.conv1.weight, saved["conv1.weight"])
    assert model.weights.kind == "torchvision" and model.target_layer_name == "layer4"


def offline_network(monkeypatch):
    """Every connection fails as on a machine without a network; returns the URLs torch.hub tried to fetch."""

    def unreachable(address, *args, **kwargs):
        raise OSError(errno.ENETUNREACH, "Network is unreachable")

    tried, real_download = [], torch.hub.download_url_to_file

    def download(url, dst, *args, **kwargs):
        tried.append((url, Path(dst).name))
        return real_download(url, dst, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", unreachable)
    monkeypatch.setattr(torch.hub, "download_url_to_file", download)
    return tried


def test_missing_weights_offline_stop_fast_with_one_clear_message(tmp_path, monkeypatch):
    path = default_manifest_copy(tmp_path)
    empty_home = tmp_path / "empty_torch_home"
    monkeypatch.setenv("TORCH_HOME", str(empty_home))
    tried = offline_network(monkeypatch)
    started = time.monotonic()
    result = CliRunner().invoke(main, ["build", "--manifest", str(path), "--no-site", "-q"])
    elapsed = time.monotonic() - started
    assert result.exit_code == 1
    checkpoints = empty_home / "hub" / "checkpoints"
    offline = f"URLError: <urlopen error [Errno {errno.ENETUNREACH}] Network is unreachable>"
    expected = [
        line
        for label, file_name in (("ResNet18", RESNET_FILES["resnet18"]), ("ResNet50", RESNET_FILES["resnet50"]))
        for line in (
            f"model '{label}': weights file {file_name} is not cached and could not be downloaded ({offline}).",
            f"  Put {file_name} in {checkpoints} (set TORCH_HOME to use another cache folder),",
            f"  or point the manifest at a local file: weights: path/to/{file_name},",
            "  or build the offline example instead: python -m generator build --manifest examples/offline/manifest.yaml",
        )
    ]
    assert result.stderr == "Error: " + "\n".join(expected) + "\n"
    # each model's weights were asked for once, from torchvision's own URL, and nothing half-downloaded was kept
    assert tried == [(f"https://download.pytorch.org/models/{name}", name) for name in RESNET_FILES.values()]
    assert list(checkpoints.iterdir()) == []
    assert not (path.parent / "cases").exists()  # stopped before any heavy work
    assert elapsed < 60


def test_local_state_dict_file(tmp_path):
    torch.manual_seed(3)
    torch.save(torchvision.models.resnet18().state_dict(), tmp_path / "mine.pth")
    spec = ModelSpec(name="resnet18", weights="mine.pth", display_name="Mine")
    weights = resolve_weights(spec, tmp_path, 0)
    assert weights.kind == "file" and weights.short == "mine.pth"
    assert load_model(spec, weights, 0).module.fc.weight.shape == (1000, 512)


def test_wrong_architecture_file_names_the_model(tmp_path):
    torch.save(torchvision.models.resnet18().state_dict(), tmp_path / "r18.pth")
    spec = ModelSpec(name="resnet50", weights="r18.pth", display_name="Big")
    with pytest.raises(WeightsError, match=r"model 'Big': the weights in .*r18.pth do not fit architecture 'resnet50'"):
        load_model(spec, resolve_weights(spec, tmp_path, 0), 0)


def test_corrupt_or_pickled_file_is_refused(tmp_path):
    (tmp_path / "bad.pth").write_bytes(b"\x80\x04 definitely not a checkpoint")
    spec = ModelSpec(name="resnet18", weights="bad.pth")
    with pytest.raises(WeightsError, match=r"model 'resnet18': cannot load .*bad.pth as a state dict"):
        resolve_weights(spec, tmp_path, 0)
    torch.save({"model": torch.nn.Linear(2, 2)}, tmp_path / "pickled.pth")  # needs pickle: refused
    spec = ModelSpec(name="resnet18", weights="pickled.pth")
    with pytest.raises(WeightsError, match="Only plain state dicts"):
        resolve_weights(spec, tmp_path, 0)


@pytest.mark.slow
def test_random_weights_are_seeded_and_flagged(tmp_path):
    spec = ModelSpec(name="resnet18", weights="random")
    first = load_model(spec, resolve_weights(spec, ".", 7), 7).module.fc.weight
    second = load_model(spec, resolve_weights(spec, ".", 7), 7).module.fc.weight
    assert torch.equal(first, second)
    path = make_project(
        tmp_path,
        {
            "models": [{"name": "resnet18", "weights": "random", "display_name": "R"}],
            "explainers": FAST_LIME,
            "cases": [{"image": "images/chelsea.png"}],
        },
    )
    assert build(path, site=False).returncode == 0
    for page in ("index.md", "cases/chelsea.md"):
        assert '!!! warning "Random weights: R"' in (path.parent / page).read_text()


def test_unknown_builder_and_weights_enum(tmp_path):
    with pytest.raises(WeightsError, match="model 'resnet9000': unknown builder"):
        resolve_weights(ModelSpec(name="resnet9000"), ".", 0)
    with pytest.raises(
        WeightsError, match=r"model 'resnet18': unknown weights 'IMAGENET9K'; choose one of IMAGENET1K_V1"
    ):
        resolve_weights(ModelSpec(name="resnet18", weights="IMAGENET9K"), ".", 0)


def test_unknown_target_layer_names_the_model(tmp_path):
    spec = ModelSpec(name="resnet18", weights="random", target_layer="layer9")
    with pytest.raises(WeightsError, match="model 'resnet18': target_layer 'layer9' does not exist"):
        load_model(spec, resolve_weights(spec, ".", 0), 0)


def test_cli_usage_errors_exit_2(tmp_path):
    path = make_project(tmp_path, {"cases": [{"image": "images/chelsea.png"}]})
    result = run_cli("build", "--manifest", path, "--no-site", "--only", "nope")
    assert result.returncode == 2
    assert result.stderr.strip() == "Error: --only: no case with id 'nope'; known ids: chelsea"
    shutil.rmtree(tmp_path / "content")
