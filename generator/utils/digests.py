"""Digests of files: the full sha256 (cache keys) and its short form (weights and code in model identities)."""

from __future__ import annotations

import hashlib
import os

SHORT_DIGEST = 16  # hex digits of a short digest: a model's weights, file or code


def file_digest(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """The sha256 of a file's bytes, read `chunk` bytes at a time (64 hex digits)."""
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            sha.update(block)
    return sha.hexdigest()


def short_file_digest(path: str | os.PathLike[str]) -> str:
    """The first SHORT_DIGEST hex digits of `file_digest`."""
    return file_digest(path)[:SHORT_DIGEST]
