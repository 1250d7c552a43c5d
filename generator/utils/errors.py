"""The one exception root the command line turns into a message and an exit code.

Exit codes (documented in the README):
  0  success
  1  the build failed (weights missing, an image unreadable, a model error, ...)
  2  bad manifest or bad command-line usage
  130 interrupted (Ctrl-C or SIGTERM); the previous site is intact
"""

from __future__ import annotations

import os
from collections.abc import Iterable

EXIT_BUILD_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class ReportError(Exception):
    """A problem the user can fix; its message says what, where and how."""

    exit_code: int = EXIT_BUILD_FAILED


class ManifestError(ReportError):
    """The manifest is invalid; carries every problem found, each with its key path."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, manifest_path: str | os.PathLike[str], problems: Iterable[str]) -> None:
        self.manifest_path = manifest_path
        self.problems = list(problems)
        lines = [f"{manifest_path}: {len(self.problems)} problem(s):"]
        lines += [f"  {problem}" for problem in self.problems]
        super().__init__("\n".join(lines))


class UsageError(ReportError):
    """The command line asks for something that cannot be (an unknown case id, a missing config)."""

    exit_code = EXIT_BAD_INPUT


class WeightsError(ReportError):
    """A model's weights cannot be found, downloaded or loaded."""


class CaseError(ReportError):
    """One case cannot be built (its image is unreadable, a model fails on it, ...)."""

    def __init__(self, case_id: str, message: str, model: str | None = None) -> None:
        self.case_id = case_id
        self.model = model
        where = f"case '{case_id}'" + (f", model '{model}'" if model else "")
        super().__init__(f"{where}: {message}")
