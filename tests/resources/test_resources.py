"""The files a build reads besides Python (generator/resources): found in a checkout, missing ones named as a
broken installation with its repair, never as an unwritable folder."""

import shutil

import pytest

from generator import resources
from generator.build import BuildOptions, build_report
from generator.utils.errors import ReportError
from tests.helpers import REPO, make_project, random_resnet_manifest


def test_a_checkout_reads_the_repositorys_own_folders():
    assert resources.checkout_root() == REPO
    assert resources.templates_dir() == REPO / "templates" and resources.theme_dir() == REPO / "theme"
    assert resources.on_disk("examples/offline") == REPO / "examples" / "offline"
    assert resources.on_disk("mkdocs.yml") == REPO / "generator" / "resources" / "mkdocs.yml"
    assert resources.on_disk_module("generator.publish", "mkdocs_hooks.py") == (
        REPO / "generator" / "publish" / "mkdocs_hooks.py"
    )


def test_a_missing_resource_is_an_incomplete_installation_with_its_repair(tmp_path, monkeypatch):
    monkeypatch.setattr(resources, "files", lambda package: tmp_path)  # an installed package without its data
    monkeypatch.setattr(resources, "checkout_root", lambda: None)
    with pytest.raises(resources.IncompleteInstallation) as raised:
        resources.templates_dir()
    message = str(raised.value)
    assert "installation is incomplete" in message and "'templates'" in message and str(tmp_path) in message
    assert "pip install --force-reinstall xai-report" in message and "writable" not in message


@pytest.mark.slow
def test_a_template_missing_from_the_installation_is_named(tmp_path, monkeypatch):
    templates = tmp_path / "templates"
    shutil.copytree(REPO / "templates", templates)
    (templates / "case.md.j2").unlink()
    monkeypatch.setattr(resources, "templates_dir", lambda: templates)
    path = make_project(tmp_path, random_resnet_manifest(explainers={"lime": {"enabled": False}}))
    options = BuildOptions(manifest=path, site=False, show_progress=False, cache_dir=None)
    with pytest.raises(ReportError) as raised:
        build_report(options)
    message = str(raised.value)
    assert "installation is incomplete: the page template 'case.md.j2'" in message and str(templates) in message
    assert "writable" not in message
