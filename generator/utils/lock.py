"""One build at a time per project: an advisory lock the OS releases when the process dies."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from generator.utils.errors import ReportError

LOCK_NAME = ".xai-report.lock"


class BuildLockedError(ReportError):
    """Another build holds the project's lock."""


@contextmanager
def build_lock(content_dir: str | os.PathLike[str]) -> Iterator[Path]:
    path = Path(content_dir) / LOCK_NAME
    handle = open(path, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise BuildLockedError(
                f"another build is already running on {content_dir} (pid {holder}); wait for it to finish. "
                f"The lock ({path}) is released automatically when that process ends."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield path
    finally:
        handle.close()
