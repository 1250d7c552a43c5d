"""The MkDocs build runs only when something it reads changed: a no-op rebuild keeps the site as it is."""

import os
import time

import pytest

from generator.build import BuildOptions, build_report
from generator.publish.mkdocs_config import site_config
from generator.publish.mkdocs_site import SITE_STAMP, site_inputs
from tests.helpers import make_project, random_resnet_manifest


@pytest.fixture()
def project(tmp_path):
    path = make_project(tmp_path, random_resnet_manifest())
    options = BuildOptions(manifest=path, site_dir=tmp_path / "site", show_progress=False, cache_dir=tmp_path / "c")
    build_report(options)
    return path, options


def forbid_mkdocs(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("MkDocs built a site that was up to date")

    monkeypatch.setattr("mkdocs.commands.build.build", forbidden)


@pytest.mark.slow
def test_noop_rebuild_keeps_the_site(project, monkeypatch):
    path, options = project
    before = {p: p.stat().st_mtime_ns for p in options.site_dir.rglob("*") if p.is_file()}
    forbid_mkdocs(monkeypatch)
    build_report(options)
    assert {p: p.stat().st_mtime_ns for p in options.site_dir.rglob("*") if p.is_file()} == before


@pytest.mark.slow
def test_an_edited_discussion_rebuilds_the_site(project):
    path, options = project
    discussion = path.parent / "discussion" / "chelsea.md"
    time.sleep(0.01)
    discussion.write_text("A sentence the author just wrote.\n")
    build_report(options)
    pages = [p.read_text() for p in options.site_dir.rglob("*.html")]
    assert any("A sentence the author just wrote." in page for page in pages)


@pytest.mark.slow
def test_a_deleted_or_foreign_site_is_built_again(project):
    path, options = project
    stamp, index = options.site_dir / SITE_STAMP, options.site_dir / "index.html"
    built_stamp, built_index = stamp.read_text(), index.read_bytes()
    stamp.unlink()  # e.g. built by `mkdocs build`, which writes no stamp
    build_report(options)
    assert stamp.read_text() == built_stamp
    index.unlink()  # the stamp still matches: only the missing page tells
    build_report(options)
    assert index.read_bytes() == built_index and stamp.read_text() == built_stamp


def test_site_inputs_follow_docs_theme_and_config_but_not_hidden_files_nor_the_site(tmp_path):
    docs, theme = tmp_path / "docs", tmp_path / "overrides"
    docs.mkdir()
    theme.mkdir()
    (docs / "index.md").write_text("# Hi\n")
    (theme / "main.html").write_text("{% extends 'base.html' %}\n")
    config_file = tmp_path / "mkdocs.yml"
    config_file.write_text("theme:\n  custom_dir: overrides\n")
    site = docs / "site"  # a report folder keeps its site beside its pages

    def inputs(strict=True):
        config = site_config(docs, config_file, "t", site)
        return site_inputs(config, config.load(site_dir=str(tmp_path / "elsewhere")), strict, site.resolve())

    first = inputs()
    (docs / ".figures-staging-x").mkdir()
    (docs / ".figures-staging-x" / "a.png").write_bytes(b"x")
    site.mkdir()
    (site / "index.html").write_text("<html></html>")
    assert inputs() == first  # hidden: MkDocs skips it; the site: an output, not an input
    for changed in (docs / "index.md", theme / "main.html"):
        stat = changed.stat()
        os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
        assert inputs() != first, changed
        first = inputs()
    config_file.write_text(config_file.read_text() + "# a comment\n")
    assert inputs() != first
    assert inputs(strict=False) != first  # strict or not
