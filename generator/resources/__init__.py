"""The files a build reads besides Python: the page templates, the theme's assets, the default MkDocs
configuration, the report scaffold and the offline example.

Found with importlib.resources, so that a wheel, an editable install and a zip-safe install read them alike:
- in a wheel, `templates/`, `theme/` and `examples/offline/` of the repository are package data of this package
  (pyproject.toml maps them here when the wheel is built); `mkdocs.yml` and `scaffold/` live here in every layout;
- in a checkout or an editable install, this package's folder holds only the latter, and the repository's own
  top-level folders are read: a checkout and an installed tool read the same files.

MkDocs and Jinja want folders on disk: `on_disk` hands them the folder itself, or, for a zip-safe install, a copy
extracted once per process.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from generator.utils.errors import ReportError

if TYPE_CHECKING:
    from importlib.abc import Traversable  # importlib.resources.abc from Python 3.11 on

REPAIR = "reinstall it: pip install --force-reinstall xai-report (in a checkout: pip install -e .)"


class IncompleteInstallation(ReportError):
    """A file the package ships is missing: the installation is broken, not the report."""

    def __init__(self, what: str, where: object) -> None:
        super().__init__(f"xai-report's installation is incomplete: {what} is missing ({where}); {REPAIR}")


def checkout_root() -> Path | None:
    """The repository this package runs from (a checkout, an editable install), else None."""
    here = Path(__file__).resolve().parents[2]
    return here if (here / "pyproject.toml").is_file() and (here / "generator").is_dir() else None


def resource(name: str) -> Traversable:
    """The shipped file or folder `name` ("templates", "theme", "mkdocs.yml", "examples/offline", ...)."""
    packaged = files(__name__).joinpath(*name.split("/"))
    if packaged.is_dir() or packaged.is_file():
        return packaged
    root = checkout_root()
    if root is not None and (root / name).exists():
        return root / name
    raise IncompleteInstallation(f"the folder or file {name!r}", packaged)


_extracted: dict[str, Path] = {}


def on_disk(name: str) -> Path:
    """`resource(name)` as a path on disk (extracted from a zip-safe install, once per process)."""
    return extracted(resource(name), name)


def on_disk_module(package: str, filename: str) -> Path:
    """A file of one of the package's modules (MkDocs loads its hooks from a path) as a path on disk."""
    return extracted(files(package) / filename, f"{package}/{filename}")


def extracted(found: Traversable, key: str) -> Path:
    if isinstance(found, Path):
        return found
    if key not in _extracted:
        folder = Path(tempfile.mkdtemp(prefix="xai-report-resources-"))
        atexit.register(shutil.rmtree, folder, True)
        _extracted[key] = copy_out(found, folder / found.name)
    return _extracted[key]


def copy_out(source: Traversable, target: Path) -> Path:
    if source.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        for child in source.iterdir():
            copy_out(child, target / child.name)
    else:
        target.write_bytes(source.read_bytes())
    return target


def templates_dir() -> Path:
    return on_disk("templates")


def theme_dir() -> Path:
    return on_disk("theme")
