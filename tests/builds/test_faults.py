"""Faults: interrupted builds, concurrent builds, unwritable output, and the check command."""

import errno
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from generator.cli import main
from generator.utils import atomic
from generator.utils.lock import LOCK_NAME
from tests.helpers import REPO, build, make_project, random_resnet_manifest, run_cli


def tree_digest(folder):
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def built_once(tmp_path_factory):
    """A project built once for the module (site and cache included); tests break a copy of it."""
    folder = tmp_path_factory.mktemp("faults")
    path = make_project(folder, random_resnet_manifest())
    assert build(path, "--cache-dir", folder / "cache").returncode == 0
    return folder


@pytest.fixture()
def built(built_once, tmp_path):
    """A copy of the built project (content, site, cache), with an edited discussion."""
    shutil.copytree(built_once, tmp_path, dirs_exist_ok=True)
    path = tmp_path / "content" / "manifest.yaml"
    discussion = path.parent / "discussion" / "chelsea.md"
    discussion.write_text("Mine.\n")
    return path, tmp_path / "site", discussion


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def result_entries(cache):
    """The result cache's entry files (the figure cache keeps its own under figures/)."""
    return {p for p in cache.rglob("*.npz") if p.relative_to(cache).parts[0] != "figures"}


def result_types(entry):
    """{result class name: the shapes of its `neighbourhood` arrays} stored in one result-cache entry,
    read from the entry's own metadata (the JSON tree the file format describes), not through the cache's code."""
    with np.load(entry, allow_pickle=False) as npz:
        meta = json.loads(npz["__meta__"].tobytes().decode("utf-8"))
    found = {}

    def walk(node):
        if isinstance(node, dict):
            inner = node.get("__dict__", node)
            name = inner.get("__type__")
            if name is not None:
                neighbourhood = inner.get("neighbourhood")
                shapes = found.setdefault(name, set())
                if isinstance(neighbourhood, dict) and "__array__" in neighbourhood:
                    shapes.add(tuple(meta["arrays"][neighbourhood["__array__"]][1]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(meta["tree"])
    return found


@pytest.mark.slow
def test_interrupt_while_writing_pages_keeps_previous_site(built, monkeypatch, tmp_path):
    path, site, discussion = built
    before = tree_digest(site)
    writes = []

    def interrupted_write(target, data):
        writes.append(target)
        if len(writes) == 3:
            raise KeyboardInterrupt
        return original(target, data)

    original = atomic.write_bytes
    monkeypatch.setattr("generator.build.write_bytes", interrupted_write)
    result = cli("build", "--manifest", path, "--site-dir", site, "--cache-dir", tmp_path / "cache", "-q")
    assert result.exit_code == 130
    assert "Interrupted: the previous site and every discussion file are intact." in result.output
    assert tree_digest(site) == before
    assert discussion.read_text() == "Mine.\n"
    assert not list(path.parent.rglob("*.tmp"))


@pytest.mark.slow
def test_interrupt_while_drawing_figures_leaves_them_as_they_were(built, monkeypatch, tmp_path):
    """With a drawing pool: the new figures wait in a staging folder; an interrupt removes it, and the pool."""
    path, site, discussion = built
    figures_before = tree_digest(path.parent / "figures")
    manifest = yaml.safe_load(path.read_text())
    manifest["explainers"]["lime"]["num_features"] = 2  # other LIME figures
    path.write_text(yaml.safe_dump(manifest))
    from generator.render.figure_drawer import FigureDrawer

    def interrupted_finish(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(FigureDrawer, "finish", interrupted_finish)
    cache = tmp_path / "cache"
    result = cli("build", "--manifest", path, "--site-dir", site, "--cache-dir", cache, "--jobs", 1)
    assert result.exit_code == 130
    assert tree_digest(path.parent / "figures") == figures_before
    assert not list(path.parent.glob(".figures-staging-*"))
    assert discussion.read_text() == "Mine.\n"


@pytest.mark.slow
def test_sigterm_during_model_work_then_resume_from_cache(built, tmp_path):
    path, site, discussion = built
    manifest = yaml.safe_load(path.read_text())
    manifest["explainers"]["lime"]["num_samples"] = 400  # long enough to be interrupted mid-way
    path.write_text(yaml.safe_dump(manifest))
    before = tree_digest(site)
    cache = tmp_path / "cache"
    entries_before = result_entries(cache)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "generator",
            "build",
            "--manifest",
            str(path),
            "--site-dir",
            str(site),
            "--cache-dir",
            str(cache),
        ],
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not (result_entries(cache) - entries_before):
        time.sleep(0.2)
    assert process.poll() is None, "the build finished before it could be interrupted"
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130
    assert "Interrupted" in stderr and "Traceback" not in stderr
    assert tree_digest(site) == before
    assert discussion.read_text() == "Mine.\n"
    # One case, one model: five results. The first build left five entries; 400 LIME samples make the LIME
    # explanation and the metrics new. The interrupt came once the first new entry was written: the LIME
    # explanation over 400 images, kept whole; the metrics were not written.
    after_interrupt = result_entries(cache)
    kept = after_interrupt - entries_before
    assert len(entries_before) == 5 and len(kept) == 1, sorted(p.name for p in kept)
    (kept_entry,) = kept
    assert result_types(kept_entry) == {"LimeResult": {(400,)}}  # every class LIME explained, over 400 images
    kept_inode = kept_entry.stat().st_ino
    resumed = run_cli("build", "--manifest", path, "--site-dir", site, "--cache-dir", cache)
    assert resumed.returncode == 0, resumed.stderr
    # from the cache: the predictions, segments and Grad-CAM of the first build and the interrupted build's LIME
    assert "; 4 of 5 results from the cache" in resumed.stderr
    (computed,) = result_entries(cache) - after_interrupt  # only the metrics were computed again
    assert "TargetMetrics" in result_types(computed) and "LimeResult" not in result_types(computed)
    assert kept_entry.stat().st_ino == kept_inode  # read back, not written again


@pytest.mark.slow
def test_second_build_refused_while_one_holds_the_lock(built):
    path, _, _ = built
    with open(path.parent / LOCK_NAME, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        handle.truncate(0)
        handle.write("4242")
        handle.flush()
        result = build(path, site=False)
    assert result.returncode == 1
    assert result.stderr.startswith(f"Error: another build is already running on {path.parent} (pid 4242)")
    assert build(path, site=False).returncode == 0  # released with its holder


@pytest.mark.parametrize(
    ("code", "hint"),
    [(errno.ENOSPC, "the disk is full: free some space"), (errno.EROFS, "the file system is read-only")],
)
@pytest.mark.slow
def test_unwritable_output_gets_a_clear_error(built, monkeypatch, tmp_path, code, hint):
    path, site, _ = built
    before = tree_digest(site)

    def failing_write(target, data):
        raise OSError(code, os.strerror(code), str(target))

    monkeypatch.setattr("generator.build.write_bytes", failing_write)
    result = cli("build", "--manifest", path, "--site-dir", site, "--cache-dir", tmp_path / "cache")
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: cannot write {path.parent}")
    assert hint in result.output and "The previous site is intact." in result.output
    assert "Traceback" not in result.output
    assert tree_digest(site) == before


@pytest.mark.slow
def test_check_reports_errors_and_what_would_be_computed(built, tmp_path):
    path, _, _ = built
    result = cli("check", "--manifest", path, "--cache-dir", tmp_path / "cache")
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "chelsea: up to date (every result is in the cache)",
        "1 case(s) checked, 0 with errors.",
    ]

    manifest = yaml.safe_load(path.read_text())
    manifest["explainers"]["lime"]["num_samples"] = 30
    manifest["cases"].append({"id": "broken", "image": "images/broken.png"})
    (path.parent / "images" / "broken.png").write_bytes(b"not a png")
    path.write_text(yaml.safe_dump(manifest))
    result = cli("check", "--manifest", path, "--cache-dir", tmp_path / "cache")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == "chelsea: would compute lime (R18), metrics (R18)"
    assert (
        lines[1].startswith("broken: ERROR case 'broken': ") and "broken.png: not an image Pillow can read" in lines[1]
    )
    assert lines[2] == "2 case(s) checked, 1 with errors."


def test_check_bad_manifest_exits_2(tmp_path):
    path = make_project(tmp_path, {"cases": [{"image": "images/none.png"}]})
    result = cli("check", "--manifest", path)
    assert result.exit_code == 2
    assert "cases[0].image: file not found: images/none.png" in result.output
