"""`xai-report new DIR`: a report folder that builds, previews and publishes as it is written.

Its files come from the package's resources (generator/resources/scaffold/ and the offline example), read with
`resource`, so an installed tool writes the same folder as a checkout. Every file is read before the first is
written, and none is ever overwritten: with --force an author's own manifest or workflow stays theirs.

No `discussion/` is written: the first build creates every discussion stub itself (introduction, conclusion,
one per case and per model, named by keys only the build derives), and a stub written here for the sample case
would be left behind, as an orphan, once the author replaces that case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from generator.resources import IncompleteInstallation, resource
from generator.utils.atomic import write_bytes
from generator.utils.errors import ReportError, UsageError
from generator.utils.version import __version__

# the examples `--example` copies, each with the pip extra its models need
EXAMPLE_EXTRAS = {"offline": "offline"}
# the default scaffold's photos, from the offline example's images: a first build needs no photo from the network
SCAFFOLD_EXAMPLE = "offline"
SCAFFOLD_PHOTOS = ("chelsea.png",)
ATTRIBUTION = "ATTRIBUTION.md"
# template in generator/resources/scaffold/ -> its path in the report folder; the templates' names carry no
# leading dot because setuptools' package-data globs leave hidden files out of the wheel
TEMPLATES = {
    "README.md": "README.md",
    "gitignore": ".gitignore",
    "pages.yml": ".github/workflows/pages.yml",
}
REQUIREMENT_PLACEHOLDER = "@REQUIREMENT@"


@dataclass(frozen=True)
class ScaffoldFile:
    path: PurePosixPath  # relative to the report folder
    data: bytes


@dataclass(frozen=True)
class ScaffoldResult:
    folder: Path
    written: tuple[PurePosixPath, ...]
    kept: tuple[PurePosixPath, ...]  # existed already (with --force): left exactly as they were
    requirement: str  # what to pip install to build this folder


def requirement(example: str | None) -> str:
    """The pinned pip requirement that builds the folder: this very version, with the example's extra."""
    extra = f"[{EXAMPLE_EXTRAS[example]}]" if example else ""
    return f"xai-report{extra}=={__version__}"


def create_report_folder(folder: Path, example: str | None = None, force: bool = False) -> ScaffoldResult:
    """Write a report folder at `folder` (created if missing), or fill the gaps of a non-empty one with `force`."""
    check_example(example)
    refuse_unless_empty(folder, force)
    files = scaffold_files(example)
    written, kept = [], []
    for file in files:
        target = folder / file.path
        if target.exists() or target.is_symlink():
            kept.append(file.path)
            continue
        try:
            write_bytes(target, file.data)
        except OSError as error:
            raise ReportError(
                f"cannot write {target}: {error.strerror or error}; check that {folder} is writable"
            ) from None
        written.append(file.path)
    return ScaffoldResult(folder, tuple(written), tuple(kept), requirement(example))


def check_example(example: str | None) -> None:
    if example is not None and example not in EXAMPLE_EXTRAS:
        raise UsageError(f"--example {example!r}: no such example; choose one of: {', '.join(EXAMPLE_EXTRAS)}")


def refuse_unless_empty(folder: Path, force: bool) -> None:
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} is a file, not a folder: choose another folder for the report")
    if not force and folder.is_dir() and any(folder.iterdir()):
        raise UsageError(
            f"{folder} is not empty: choose a new or empty folder, or pass --force to add the missing files "
            "to it (no existing file is overwritten)"
        )


def scaffold_files(example: str | None = None) -> list[ScaffoldFile]:
    """Every file of the report folder, read from the package's resources, in the order they are written."""
    source = example or SCAFFOLD_EXAMPLE
    images = f"examples/{source}/images"
    if example is None:
        manifest = resource("scaffold/manifest.yaml").read_bytes()
        photos: Sequence[str] = SCAFFOLD_PHOTOS
    else:
        manifest = resource(f"examples/{example}/manifest.yaml").read_bytes()
        photos = sorted(item.name for item in resource(images).iterdir() if item.is_file() and item.name != ATTRIBUTION)
    credits = attribution_for(resource(f"{images}/{ATTRIBUTION}").read_text(encoding="utf-8"), photos)
    files = [ScaffoldFile(PurePosixPath("manifest.yaml"), manifest)]
    files += [ScaffoldFile(PurePosixPath("images", name), resource(f"{images}/{name}").read_bytes()) for name in photos]
    files.append(ScaffoldFile(PurePosixPath("images", ATTRIBUTION), credits.encode("utf-8")))
    pinned = requirement(example)
    for template, target in TEMPLATES.items():
        text = resource(f"scaffold/{template}").read_text(encoding="utf-8")
        files.append(ScaffoldFile(PurePosixPath(target), text.replace(REQUIREMENT_PLACEHOLDER, pinned).encode("utf-8")))
    return files


def attribution_for(text: str, photos: Sequence[str]) -> str:
    """ATTRIBUTION.md with only the table rows of `photos`: its prose, the table's header, and each photo's row.

    A table's first two lines are its header and separator; each later row names its photo in its first cell.
    """
    lines, credited, table_line = [], set(), 0
    for line in text.splitlines(keepends=True):
        table_line = table_line + 1 if line.startswith("|") else 0
        if table_line > 2:
            photo = line.split("|")[1].strip()
            if photo not in photos:
                continue
            credited.add(photo)
        lines.append(line)
    uncredited = sorted(set(photos) - credited)
    if uncredited:
        raise IncompleteInstallation(f"the credit of {', '.join(uncredited)}", ATTRIBUTION)
    return "".join(lines)
