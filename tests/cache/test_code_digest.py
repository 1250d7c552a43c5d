"""The result cache knows its code: a change to the source of a module that computes a step recomputes that
step and the steps that depend on it, and nothing else (no version bumped by hand)."""

import re
import shutil
import subprocess
import sys

import pytest

from tests.helpers import REPO, make_project
from tests.switches import tiny_manifest

pytestmark = pytest.mark.slow
COMPUTED = re.compile(r"DEBUG: (\w+) (.*?) ?computed in")


def copy_of_the_code(folder):
    """The generator package and its templates, in a checkout of their own that a build can run from (its
    pyproject.toml marks the folder as one: generator/resources reads the templates there)."""
    shutil.copytree(REPO / "generator", folder / "generator", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "templates", folder / "templates")
    shutil.copy(REPO / "pyproject.toml", folder / "pyproject.toml")
    return folder


def computed_steps(code, manifest, cache):
    """The (kind, what) of every step a `build -v` computed, run from the copy of the code."""
    result = subprocess.run(
        [sys.executable, "-m", "generator", "build", "--manifest", manifest, "--no-site", "-v", "--cache-dir", cache],
        cwd=code,
        env={"PYTHONPATH": str(code), "PATH": "/usr/bin:/bin", "HOME": str(code)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return sorted(set(COMPUTED.findall(result.stderr)))


def touch(path):
    """A change to the source that changes no behaviour: the digest still sees it."""
    path.write_text(path.read_text() + "\n# changed\n")


def test_changing_a_modules_source_recomputes_exactly_the_steps_it_computes(tmp_path):
    code = copy_of_the_code(tmp_path / "code")
    manifest = make_project(tmp_path, tiny_manifest(stability_seeds=1, crop=64, batch_size=64))
    cache = tmp_path / "cache"

    first = computed_steps(code, manifest, cache)
    assert {kind for kind, _ in first} == {"probabilities", "segments", "explanation", "metrics"}
    assert computed_steps(code, manifest, cache) == []  # nothing changed: everything from the cache

    touch(code / "generator" / "measure" / "metrics.py")
    assert computed_steps(code, manifest, cache) == [("metrics", "resnet18")]

    touch(code / "generator" / "explain" / "gradcam.py")
    assert computed_steps(code, manifest, cache) == [("explanation", "resnet18 gradcam"), ("metrics", "resnet18")]

    touch(code / "generator" / "explain" / "lime.py")  # LIME's module also segments the case
    assert computed_steps(code, manifest, cache) == [
        ("explanation", "resnet18 lime"),
        ("metrics", "resnet18"),
        ("segments", ""),
    ]

    touch(code / "generator" / "render" / "pages.py")  # rendering computes no result
    assert computed_steps(code, manifest, cache) == []
