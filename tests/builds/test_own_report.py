"""A report of one's own in any folder: `cd DIR && xai-report build`, the author's mkdocs.yml merged over the
tool's, and the library call `generator.build_report` (a manifest path or a dict)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from generator import build_report
from tests.helpers import CHELSEA, random_resnet_manifest, run_cli_in_process

pytestmark = pytest.mark.slow

GRAD_CAM_ONLY = {"lime": {"enabled": False}}
NO_MEASUREMENTS = {"faithfulness": False, "sanity": False, "stability_seeds": 1}
GENERATED_PAGES = ("index.md", "methods.md", "comparison.md", "cases/chelsea.md", "nav.yml")


def tiny_manifest(**extra):
    """One random ResNet18, Grad-CAM only, no measurements: the cheapest whole build."""
    return random_resnet_manifest(explainers=GRAD_CAM_ONLY, metrics=dict(NO_MEASUREMENTS), **extra)


def report_folder(folder, manifest=None):
    """A report folder as `xai-report new` leaves it: manifest.yaml at the top, its photo under images/."""
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "chelsea.png").write_bytes(Path(CHELSEA).read_bytes())
    (folder / "manifest.yaml").write_text(yaml.safe_dump(manifest or tiny_manifest(), sort_keys=False))
    (folder / "README.md").write_text("# My report\n\nNot a page of the site.\n")
    return folder


def build_here(folder, monkeypatch, *args):
    monkeypatch.chdir(folder)
    return run_cli_in_process("build", *args)


def test_a_report_folder_builds_in_place_with_the_authors_mkdocs_overrides(tmp_path, monkeypatch):
    folder = report_folder(tmp_path / "myreport")
    (folder / "about.md").write_text("# About this report\n")
    (folder / "mkdocs.yml").write_text(
        "site_url: https://example.org/report/\n"
        "theme:\n  palette:\n    - scheme: default\n      primary: red\n"
        "nav:\n  - About: about.md\n"
    )
    result = build_here(folder, monkeypatch, "-q")
    assert (result.returncode, result.stderr) == (0, "")
    index = (folder / "site" / "index.html").read_text(encoding="utf-8")
    assert 'data-md-color-primary="red"' in index
    assert '<link rel="canonical" href="https://example.org/report/' in index
    assert 'href="about.html"' in index and 'href="cases/chelsea.html"' in index  # generated nav, then the author's
    assert index.index('href="cases/chelsea.html"') < index.index('href="about.html"')
    assert (folder / "site" / "print_page.html").is_file()
    assert not (folder / "site" / "README.html").exists() and not (folder / "site" / "site").exists()
    assert any((folder / ".cache" / "results").iterdir())  # the cache is the report folder's too
    assert (folder / "README.md").read_text() == "# My report\n\nNot a page of the site.\n"


def test_an_author_file_that_removes_the_hooks_builds_with_a_warning(tmp_path, monkeypatch):
    folder = report_folder(tmp_path / "myreport")
    (folder / "mkdocs.yml").write_text("hooks: []\n")
    result = build_here(folder, monkeypatch)
    assert result.returncode == 0, result.stderr
    assert "WARNING: mkdocs.yml: hooks: the report's hook (its navigation, snippets and assets) is kept" in result.stderr
    assert "-> site/" in result.stderr
    index = (folder / "site" / "index.html").read_text(encoding="utf-8")
    assert 'href="cases/chelsea.html"' in index and "map-viewer.js" in index  # the hook's nav and assets


def test_a_folder_without_a_manifest_says_how_to_start_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_cli_in_process("build")
    assert result.returncode == 2
    assert f"no manifest.yaml in {tmp_path}" in result.stderr and "xai-report new DIR" in result.stderr
    assert "Traceback" not in result.stderr and list(tmp_path.iterdir()) == []


def test_the_library_call_builds_the_same_pages_from_a_dict_as_the_command_line_from_a_file(tmp_path, monkeypatch):
    from_file = report_folder(tmp_path / "file")
    assert build_here(from_file, monkeypatch, "--no-site", "-q").returncode == 0
    from_dict = report_folder(tmp_path / "dict")
    (from_dict / "manifest.yaml").unlink()  # the dict is the only manifest of this folder
    script = (
        "import json, sys\n"
        "from generator import build_report\n"
        "summary = build_report(json.loads(sys.argv[1]), report_dir=sys.argv[2], site=False)\n"
        "print(summary.cases, len(summary.failures))\n"
    )
    process = subprocess.run(
        [sys.executable, "-c", script, json.dumps(tiny_manifest()), str(from_dict)],
        cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2])),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert (process.returncode, process.stdout) == (0, "1 0\n"), process.stderr
    for page in GENERATED_PAGES:
        assert (from_dict / page).read_bytes() == (from_file / page).read_bytes(), page
    assert (from_dict / ".cache" / "results").is_dir()


def test_the_library_call_raises_the_command_lines_errors(tmp_path):
    from generator.utils.errors import ManifestError, UsageError

    with pytest.raises(UsageError, match="needs report_dir"):
        build_report({"title": "t"})
    folder = report_folder(tmp_path / "bad", manifest={"title": "t", "cases": [{"id": "x"}]})
    with pytest.raises(ManifestError) as raised:
        build_report(folder / "manifest.yaml", site=False)
    assert raised.value.exit_code == 2 and "cases[0]" in str(raised.value)
