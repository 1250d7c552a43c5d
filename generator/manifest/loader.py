"""Read a manifest file: safe YAML, bounded size, and every schema problem reported with its key path."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from generator.manifest.cases_from import CaseOrigin, expand_cases_from
from generator.manifest.schema import CASE_SOURCE_TAGS, EXPLAINER_SECTIONS, METRIC_FIELDS, MODEL_SOURCES, Manifest
from generator.manifest.sections import model_source_names
from generator.utils.errors import ManifestError

MAX_MANIFEST_BYTES = 1_000_000
MAX_EXPANDED_NODES = 100_000


def load_manifest(path: str | os.PathLike[str]) -> Manifest:
    """Load and validate a manifest; raise ManifestError listing every problem.

    Every method's section and every model source's name are known here, whatever the caller imported: their
    packages are imported by name (generator/manifest/sections.py), as a plugin host loads its plugins.
    """
    path = Path(path)
    if not path.is_file():
        raise ManifestError(
            path, [f"manifest not found: {path} (pass --manifest PATH, or start a report with `xai-report new DIR`)"]
        )
    raw = path.read_bytes()
    if len(raw) > MAX_MANIFEST_BYTES:
        raise ManifestError(path, [f"manifest is {len(raw)} bytes; the limit is {MAX_MANIFEST_BYTES}"])
    data = parse_yaml(path, raw)
    if data is None:
        raise ManifestError(path, ["the manifest is empty: it needs at least a 'cases' list"])
    if not isinstance(data, dict):
        raise ManifestError(path, [f"the manifest must be a mapping of keys, got a {type(data).__name__}"])
    expansion = expand_cases_from(data, path.parent)
    if expansion is not None:
        data = {**data, "cases": expansion.cases}
    problems = expansion.problems if expansion is not None else []
    EXPLAINER_SECTIONS.load()
    METRIC_FIELDS.load()
    context = {"content_dir": path.parent, MODEL_SOURCES: model_source_names()}
    try:
        manifest = Manifest.model_validate(data, context=context)
    except ValidationError as error:
        problems += format_validation_errors(error, expansion.origins if expansion is not None else None)
    if problems:
        raise ManifestError(path, problems)
    if expansion is not None:  # beside cases_from, the entries of `cases:` are the ones written by hand
        origins = zip(manifest.cases, expansion.origins, strict=True)
        manifest = manifest.with_by_hand(frozenset(case.case_id for case, origin in origins if origin.by_hand))
    return manifest


def parse_yaml(path: Path, raw: bytes) -> object:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ManifestError(path, [f"not UTF-8 text (byte {error.start}): save the manifest as UTF-8"]) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is None:
            return None
        expanded = count_expanded_nodes(node)
        if expanded > MAX_EXPANDED_NODES:
            raise ManifestError(
                path,
                [
                    f"YAML aliases expand to {expanded:,}+ values (limit {MAX_EXPANDED_NODES:,}): "
                    "remove the anchors/aliases"
                ],
            )
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        raise ManifestError(path, [f"YAML syntax error at {where}: {error.problem or error.context}"]) from None
    except yaml.YAMLError as error:
        raise ManifestError(path, [f"YAML error: {error}"]) from None


def count_expanded_nodes(root: yaml.Node) -> int:
    """Size of the document once aliases are expanded, computed without expanding it (stops past the limit)."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node, depth: int = 0) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        if depth > 200:
            return MAX_EXPANDED_NODES + 1
        total = 1
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [item for pair in node.value for item in pair]
        else:
            children = []
        for child in children:
            total += size(child, depth + 1)
            if total > MAX_EXPANDED_NODES:
                break
        sizes[id(node)] = total
        return total

    return size(root)


def format_location(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def format_validation_errors(error: ValidationError, case_origins: Sequence[CaseOrigin] | None = None) -> list[str]:
    """One line per problem, each with its key path; `case_origins` names where each of `cases` came from (a
    folder's file, a table's row) when cases_from generated them."""
    problems = []
    items = error.errors(include_url=False)
    for item in items:
        loc = without_tags(tuple(part for part in item["loc"] if part not in ("int", "str", *CASE_SOURCE_TAGS)))
        if item["type"] == "too_short" and any(is_inside(other["loc"], item["loc"]) for other in items):
            continue  # the list only looks empty because its items failed; those errors say why
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key (check its spelling; `python -m generator schema` lists every key)"
        elif item["type"] == "missing":
            message = "required key is missing"
        elif item["type"] == "too_short":
            message = f"must list at least {item['ctx']['min_length']} item(s)"
        problems.append(f"{locate(loc, case_origins)}: {message}")
    return list(dict.fromkeys(problems))


def without_tags(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """A tagged union's tag followed by its field of the same name (regions.cat.box.box) read once (.box)."""
    return tuple(part for i, part in enumerate(loc) if i + 1 == len(loc) or loc[i + 1] != part)


def locate(loc: Sequence[int | str], case_origins: Sequence[CaseOrigin] | None) -> str:
    if case_origins and len(loc) > 1 and loc[0] == "cases" and isinstance(loc[1], int) and loc[1] < len(case_origins):
        return case_origins[loc[1]].locate(format_location(loc[2:]) if len(loc) > 2 else "")
    return format_location(loc)


def is_inside(loc: Sequence[int | str], parent: Sequence[int | str]) -> bool:
    return len(loc) > len(parent) and tuple(loc[: len(parent)]) == tuple(parent)


def manifest_json_schema() -> str:
    """The manifest's JSON Schema, every method's section in it and the model sources as `source:`'s enum."""
    EXPLAINER_SECTIONS.load()
    METRIC_FIELDS.load()
    schema: dict[str, Any] = Manifest.model_json_schema()
    schema["$defs"]["ModelSpec"]["properties"]["source"]["enum"] = list(model_source_names())
    return json.dumps(schema, indent=2)
