"""The tool as a user installs it: a wheel built from the repository's files (tests/repository/test_packaging.py,
tests/builds/test_installed_tool.py)."""

import os
import shutil
import subprocess
import sys

from tests.helpers import REPO

QUIET_PIP = {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}


def run(*command, cwd=None, env=None):
    environment = {**os.environ, **QUIET_PIP, **(env or {})}
    done = subprocess.run([*map(str, command)], cwd=cwd, capture_output=True, text=True, env=environment)
    assert done.returncode == 0, f"{' '.join(map(str, command))} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def repository_files():
    """The working tree's files that git does not ignore: what a commit of everything would hold, so that a file
    not yet committed counts during development, and a generated page or cache never does."""
    listed = run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=REPO).split("\0")
    return sorted(name for name in listed if name and (REPO / name).is_file())  # a deleted file is still listed


def copy_of_repository(folder, files):
    """A copy of the repository's files, without the checkout's build leftovers (build/, *.egg-info)."""
    for name in files:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, folder / name)
    return folder


def build_wheel(source, out):
    """The wheel of `source`, built offline without build isolation (setuptools is installed)."""
    run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", out, source
    )
    (built,) = out.glob("*.whl")
    return built
