"""Every bad input through the command line: the exact exit code, a message naming the key, case or file,
and no traceback (the exception that ends the command is click's SystemExit, nothing else)."""

import io

import pytest
import torch
import torchvision
from click.testing import CliRunner
from PIL import Image

from generator.cli import main
from generator.utils.errors import CaseError
from tests.helpers import CHELSEA, COFFEE, make_project, random_resnet_manifest


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


def write_manifest(tmp_path, manifest):
    return make_project(tmp_path, manifest)


BAD_MANIFESTS = {
    "yaml syntax": ("cases: [\n  {image: x.png\n", "YAML syntax error at line 3, column 1"),
    "unknown key": ("cases: [{image: images/chelsea.png}]\ncolour: red\n", "colour: unknown key"),
    "wrong type": ("top_k: many\ncases: [{image: images/chelsea.png}]\n", "top_k: Input should be a valid integer"),
    "duplicate ids": (
        "cases: [{image: images/chelsea.png}, {image: images/chelsea.png}]\n",
        "duplicate case id 'chelsea'",
    ),
    "invalid id": ("cases: [{image: images/chelsea.png, id: ../../etc}]\n", "cases[0].id: invalid case id '../../etc'"),
    "missing file": ("cases: [{image: images/nope.png}]\n", "cases[0].image: file not found: images/nope.png"),
    "empty": ("", "the manifest is empty"),
    "dotdot path": (
        "cases: [{image: ../chelsea.png}]\n",
        "cases[0].image: path '../chelsea.png' leaves the content folder",
    ),
    "absolute path": (
        "cases: [{image: /tmp/chelsea.png}]\n",
        "cases[0].image: absolute path '/tmp/chelsea.png' not allowed",
    ),
    "alias bomb": (
        'a: &a ["x","x","x","x","x","x","x","x","x","x"]\n'
        + "".join(f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n" for p, n in zip("abcdefg", "bcdefgh"))
        + "cases: *h\n",
        "YAML aliases expand to",
    ),
}


@pytest.mark.parametrize("command", ["build", "check"])
@pytest.mark.parametrize("name", sorted(BAD_MANIFESTS))
def test_bad_manifest_exit_2(tmp_path, command, name):
    text, expected = BAD_MANIFESTS[name]
    path = make_project(tmp_path, {"cases": [{"image": "images/chelsea.png"}]})
    path.write_text(text)
    extra = ["--no-site"] if command == "build" else []
    result = run(command, "--manifest", path, *extra)
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: {path}: ") and expected in result.output


def truncated_jpeg():
    data = io.BytesIO()
    Image.open(CHELSEA).convert("RGB").save(data, format="JPEG")
    return data.getvalue()[:1500]


BAD_IMAGES = {
    "truncated": (truncated_jpeg, "cannot decode image"),
    "empty": (lambda: b"", "not an image Pillow can read"),
    "not an image": (lambda: b"plain text, not pixels", "not an image Pillow can read"),
}


@pytest.mark.parametrize("name", sorted(BAD_IMAGES))
def test_bad_image_exit_1_names_case_and_file(tmp_path, name):
    make, expected = BAD_IMAGES[name]
    path = write_manifest(tmp_path, random_resnet_manifest(cases=[{"id": "bad", "image": "images/bad.jpg"}]))
    (path.parent / "images" / "bad.jpg").write_bytes(make())
    result = run("check", "--manifest", path)
    assert result.exit_code == 1
    assert "bad: ERROR case 'bad': " in result.output and "bad.jpg" in result.output and expected in result.output


def test_decompression_bomb_exit_1(tmp_path, monkeypatch):
    monkeypatch.setattr("generator.run.images.MAX_IMAGE_PIXELS", 10_000)
    path = write_manifest(tmp_path, random_resnet_manifest(cases=[{"id": "big", "image": "images/chelsea.png"}]))
    result = run("check", "--manifest", path)
    assert result.exit_code == 1
    assert "big: ERROR case 'big': " in result.output and "chelsea.png: image too large" in result.output


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (lambda p: p.write_bytes(b"garbage"), "model 'Mine': cannot load"),
        (lambda p: torch.save(torchvision.models.resnet18().state_dict(), p), "model 'Mine': the weights in"),
    ],
)
def test_bad_weights_file_exit_1_names_the_model(tmp_path, content, expected):
    manifest = random_resnet_manifest()
    manifest["models"] = [{"name": "resnet50", "weights": "mine.pth", "display_name": "Mine"}]
    path = write_manifest(tmp_path, manifest)
    content(path.parent / "mine.pth")
    result = run("check", "--manifest", path)
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and expected in result.output and "mine.pth" in result.output


def test_usage_errors_exit_2(tmp_path):
    path = write_manifest(tmp_path, random_resnet_manifest())
    result = run("build", "--manifest", path, "--only", "ghost", "--no-site")
    assert result.exit_code == 2
    assert result.output == "Error: --only: no case with id 'ghost'; known ids: chelsea\n"
    result = run("build", "--manifest", path, "--config", tmp_path / "none.yml")
    assert result.exit_code == 2
    assert result.output == (
        f"Error: MkDocs configuration not found: {(tmp_path / 'none.yml').resolve()}. Pass an existing file to "
        "--config, or leave it out\n"
    )
    result = run("build", "--precision", "fp8")
    assert result.exit_code == 2
    refused = "Error: Invalid value for '--precision': 'fp8' is not one of 'fp32', 'bf16'."
    assert result.output.splitlines()[-1] == refused
    assert not (path.parent / "cases").exists()  # none of the three built anything


@pytest.mark.slow
def test_model_failure_names_case_and_model_and_counts_under_keep_going(tmp_path, monkeypatch):
    """An exception inside a model's work (here Grad-CAM on the first case) is that case's failure."""
    import generator.explain.gradcam as gradcam

    real, calls = gradcam.grad_cam, []

    def failing_on_first_case(module, layer, tensor, target, channels_last=False):
        calls.append(target)
        if len(calls) == 1:
            raise RuntimeError("shapes do not match")
        return real(module, layer, tensor, target, channels_last)

    monkeypatch.setattr(gradcam, "grad_cam", failing_on_first_case)
    cases = [{"id": "chelsea", "image": "images/chelsea.png"}, {"id": "coffee", "image": "images/coffee.png"}]
    path = make_project(tmp_path, random_resnet_manifest(cases=cases), images=(CHELSEA, COFFEE))
    cache = ["--cache-dir", tmp_path / "cache", "--no-site"]
    result = run("build", "--manifest", path, "--keep-going", *cache)
    assert result.exit_code == 1
    assert "case 'chelsea', model 'R18': RuntimeError: shapes do not match" in result.output
    assert "1 case(s) failed" in result.output and (path.parent / "cases" / "coffee.md").is_file()

    calls.clear()
    result = run("build", "--manifest", path, "--force", *cache)
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        "Error: case 'chelsea', model 'R18': RuntimeError: shapes do not match"
    )

    calls.clear()
    verbose = CliRunner().invoke(main, ["build", "--manifest", str(path), "--force", "-v", *map(str, cache)])
    assert isinstance(verbose.exception, CaseError) and isinstance(verbose.exception.__cause__, RuntimeError)


def test_pdf_without_chromium_stops_before_any_model_runs(tmp_path, monkeypatch):
    path = write_manifest(tmp_path, random_resnet_manifest())
    monkeypatch.setenv("XAI_REPORT_CHROMIUM", str(tmp_path / "no-such-chromium"))
    result = run("build", "--manifest", path, "--pdf", "--cache-dir", tmp_path / "cache")
    assert result.exit_code == 1
    assert "--pdf needs Chromium to print the report, and found none" in result.output
    assert f"XAI_REPORT_CHROMIUM={tmp_path / 'no-such-chromium'}" in result.output
    assert not (path.parent / "index.md").exists(), "a model ran"
    result = run("build", "--manifest", path, "--pdf", "--no-site")
    assert result.exit_code == 2 and "--pdf prints the built site: leave out --no-site" in result.output


def test_batch_size_auto_follows_the_device_and_a_number_wins():
    from generator.explain.lime import LimeSpec
    from generator.run.devices import batch_size_for

    assert LimeSpec().batch_size == "auto"
    assert [batch_size_for("auto", d) for d in ("cpu", "cuda", "cuda:1", "mps")] == [8, 250, 250, 250]
    assert batch_size_for(32, "cuda") == 32 and batch_size_for(LimeSpec(batch_size=3).batch_size, "cpu") == 3
