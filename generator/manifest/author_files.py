"""The files the author writes: a discussion per case, and the report's introduction, conclusion and model notes.

The generator creates each one once, as a stub whose comment says what to write, and never changes or
deletes it. Pages include them with pymdownx.snippets, so `mkdocs serve` shows an edit at once.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Protocol

from generator.utils.atomic import write_text

DISCUSSION_DIR = "discussion"
REPORT_DIR = f"{DISCUSSION_DIR}/report"
INTRODUCTION = f"{REPORT_DIR}/introduction.md"
CONCLUSION = f"{REPORT_DIR}/conclusion.md"
OWNERSHIP = "This file is yours: xai-report created it once and will never change or delete it."

CASE_STUB = """<!--
{ownership}
Write the discussion of case '{case_id}' below, in Markdown. For example:
  - What does each model predict, and is it right? Why might they disagree?
  - Where does each model look: the object, a part of it, or its context (the desk, the sky)?
    Mark the places you name as `regions:` in the manifest: the page's Regions section then
    measures how much of each map lies on them (no model runs again).
  - Do the explanation methods agree? Do the measured numbers above (how focused each map is, how
    much the maps overlap, how each compares with the random baseline) support what you see?
  - Why might the deeper model look elsewhere than the shallower one?
`mkdocs serve` shows your edits at once; no model needs to run again.
-->

*No discussion written yet.*
"""
INTRODUCTION_STUB = """<!--
{ownership}
Write the report's introduction below, in Markdown; the overview shows it under the title. For example:
  - What question does the report answer: which models, which photos, and why these?
  - What should a reader look for on the case pages?
-->

*No introduction written yet.*
"""
CONCLUSION_STUB = """<!--
{ownership}
Write the report's conclusion below, in Markdown; the overview ends with it. For example:
  - Across the cases, where does each model look: the object, its parts, or its context?
  - Do the explanation methods tell the same story, and where do they part?
  - Why might the deeper model differ, and do the measurements on the overview back that up?
-->

*No conclusion written yet.*
"""
MODEL_STUB = """<!--
{ownership}
Write a note on the model '{label}' below, in Markdown; the methods page shows it beside its settings.
For example: its architecture and depth, what it was trained on, and what you expect it to attend to.
-->

*No note on this model written yet.*
"""


class NotedModel(Protocol):
    """A model the report has a note on (generator.run.models.LoadedModel, a later stage)."""

    @property
    def key(self) -> str: ...
    @property
    def label(self) -> str: ...


def case_discussion_path(case_id: str) -> str:
    return f"{DISCUSSION_DIR}/{case_id}.md"


def model_note_path(model_key: str) -> str:
    return f"{REPORT_DIR}/models/{model_key}.md"


def author_stubs(case_ids: Iterable[str], models: Iterable[NotedModel]) -> dict[str, str]:
    """{path relative to the content folder: stub text} of every author file the report includes."""
    stubs = {
        INTRODUCTION: INTRODUCTION_STUB.format(ownership=OWNERSHIP),
        CONCLUSION: CONCLUSION_STUB.format(ownership=OWNERSHIP),
    }
    for model in models:
        stubs[model_note_path(model.key)] = MODEL_STUB.format(ownership=OWNERSHIP, label=model.label)
    for case_id in case_ids:
        stubs[case_discussion_path(case_id)] = CASE_STUB.format(ownership=OWNERSHIP, case_id=case_id)
    return stubs


def ensure_stubs(content_dir: str | os.PathLike[str], stubs: Mapping[str, str]) -> list[Path]:
    """Create each stub whose file does not exist; never touch an existing file. Returns those created."""
    created = []
    for relative, text in stubs.items():
        path = Path(content_dir) / relative
        if not path.exists():
            write_text(path, text)
            created.append(path)
    return created


def orphaned_author_files(
    content_dir: str | os.PathLike[str], case_ids: Iterable[str], model_keys: Iterable[str]
) -> list[Path]:
    """Discussions and model notes whose case or model left the manifest (kept, but worth a warning)."""
    content_dir = Path(content_dir)
    expected = {content_dir / case_discussion_path(c) for c in case_ids}
    expected |= {content_dir / model_note_path(k) for k in model_keys}
    found = sorted((content_dir / DISCUSSION_DIR).glob("*.md")) + sorted(
        (content_dir / REPORT_DIR / "models").glob("*.md")
    )
    return [path for path in found if path not in expected]
