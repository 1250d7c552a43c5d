"""The tools and hardware a test needs: missing, a test skips here and fails under CI=true.

CI (.ci/run) installs every tool a test needs, so a missing tool there is a broken install, not a
reason to go green with the test left out. A missing piece of hardware may skip in CI too, but only
with a reason that tests/allowed_skips.txt lists (tests/conftest.py fails the run on any other skip).
"""

import importlib
import os

import pytest

from generator.publish.pdf import chromium_path
from generator.utils.errors import ReportError

IN_CI = os.environ.get("CI", "").lower() == "true"
TEST_EXTRAS = "pip install -e '.[test]'"
# Reasons for hardware skips, as tests/allowed_skips.txt lists them: skipif(..., reason=NO_CUDA_GPU)
NO_CUDA_GPU = "no CUDA GPU on this machine"
NO_BF16_CPU = "this CPU has no native bf16"


def missing(tool, how_to_install):
    """Skip the test (or the module, when called at its top) for want of `tool`; fail it under CI=true."""
    message = f"{tool} is missing: {how_to_install}"
    if IN_CI:
        pytest.fail(f"CI=true and {message} (CI installs every tool; a skip would hide the tests)", pytrace=False)
    pytest.skip(message, allow_module_level=True)


def module(name, tool, how_to_install=TEST_EXTRAS):
    """The imported module `name` (part of `tool`), or missing(tool)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        pass
    missing(tool, how_to_install)


def chromium():
    """The Chromium that `--pdf` prints with (generator.publish.pdf: $XAI_REPORT_CHROMIUM, else the PATH)."""
    try:
        return chromium_path()
    except ReportError as error:
        problem = str(error)
    missing("Chromium", problem)
