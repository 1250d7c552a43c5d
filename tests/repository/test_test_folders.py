"""The tests mirror the package: one folder per stage of generator/ (manifest, run, explain, measure, render, cache,
utils, publish), and one per kind that spans them (builds, browser, repository); pytest collects every one."""

import fnmatch

from tests.helpers import REPO

TESTS = REPO / "tests"
KINDS = {"builds", "browser", "repository"}  # end-to-end builds, Chromium, checks of the repository itself


def folders_with_tests():
    return sorted({path.parent for path in TESTS.rglob("test_*.py")})


def test_every_test_file_sits_in_a_stage_or_kind_folder():
    stages = {path.name for path in (REPO / "generator").iterdir() if (path / "__init__.py").is_file()}
    misplaced = [
        str(folder.relative_to(TESTS))
        for folder in folders_with_tests()
        if folder.parent != TESTS or folder.name not in stages | KINDS
    ]
    assert misplaced == []


def test_pytest_descends_into_every_test_folder(pytestconfig):
    """A folder named like one pytest skips (`build`, `dist`, ...) would drop its tests without a word."""
    skipped = pytestconfig.getini("norecursedirs")
    hidden = [
        folder.name
        for folder in folders_with_tests()
        if any(fnmatch.fnmatch(folder.name, pattern) for pattern in skipped)
    ]
    assert hidden == []


def test_the_folder_check_sees_a_folder_pytest_skips(pytestconfig):
    assert any(fnmatch.fnmatch("build", pattern) for pattern in pytestconfig.getini("norecursedirs"))
