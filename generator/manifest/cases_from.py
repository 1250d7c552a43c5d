"""`cases_from`: cases generated from folders of images and CSV tables, expanded when the manifest is loaded.

The rest of the build sees ordinary `cases`: `expand_cases_from` turns the sources into case entries, merges the
manifest's own `cases` over them by id, and remembers where each entry came from, so that a schema problem of a
generated case names its folder and file or its table and row instead of an index the author never wrote.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from pydantic import TypeAdapter, ValidationError

from generator.manifest.paths import OutsideContent, confined
from generator.manifest.schema import (
    CASE_ID_PATTERN,
    IMAGE_SUFFIXES,
    CaseSource,
    CsvCases,
    FolderCases,
    check_image_path,
    slugify,
)

CSV_COLUMNS = ("image", "label", "title", "id", "targets")
TARGET_SEPARATOR = ";"
SUFFIX_LENGTH = 6  # hex digits of the path's hash that tell clashing ids apart
SOURCES: TypeAdapter[tuple[CaseSource, ...]] = TypeAdapter(tuple[CaseSource, ...])

CaseEntry = dict[str, object]


class SourceError(ValueError):
    """A whole source cannot be read (its folder or table is missing, empty or malformed)."""


@dataclass(frozen=True)
class CaseOrigin:
    """Where a case entry comes from, as its problems name it."""

    where: str  # "cases[2]", or "cases_from[0] (images/val/tabby/1.jpg)", or "cases_from[1] (cases.csv, row 3)"
    listed: bool = False  # an entry of `cases:` as written, whose keys read "cases[2].label"

    @property
    def by_hand(self) -> bool:
        """An entry of `cases:` (an addition, or an override of a generated case), not a generated case alone."""
        return self.where.startswith("cases[")

    def locate(self, key_path: str) -> str:
        if not key_path:
            return self.where
        return f"{self.where}.{key_path}" if self.listed else f"{self.where}: {key_path}"


@dataclass
class Expansion:
    """The case entries that replace the manifest's `cases`, where each came from, and the problems found."""

    cases: list[object] = field(default_factory=list)
    origins: list[CaseOrigin] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass
class Generated:
    """One case from a source, before ids are given out."""

    image: str  # relative to the manifest's folder, as the case's `image`
    origin: CaseOrigin
    name: str  # the path its id is derived from, without the image suffix
    label: str | int | None = None
    title: str | None = None
    targets: tuple[str | int, ...] = ()
    given_id: str | None = None

    def entry(self, case_id: str) -> CaseEntry:
        entry: CaseEntry = {"image": self.image, "id": case_id}
        entry |= {"label": self.label} if self.label is not None else {}
        entry |= {"title": self.title} if self.title is not None else {}
        entry |= {"targets": list(self.targets)} if self.targets else {}
        return entry


def expand_cases_from(data: dict[str, object], content_dir: str | os.PathLike[str]) -> Expansion | None:
    """The manifest's cases with its `cases_from` expanded; None when it has none (or they cannot be merged)."""
    if "cases_from" not in data:
        return None
    listed = data.get("cases", [])
    if not isinstance(listed, list):
        return None  # the schema reports the `cases` that is not a list
    try:
        sources = SOURCES.validate_python(data["cases_from"])
    except ValidationError:
        # the schema reports the sources' problems with their key paths; without sources, no entry of `cases` can
        # be told an override from an addition, so they wait for the sources to be fixed
        return Expansion()
    expansion = Expansion()
    generated: list[Generated] = []
    for index, source in enumerate(sources):
        try:
            generated += read_source(index, source, Path(content_dir), expansion.problems)
        except SourceError as error:
            expansion.problems.append(f"{source_where(index, source)}: {error}")
    for item, case_id in zip(generated, give_ids(generated, expansion.problems)):
        expansion.cases.append(item.entry(case_id))
        expansion.origins.append(item.origin)
    merge_listed(expansion, listed)
    return expansion


def source_where(index: int, source: FolderCases | CsvCases) -> str:
    return f"cases_from[{index}] ({source.folder if isinstance(source, FolderCases) else source.csv})"


def read_source(index: int, source: FolderCases | CsvCases, content_dir: Path, problems: list[str]) -> list[Generated]:
    if isinstance(source, FolderCases):
        return read_folder(index, source, content_dir, problems)
    return read_csv(index, source, content_dir, problems)


def read_folder(index: int, source: FolderCases, content_dir: Path, problems: list[str]) -> list[Generated]:
    folder = inside_path(source.folder, content_dir)
    if not folder.is_dir():
        hint = " (a table of cases is a `csv:` source)" if folder.is_file() else ""
        raise SourceError(f"folder not found: {source.folder}{hint}")
    pattern = glob_regex(nfc(source.glob)) if source.glob is not None else None  # names compared in NFC (macOS)
    found = [path for path in images_below(folder) if pattern is None or pattern.fullmatch(nfc(path.as_posix()))]
    if not found:
        raise SourceError(
            f"no image below the folder matches glob {source.glob!r}"
            if pattern is not None
            else f"no image below the folder (image suffixes: {', '.join(sorted(IMAGE_SUFFIXES))})"
        )
    root = content_dir.resolve()
    base = PurePosixPath(source.folder.replace("\\", "/"))
    cases = []
    for relative in found:
        image = (base / relative).as_posix()
        origin = CaseOrigin(f"cases_from[{index}] ({image})")
        try:
            check_image_path(image, content_dir)
        except ValueError as error:  # a link that leads out of the content folder
            problems.append(f"{origin.where}: {error}")
            continue
        label = nfc((root / image).parent.name) if source.label == "folder" else None
        name = relative.with_suffix("").as_posix()
        cases.append(Generated(image, origin, name, label=label, title=nfc(name)))
    return cases


def images_below(folder: Path) -> list[PurePosixPath]:
    """Every image file below `folder` (links to folders not followed, hidden files and folders skipped), as paths
    relative to it, sorted."""
    found = []
    for current, folders, files in os.walk(folder):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        here = PurePosixPath(Path(current).relative_to(folder).as_posix())
        found += [
            here / name
            for name in files
            if not name.startswith(".") and PurePosixPath(name).suffix.lower() in IMAGE_SUFFIXES
        ]
    return sorted(found, key=lambda path: path.as_posix())


def read_csv(index: int, source: CsvCases, content_dir: Path, problems: list[str]) -> list[Generated]:
    rows = csv_rows(inside_path(source.csv, content_dir), source.csv)
    header = [nfc(name.strip()).lower() for name in next(rows, [])]
    if not any(header):
        raise SourceError("the table is empty: it needs a header row with an 'image' column")
    check_header(header)
    cases: list[Generated] = []
    given_rows: dict[str, int] = {}
    for number, cells in enumerate(rows, start=2):
        where = f"cases_from[{index}] ({source.csv}, row {number})"
        if not any(cell.strip() for cell in cells):
            continue
        try:
            case = csv_case(header, cells, CaseOrigin(where), content_dir)
        except ValueError as error:
            problems.append(f"{where}: {error}")
            continue
        if case.given_id is not None:
            if case.given_id in given_rows:
                problems.append(f"{where}: id {case.given_id!r} is already row {given_rows[case.given_id]}'s")
                continue
            given_rows[case.given_id] = number
        cases.append(case)
    if not cases and not problems:
        raise SourceError("no rows below the header")
    return cases


def csv_rows(path: Path, name: str) -> Iterator[list[str]]:
    if not path.is_file():
        raise SourceError(f"file not found: {name}")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")  # a spreadsheet's "CSV UTF-8" starts with a byte order mark
    except UnicodeDecodeError as error:
        raise SourceError(f"not UTF-8 text (byte {error.start}): save the table as CSV UTF-8") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        rows = list(reader)
    except csv.Error as error:
        raise SourceError(f"not a CSV table (line {reader.line_num}): {error}") from None
    return iter(rows)


def check_header(header: list[str]) -> None:
    unknown = [name for name in header if name not in CSV_COLUMNS]
    if unknown:
        raise SourceError(f"unknown column {unknown[0]!r} (the columns are: {', '.join(CSV_COLUMNS)})")
    repeated = [name for name in CSV_COLUMNS if header.count(name) > 1]
    if repeated:
        raise SourceError(f"column {repeated[0]!r} appears twice in the header")
    if "image" not in header:
        raise SourceError(f"no 'image' column (the header has: {', '.join(header)})")


def csv_case(header: list[str], cells: list[str], origin: CaseOrigin, content_dir: Path) -> Generated:
    if len(cells) > len(header):
        raise ValueError(f"{len(cells)} cells, but the header has {len(header)} columns")
    row = {name: cell.strip() for name, cell in zip(header, cells)}
    image = row.get("image", "")
    if not image:
        raise ValueError("the image cell is empty")
    try:
        check_image_path(image, content_dir)
    except ValueError as error:
        raise ValueError(f"image: {error}") from None
    targets = tuple(class_ref(item.strip()) for item in row.get("targets", "").split(TARGET_SEPARATOR) if item.strip())
    return Generated(
        image,
        origin,
        PurePosixPath(image.replace("\\", "/")).with_suffix("").as_posix(),
        label=class_ref(row["label"]) if row.get("label") else None,
        title=row.get("title") or None,
        targets=targets,
        given_id=row.get("id") or None,
    )


def class_ref(cell: str) -> str | int:
    """A class as YAML would read it: digits are an index, anything else a name."""
    return int(cell) if cell.isdigit() else nfc(cell)


def give_ids(generated: list[Generated], problems: list[str]) -> list[str]:
    """Each case's id: its given one, or the slug of its path; a slug already taken (by a given id or an earlier
    case) gets a short suffix from the hash of the image's path, the same in every build."""
    taken = {item.given_id for item in generated if item.given_id is not None}
    ids = []
    for item in generated:
        if item.given_id is not None:
            ids.append(item.given_id)
            continue
        case_id = slug_of(item.name)
        attempt = 0
        while case_id in taken:
            attempt += 1
            case_id = suffixed(slug_of(item.name), f"{nfc(item.image)}#{attempt}" if attempt > 1 else nfc(item.image))
        taken.add(case_id)
        ids.append(case_id)
    return ids


def slug_of(name: str) -> str:
    """A case id from a path: accents dropped (tête -> tete), anything but letters and digits a hyphen."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return slugify(ascii_name)


def suffixed(slug: str, key: str) -> str:
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:SUFFIX_LENGTH]
    case_id = f"{slug[: 63 - SUFFIX_LENGTH].rstrip('-_')}-{digest}"
    assert CASE_ID_PATTERN.match(case_id), case_id
    return case_id


def merge_listed(expansion: Expansion, listed: list[object]) -> None:
    """An entry of `cases` whose id is a generated case's overrides that case's keys, in its place; any other
    entry adds a case after the generated ones."""
    position = {entry["id"]: index for index, entry in enumerate(expansion.cases) if isinstance(entry, dict)}
    for number, entry in enumerate(listed):
        case_id = entry.get("id") if isinstance(entry, dict) else None
        index = position.pop(case_id, None) if isinstance(case_id, str) else None
        if isinstance(entry, dict) and index is not None:
            generated = expansion.cases[index]
            assert isinstance(generated, dict)
            expansion.cases[index] = {**generated, **entry}
            expansion.origins[index] = CaseOrigin(f"cases[{number}] over {expansion.origins[index].where}")
        else:
            expansion.cases.append(entry)
            expansion.origins.append(CaseOrigin(f"cases[{number}]", listed=True))


def inside_path(value: str, content_dir: Path) -> Path:
    """The folder or file `value` names, refused where it leaves the manifest's folder (as an image's path is)."""
    try:
        return content_dir.resolve() / confined(value, content_dir, "move it under the manifest's folder")
    except OutsideContent as error:
        raise SourceError(str(error)) from None


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob over paths relative to the folder: '*' and '?' within a name, '[...]' a character class, '**' any
    folders; a pattern without '/' matches the file name in any folder."""
    text = pattern.replace("\\", "/").strip("/")
    parts = text.split("/") if "/" in text else ["**", text]
    regex = ""
    for number, part in enumerate(parts):
        last = number == len(parts) - 1
        if part == "**":
            regex += ".*" if last else "(?:[^/]+/)*"
        else:
            regex += glob_segment(part) + ("" if last else "/")
    return re.compile(regex)


def glob_segment(segment: str) -> str:
    regex, index = "", 0
    while index < len(segment):
        char = segment[index]
        close = segment.find("]", index + 2) if char == "[" else -1
        if char == "*":
            regex += "[^/]*"
        elif char == "?":
            regex += "[^/]"
        elif close != -1:
            body = segment[index + 1 : close]
            body = "^" + body[1:] if body.startswith("!") else body
            regex += "[" + body.replace("\\", "\\\\") + "]"
            index = close
        else:
            regex += re.escape(char)
        index += 1
    return regex


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)
