"""The MkDocs configuration a report builds with: the tool's, the author's mkdocs.yml over it (publish/mkdocs_config.py)."""

import logging
from pathlib import Path

import pytest
import yaml

from generator.publish.mkdocs_config import site_config, tool_settings
from generator.utils.errors import UsageError
from tests.helpers import REPO


def plugin_names(settings):
    return [next(iter(entry)) if isinstance(entry, dict) else entry for entry in settings["plugins"]]


def author_file(folder, **settings):
    path = folder / "mkdocs.yml"
    path.write_text(yaml.safe_dump(settings, sort_keys=False))
    return path


@pytest.fixture()
def content(tmp_path):
    folder = tmp_path / "report"
    folder.mkdir()
    (folder / "about.md").write_text("# About\n")
    return folder


def test_without_an_author_file_the_tools_configuration_applies(content):
    config = site_config(content, None, "Cats & dogs")
    assert config.warnings == () and config.author_file is None
    assert config.settings["docs_dir"] == str(content.resolve())
    assert config.settings["site_name"] == "Cats &amp; dogs"  # MkDocs themes insert it unescaped
    assert plugin_names(config.settings) == ["search", "offline", "glightbox", "print-site"]
    [hook] = config.settings["hooks"]
    assert Path(hook).is_file() and Path(hook).name == "mkdocs_hooks.py"
    loaded = config.load(site_dir=str(content.parent / "elsewhere"))
    assert loaded.theme.name == "material" and "material/offline" in loaded.plugins


def test_the_authors_keys_are_merged_over_the_tools(content):
    path = author_file(
        content.parent,
        site_url="https://example.org/report/",
        repo_url="https://github.com/example/report",
        theme={"palette": [{"scheme": "slate", "primary": "red"}], "logo": "images/logo.png"},
        plugins=["tags", {"print-site": {"add_cover_page": True}}],
        markdown_extensions=["footnotes", {"toc": {"toc_depth": 3}}],
        extra={"analytics": {"provider": "custom"}},
        extra_css=["css/mine.css"],
        nav=[{"About": "about.md"}],
        exclude_docs="drafts/\n",
    )
    config = site_config(content, path, "T")
    settings = config.settings
    assert config.warnings == ()
    assert settings["site_url"] == "https://example.org/report/" and settings["nav"] == [{"About": "about.md"}]
    assert settings["theme"]["palette"] == [{"scheme": "slate", "primary": "red"}]
    assert settings["theme"]["logo"] == "images/logo.png" and settings["theme"]["font"] is False  # the tool's stays
    assert plugin_names(settings) == ["search", "offline", "glightbox", "tags", "print-site"]  # print-site last
    print_site = next(entry["print-site"] for entry in settings["plugins"] if isinstance(entry, dict) and "print-site" in entry)
    assert print_site["add_cover_page"] is True and print_site["add_table_of_contents"] is True
    extensions = {next(iter(e)) if isinstance(e, dict) else e: e for e in settings["markdown_extensions"]}
    assert "footnotes" in extensions and extensions["toc"] == {"toc": {"permalink": True, "toc_depth": 3}}
    assert settings["extra"]["analytics"] == {"provider": "custom"}
    assert settings["extra"]["polyfills"] == ["assets/javascripts/iframe-worker-shim.js"]
    assert settings["extra_css"][-1] == "css/mine.css" and "assets/stylesheets/print.css" in settings["extra_css"]
    assert settings["exclude_docs"].splitlines()[-1] == "drafts/" and "/manifest.yaml" in settings["exclude_docs"]


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"hooks": []}, "hooks"),
        ({"plugins": []}, "plugins"),
        ({"plugins": [{"offline": {"enabled": False}}]}, "plugins: offline"),
        ({"docs_dir": "elsewhere"}, "docs_dir"),
        ({"site_name": "Another name"}, "site_name"),
        ({"site_dir": "public"}, "site_dir"),
        ({"theme": {"name": "readthedocs"}}, "theme.name"),
        ({"theme": "mkdocs"}, "theme.name"),
    ],
)
def test_what_the_report_cannot_live_without_is_kept_with_a_warning(content, caplog, settings, named):
    path = author_file(content.parent, **settings)
    with caplog.at_level(logging.WARNING, logger="generator.publish.mkdocs_config"):
        config = site_config(content, path, "T")
    [warning] = config.warnings
    assert warning.startswith(named) and named in caplog.text and str(path) in caplog.text
    merged = config.settings
    assert merged["docs_dir"] == str(content.resolve()) and merged["site_name"] == "T"
    assert plugin_names(merged) == ["search", "offline", "glightbox", "print-site"]
    assert all(not isinstance(e, dict) or "enabled" not in next(iter(e.values())) for e in merged["plugins"])
    assert merged["hooks"] == tool_settings()["hooks"] and merged["theme"]["name"] == "material"


def test_the_authors_hooks_run_beside_the_tools(content):
    (content.parent / "my_hooks.py").write_text("def on_config(config, **kwargs):\n    return config\n")
    ours = tool_settings()["hooks"]
    path = author_file(content.parent, hooks=["my_hooks.py", ours[0]])  # the tool's own path too: named once
    assert site_config(content, path, "T").settings["hooks"] == [*ours, str((content.parent / "my_hooks.py").resolve())]


def test_a_site_folder_inside_the_report_is_not_a_page(content):
    inside = site_config(content, None, "T", site_dir=content / "site").settings["exclude_docs"]
    outside = site_config(content, None, "T", site_dir=content.parent / "site").settings["exclude_docs"]
    assert inside.splitlines() == [*outside.splitlines(), "/site/"]


def test_the_repositorys_mkdocs_yml_is_an_override_file_that_changes_nothing_but_the_folder():
    config = site_config(REPO / "content", REPO / "mkdocs.yml", "T")
    assert config.warnings == ()
    tool = tool_settings()
    assert {key for key in {*tool, *config.settings} if tool.get(key) != config.settings.get(key)} == {
        "docs_dir",
        "site_name",
    }


def test_a_missing_or_broken_author_file_is_a_usage_error_naming_it(content):
    with pytest.raises(UsageError, match="not found: .*nowhere.yml"):
        site_config(content, content / "nowhere.yml", "T")
    broken = content / "broken.yml"
    broken.write_text("theme: [unclosed\n")
    with pytest.raises(UsageError, match="broken.yml"):
        site_config(content, broken, "T")
    listed = content / "list.yml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(UsageError, match="list.yml: expected MkDocs settings"):
        site_config(content, listed, "T")
