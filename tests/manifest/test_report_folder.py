"""Where a report lives (generator/manifest/report_folder.py): its manifest, and the folder its site, cache and
MkDocs overrides belong to."""

from pathlib import Path

import pytest

from generator.manifest.report_folder import ReportFolder
from generator.utils.errors import UsageError
from tests.helpers import REPO


def test_a_report_folder_keeps_everything_beside_its_manifest(tmp_path):
    (tmp_path / "manifest.yaml").write_text("cases: []\n")
    folder = ReportFolder.here(tmp_path)
    assert (folder.root, folder.manifest, folder.content_dir) == (tmp_path, tmp_path / "manifest.yaml", tmp_path)
    assert (folder.site_dir, folder.cache_dir) == (tmp_path / "site", tmp_path / ".cache" / "results")
    assert folder.mkdocs_overrides is None
    (tmp_path / "mkdocs.yml").write_text("site_url: https://example.org/\n")
    assert ReportFolder.here(tmp_path).mkdocs_overrides == tmp_path / "mkdocs.yml"


def test_the_repository_keeps_its_site_and_cache_above_content():
    folder = ReportFolder.here(REPO)
    assert (folder.root, folder.manifest) == (REPO, REPO / "content" / "manifest.yaml")
    assert (folder.site_dir, folder.mkdocs_overrides) == (REPO / "site", REPO / "mkdocs.yml")


def test_run_from_inside_the_repositorys_content_folder(monkeypatch):
    monkeypatch.chdir(REPO / "content")
    folder = ReportFolder.here()
    assert folder.manifest == Path("manifest.yaml") and folder.root.resolve() == REPO


def test_a_mkdocs_yml_above_that_names_another_folder_does_not_claim_the_report(tmp_path):
    (tmp_path / "mkdocs.yml").write_text("docs_dir: docs\n")
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "manifest.yaml").write_text("cases: []\n")
    assert ReportFolder.of(tmp_path / "report" / "manifest.yaml").root == tmp_path / "report"
    (tmp_path / "mkdocs.yml").write_text("docs_dir: !ENV [DOCS, report]\n")  # a tag MkDocs reads: no claim either
    assert ReportFolder.of(tmp_path / "report" / "manifest.yaml").root == tmp_path / "report"


def test_a_folder_without_a_manifest_names_itself_and_the_way_out(tmp_path):
    with pytest.raises(UsageError) as raised:
        ReportFolder.here(tmp_path)
    message = str(raised.value)
    assert str(tmp_path) in message and "--manifest PATH" in message and "xai-report new DIR" in message
    assert raised.value.exit_code == 2
