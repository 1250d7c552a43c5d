"""The MkDocs configuration a report builds with: the tool's (generator/resources/mkdocs.yml), the author's
mkdocs.yml merged over it, and what the build supplies (the pages' folder, the hooks).

The author's keys win, with these rules (docs/configuration.md):
- dictionaries merge key by key (`theme`, `extra`, `validation`, a plugin's or an extension's settings);
- `plugins`, `markdown_extensions`, `hooks`, `extra_css`, `extra_javascript` and `exclude_docs` add the author's
  entries to the tool's: a report cannot lose the search, the offline build, the print page, the hooks that give
  it its navigation and assets, or the extensions its pages are written in;
- `nav`: the author's entries come after the generated navigation (the hook joins them);
- what the report cannot live without is kept, with a warning that names the key: `docs_dir` (the manifest's
  folder), `site_name` (the manifest's title), the hooks, the Material theme, and each of the tool's plugins
  (switched off with `enabled: false`, or a list emptied).
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import generator.resources as resources
from generator.utils.errors import UsageError

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig

log = logging.getLogger(__name__)

ADDITIVE_LISTS = ("extra_css", "extra_javascript")
LAST_PLUGIN = "print-site"  # its print page gathers every other plugin's output: it must come last
THEME = "material"


@dataclass(frozen=True)
class SiteConfig:
    """What MkDocs' load_config takes: the merged settings, and the file relative paths in them resolve against."""

    settings: dict[str, Any]  # every path in them absolute
    author_file: Path | None  # the author's mkdocs.yml; None: the tool's settings alone
    warnings: tuple[str, ...] = field(default=())

    # MkDocs is handed no config file: it refuses a docs_dir that holds its config file, and a report folder is
    # both. The paths MkDocs would read relative to that file (hooks, theme.custom_dir, watch) are made absolute.
    def load(self, **overrides: Any) -> MkDocsConfig:
        from mkdocs.config import load_config

        return load_config(config_file=io.StringIO("{}"), config_file_path=None, **{**self.settings, **overrides})

    def serve_arguments(self) -> dict[str, Any]:
        """mkdocs.commands.serve.serve's arguments: it loads the configuration again on every rebuild."""
        return {"config_file": io.StringIO("{}"), "config_file_path": None, **self.settings}

    def digest(self) -> str:
        """sha256 of the settings and of the author's file (a value JSON cannot hold counts by its file)."""
        text = json.dumps(self.settings, sort_keys=True, default=lambda value: type(value).__name__)
        digest = hashlib.sha256(text.encode())
        if self.author_file:
            digest.update(self.author_file.read_bytes())
        return digest.hexdigest()


def site_config(
    content_dir: str | os.PathLike[str],
    author_file: str | os.PathLike[str] | None,
    title: str | None = None,
    site_dir: str | os.PathLike[str] | None = None,
) -> SiteConfig:
    """The report's MkDocs settings: the tool's, the author's `author_file` over them, the build's last
    (the pages' folder, the manifest's `title`, and a `site_dir` inside the pages' folder left out of the pages)."""
    content_dir = Path(content_dir).resolve()
    author_path = Path(author_file).resolve() if author_file else None
    author = read_author_file(author_path) if author_path else {}
    base = author_path.parent if author_path else content_dir
    merged, warnings = merge(tool_settings(), author, base, content_dir, title)
    if site_dir is not None and Path(site_dir).resolve().is_relative_to(content_dir):
        inside = Path(site_dir).resolve().relative_to(content_dir).as_posix()
        merged["exclude_docs"] = merge_lines(merged.get("exclude_docs"), f"/{inside}/", base, warnings)
    for warning in warnings:
        log.warning("%s: %s", author_file, warning)
    return SiteConfig(merged, author_path, tuple(warnings))


def tool_settings() -> dict[str, Any]:
    import yaml

    text = resources.resource("mkdocs.yml").read_text(encoding="utf-8")
    settings: dict[str, Any] = yaml.safe_load(text)
    settings["hooks"] = [str(resources.on_disk_module("generator.publish", "mkdocs_hooks.py"))]
    return settings


def read_author_file(path: Path) -> dict[str, Any]:
    """The author's mkdocs.yml as MkDocs reads it (!ENV, !relative, INHERIT)."""
    from mkdocs.exceptions import ConfigurationError
    from mkdocs.utils.yaml import get_yaml_loader, yaml_load

    if not path.is_file():
        raise UsageError(f"MkDocs configuration not found: {path}. Pass an existing file to --config, or leave it out")
    try:
        with path.open("rb") as handle:
            settings = yaml_load(handle, get_yaml_loader())
    except ConfigurationError as error:
        raise UsageError(f"{path}: {error}") from None
    if not isinstance(settings, dict):
        raise UsageError(f"{path}: expected MkDocs settings (key: value lines), found {type(settings).__name__}")
    return settings


def merge(
    tool: dict[str, Any], author: Mapping[str, Any], base: Path, content_dir: Path, title: str | None
) -> tuple[dict[str, Any], list[str]]:
    """The author's settings over the tool's, and the warnings for what was kept against them."""
    merged = dict(tool)
    warnings: list[str] = []
    for key, value in author.items():
        merger = MERGERS.get(key)
        if merger is None:
            merged[key] = deep_merge(merged.get(key), value)
        else:
            merged[key] = merger(merged.get(key), value, base, warnings)
    kept_docs_dir(author.get("docs_dir"), base, content_dir, warnings)
    merged["docs_dir"] = str(content_dir)
    if title is not None:
        if author.get("site_name", title) not in (title, tool.get("site_name")):
            warnings.append(
                f"site_name: the report's title comes from the manifest's `title` ({title!r}); set it there"
            )
        merged["site_name"] = html.escape(title)  # MkDocs themes insert it unescaped
    return merged, warnings


def deep_merge(tool: Any, author: Any) -> Any:
    if isinstance(tool, dict) and isinstance(author, dict):
        return {**tool, **{key: deep_merge(tool.get(key), value) for key, value in author.items()}}
    return author


def kept_docs_dir(value: Any, base: Path, content_dir: Path, warnings: list[str]) -> None:
    if value is not None and (base / str(value)).resolve() != content_dir:
        warnings.append(
            f"docs_dir: the report's pages are written beside its manifest, in {content_dir}; {value} is not used"
        )


def merge_hooks(tool: Any, author: Any, base: Path, warnings: list[str]) -> list[str]:
    ours = [str(path) for path in tool or []]
    if not author:
        warnings.append("hooks: the report's hook (its navigation, snippets and assets) is kept")
    theirs = [str((base / str(path)).resolve()) for path in author or []]
    return ours + [path for path in theirs if not any(same_file(path, own) for own in ours)]


def same_file(a: str, b: str) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def merge_theme(tool: Any, author: Any, base: Path, warnings: list[str]) -> dict[str, Any]:
    theirs = {"name": author} if isinstance(author, str) else dict(author or {})
    if theirs.get("name", THEME) != THEME:
        warnings.append(f"theme.name: the pages are written for Material for MkDocs; {theirs['name']!r} is not used")
        theirs["name"] = THEME
    if theirs.get("custom_dir"):
        theirs["custom_dir"] = str((base / str(theirs["custom_dir"])).resolve())
    merged: dict[str, Any] = deep_merge(dict(tool or {}), theirs)
    return merged


def named_entries(entries: Any) -> dict[str, Any]:
    """A plugin or extension list (names, or {name: settings}) as {name: settings}, in order."""
    if isinstance(entries, dict):
        return dict(entries)
    named: dict[str, Any] = {}
    for entry in entries or []:
        if isinstance(entry, dict):
            named.update(entry)
        else:
            named[str(entry)] = {}
    return named


def as_list(named: Mapping[str, Any]) -> list[Any]:
    return [{name: settings} if settings else name for name, settings in named.items()]


def merge_plugins(tool: Any, author: Any, base: Path, warnings: list[str]) -> list[Any]:
    ours, theirs = named_entries(tool), named_entries(author)
    if not theirs:
        warnings.append(f"plugins: the report's plugins ({', '.join(ours)}) are kept")
    for name, settings in theirs.items():
        if name in ours and isinstance(settings, dict) and settings.get("enabled") is False:
            warnings.append(f"plugins: {name} is kept (the report needs it)")
            settings = {key: value for key, value in settings.items() if key != "enabled"}
        ours[name] = deep_merge(ours.get(name) or {}, settings or {})
    if LAST_PLUGIN in ours:
        ours[LAST_PLUGIN] = ours.pop(LAST_PLUGIN)
    return as_list(ours)


def merge_extensions(tool: Any, author: Any, base: Path, warnings: list[str]) -> list[Any]:
    ours = named_entries(tool)
    for name, settings in named_entries(author).items():
        ours[name] = deep_merge(ours.get(name) or {}, settings or {})
    return as_list(ours)


def absolute_paths(tool: Any, author: Any, base: Path, warnings: list[str]) -> list[str]:
    return [str((base / str(path)).resolve()) for path in author or []]


def merge_lists(tool: Any, author: Any, base: Path, warnings: list[str]) -> list[Any]:
    ours = list(tool or [])
    return ours + [entry for entry in author or [] if entry not in ours]


def merge_lines(tool: Any, author: Any, base: Path, warnings: list[str]) -> str:
    """gitignore-style patterns (exclude_docs): the tool's, then the author's."""
    ours = str(tool or "").splitlines()
    return "\n".join(unique(ours + str(author or "").splitlines())) + "\n"


def merge_extra(tool: Any, author: Any, base: Path, warnings: list[str]) -> Any:
    merged = deep_merge(tool, author)
    if isinstance(tool, dict) and isinstance(merged, dict):  # the offline search shim stays, beside the author's
        merged["polyfills"] = merge_lists(tool.get("polyfills"), merged.get("polyfills"), base, warnings)
    return merged


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(item for item in items if item.strip()))


def kept(tool: Any, author: Any, base: Path, warnings: list[str]) -> Any:
    return tool  # docs_dir and site_name: decided by merge() from the manifest, with a warning there


def site_dir_unused(tool: Any, author: Any, base: Path, warnings: list[str]) -> Any:
    warnings.append("site_dir: the site goes where --site-dir says (by default site/ in the report folder)")
    return tool


MERGERS = {
    "hooks": merge_hooks,
    "theme": merge_theme,
    "plugins": merge_plugins,
    "markdown_extensions": merge_extensions,
    "extra": merge_extra,
    "exclude_docs": merge_lines,
    "docs_dir": kept,
    "site_name": kept,
    "site_dir": site_dir_unused,
    "watch": absolute_paths,
    **{key: merge_lists for key in ADDITIVE_LISTS},
}
