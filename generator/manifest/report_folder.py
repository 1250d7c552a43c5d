"""Where a report lives: its manifest, and the folder its site, cache and MkDocs overrides belong to.

A report folder holds `manifest.yaml` at its top (`xai-report new` makes one); its pages are written beside the
manifest, and `site/`, `.cache/` and an optional `mkdocs.yml` sit in the same folder. The repository's own report
keeps its manifest one level down, in `content/`, named as `docs_dir` by the `mkdocs.yml` beside it: there, that
file's folder is the report's folder (the layout the project was asked for).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from generator.utils.errors import UsageError

MANIFEST = "manifest.yaml"
REPOSITORY_MANIFEST = Path("content") / MANIFEST  # the repository's default report
MKDOCS_OVERRIDES = "mkdocs.yml"
SITE = "site"
RESULTS = Path(".cache") / "results"


@dataclass(frozen=True)
class ReportFolder:
    root: Path  # the site, the cache and the author's MkDocs overrides go here
    manifest: Path

    @property
    def content_dir(self) -> Path:
        """MkDocs' docs_dir: the manifest's folder, where the pages are written."""
        return self.manifest.parent

    @property
    def mkdocs_overrides(self) -> Path | None:
        """The author's mkdocs.yml, merged over the tool's configuration, where there is one."""
        path = self.root / MKDOCS_OVERRIDES
        return path if path.is_file() else None

    @property
    def site_dir(self) -> Path:
        return self.root / SITE

    @property
    def cache_dir(self) -> Path:
        return self.root / RESULTS

    @classmethod
    def of(cls, manifest: str | os.PathLike[str]) -> ReportFolder:
        manifest = Path(manifest)
        folder = manifest.parent
        # the folder above; from inside it ("manifest.yaml", "../x/manifest.yaml"), only the resolved path knows it
        parent = folder.parent if folder.name not in ("", "..") else folder.resolve().parent
        return cls(parent if names_as_docs_dir(parent / MKDOCS_OVERRIDES, folder) else folder, manifest)

    @classmethod
    def here(cls, folder: str | os.PathLike[str] = ".") -> ReportFolder:
        """The report in `folder`: its manifest.yaml, else the repository's content/manifest.yaml."""
        folder = Path(folder)
        for candidate in (folder / MANIFEST, folder / REPOSITORY_MANIFEST):
            if candidate.is_file():
                return cls.of(candidate)
        raise UsageError(
            f"no {MANIFEST} in {folder.resolve()} (nor {REPOSITORY_MANIFEST}): run the command in a report folder, "
            f"pass --manifest PATH, or start a report with `xai-report new DIR`"
        )


def names_as_docs_dir(mkdocs_file: Path, folder: Path) -> bool:
    """Whether `mkdocs_file` exists and its `docs_dir` is `folder`."""
    if not mkdocs_file.is_file():
        return False
    try:
        settings = yaml.load(mkdocs_file.read_text(encoding="utf-8"), Loader=TagTolerantLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False  # the merge reports a broken file with its own words; here it only is no repository layout
    docs_dir = settings.get("docs_dir") if isinstance(settings, dict) else None
    return isinstance(docs_dir, str) and (mkdocs_file.parent / docs_dir).resolve() == folder.resolve()


class TagTolerantLoader(yaml.SafeLoader):
    """Reads an mkdocs.yml whose values carry tags (!ENV, !relative, !!python/name): a tagged value reads as None."""


TagTolerantLoader.add_multi_constructor("", lambda loader, suffix, node: None)
TagTolerantLoader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)
