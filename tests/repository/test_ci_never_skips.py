"""Under CI=true no test skips silently: a missing tool fails its test, an unlisted skip fails the run.

Each case runs pytest in a subprocess on a folder holding a copy of tests/conftest.py and
tests/allowed_skips.txt, so that the rule is the suite's own.
"""

import os
import shutil
import subprocess
import sys
import textwrap

from tests.helpers import REPO

TESTS = REPO / "tests"
SKIPS = """
    import pytest

    from tests import requires

    def test_passes():
        pass

    @pytest.mark.skipif(True, reason=requires.NO_BF16_CPU)
    def test_on_bf16_hardware():
        pass
"""
UNLISTED = """
    def test_skips_for_no_listed_reason():
        pytest.skip("the network is down")
"""
MISSING_TOOL = """
    def test_needs_a_tool():
        requires.module("no_such_module_anywhere", "Nosuchtool", "pip install nosuchtool")
"""
MISSING_AT_MODULE_LEVEL = """
    import pytest

    from tests import requires

    requires.module("no_such_module_anywhere", "Nosuchtool", "pip install nosuchtool")

    def test_never_collected():
        pass
"""


def run_suite(tmp_path, source, ci):
    for name in ("conftest.py", "allowed_skips.txt"):
        shutil.copy(TESTS / name, tmp_path / name)
    (tmp_path / "test_case.py").write_text(textwrap.dedent(source), encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    env.update(PYTHONPATH=os.pathsep.join([str(REPO), str(TESTS)]), **({"CI": "true"} if ci else {}))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_listed_skip_passes_in_ci(tmp_path):
    result = run_suite(tmp_path, SKIPS, ci=True)
    assert result.returncode == 0, result.stdout
    assert "1 passed, 1 skipped" in result.stdout


def test_an_unlisted_skip_fails_the_run_in_ci_and_only_there(tmp_path):
    result = run_suite(tmp_path, SKIPS + UNLISTED, ci=True)
    assert result.returncode == 1, result.stdout
    assert "CI=true: 1 skip(s) that allowed_skips.txt does not allow" in result.stdout
    assert "test_case.py::test_skips_for_no_listed_reason: the network is down" in result.stdout
    assert run_suite(tmp_path, SKIPS + UNLISTED, ci=False).returncode == 0


def test_a_missing_tool_skips_locally_and_fails_in_ci(tmp_path):
    local = run_suite(tmp_path, SKIPS + MISSING_TOOL, ci=False)
    assert local.returncode == 0, local.stdout
    assert "Nosuchtool is missing: pip install nosuchtool" in local.stdout
    ci = run_suite(tmp_path, SKIPS + MISSING_TOOL, ci=True)
    assert ci.returncode == 1, ci.stdout
    assert "1 failed, 1 passed, 1 skipped" in ci.stdout
    assert "CI=true and Nosuchtool is missing: pip install nosuchtool" in ci.stdout


def test_a_module_missing_a_tool_fails_its_collection_in_ci(tmp_path):
    local = run_suite(tmp_path, MISSING_AT_MODULE_LEVEL, ci=False)
    assert local.returncode == 5, local.stdout  # its one module skipped: no test collected
    assert "1 skipped" in local.stdout
    ci = run_suite(tmp_path, MISSING_AT_MODULE_LEVEL, ci=True)
    assert ci.returncode == 2, ci.stdout  # a collection error interrupts the run
    assert "CI=true and Nosuchtool is missing" in ci.stdout
