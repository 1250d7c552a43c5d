"""Paths the manifest names (an image, a folder or a table of cases), kept inside the manifest's folder."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath


class OutsideContent(ValueError):
    """A path that leaves the manifest's folder: absolute, through '..', or a link that leads out of it."""


def confined(value: str, content_dir: Path | None, move_hint: str) -> PurePosixPath:
    """`value` as a relative path, refused where it leaves `content_dir` (links resolved; without a folder, the
    path's own form only). `move_hint` says how to bring the file in."""
    path = PurePosixPath(value.replace("\\", "/"))
    if path.is_absolute() or re.match(r"^[A-Za-z]:", value):
        raise OutsideContent(f"absolute path {value!r} not allowed: give a path relative to the manifest's folder")
    if ".." in path.parts:
        raise OutsideContent(f"path {value!r} leaves the content folder: {move_hint}")
    if content_dir is not None:
        root = Path(content_dir).resolve()
        full = (root / path).resolve()
        if not full.is_relative_to(root):
            raise OutsideContent(f"{value!r} is a link that points outside the content folder ({full}): {move_hint}")
    return path
