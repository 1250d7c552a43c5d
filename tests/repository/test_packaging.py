"""The installable tool: pyproject.toml lists every package of generator/; the wheel, built from the repository's
files, carries every module and every file a build reads (templates, theme, the offline example, the package's own
resources), and an installed wheel reads them from itself; the sdist carries what the wheel is built from; both pass
`twine check`; one version, generator/utils/version.py's, reaches the wheel, the sdist, the installed metadata and
`--version`.

Offline and fast: one wheel and one sdist per run, built without build isolation from a copy of the working tree's
files that git does not ignore (a few seconds)."""

import email.parser
import importlib.metadata
import sys
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

import pytest

import generator
from tests.helpers import REPO
from tests.requires import module
from tests.wheel import build_wheel, copy_of_repository, repository_files, run

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib  # a dependency of build (the test extra) below Python 3.11

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
DISTRIBUTION = "xai-report"
# The repository's top-level folders the wheel carries as package data of generator.resources, and where
# (pyproject.toml's [tool.setuptools.package-dir]); a checkout reads them in place (generator/resources/__init__.py).
MAPPED = {
    "templates": "generator.resources.templates",
    "theme": "generator.resources.theme",
    "examples/offline": "generator.resources.examples.offline",
}
# Of the offline example, its own files only: a build in the checkout writes its pages beside them.
EXAMPLE_FILES = ("examples/offline/manifest.yaml", "examples/offline/images/")
# one worker under -n 2, so that the module-scoped wheel and sdist are built once
pytestmark = pytest.mark.xdist_group("packaging")


def shipped_path(name):
    """Where the wheel holds the repository's file `name`; None for a file it should not carry."""
    if name.startswith("generator/"):
        return name
    for folder, package in MAPPED.items():
        if name.startswith(f"{folder}/"):
            if folder == "examples/offline" and not name.startswith(EXAMPLE_FILES):
                return None
            return package.replace(".", "/") + name[len(folder) :]
    return None


def expected_in_wheel(files):
    return {shipped_path(name): name for name in files if shipped_path(name) is not None}


@pytest.fixture(scope="module")
def files():
    return repository_files()


@pytest.fixture(scope="module")
def source(tmp_path_factory, files):
    return copy_of_repository(tmp_path_factory.mktemp("source"), files)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory, source):
    return build_wheel(source, tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="module")
def sdist(tmp_path_factory, source):
    module("build", "build (the PyPA build frontend)")
    out = tmp_path_factory.mktemp("sdist")
    run(sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", out, source)
    (built,) = out.glob("*.tar.gz")
    return built


def wheel_names(wheel):
    with zipfile.ZipFile(wheel) as archive:
        return {name for name in archive.namelist() if not name.endswith("/")}


def metadata(text):
    return email.parser.Parser().parsestr(text)


def test_every_package_of_generator_is_listed():
    packages = PYPROJECT["tool"]["setuptools"]["packages"]
    found = sorted(
        ".".join(folder.relative_to(REPO).parts)
        for folder in [REPO / "generator", *(REPO / "generator").rglob("*")]
        if (folder / "__init__.py").is_file() and "__pycache__" not in folder.parts
    )
    assert len(packages) == len(set(packages)), "pyproject.toml lists a package twice"
    assert sorted(packages) == sorted([*found, *MAPPED.values()])
    assert PYPROJECT["tool"]["setuptools"]["package-dir"] == {package: folder for folder, package in MAPPED.items()}


def test_the_packaging_check_maps_files_where_the_wheel_puts_them():
    assert shipped_path("generator/cli.py") == "generator/cli.py"
    assert shipped_path("generator/resources/mkdocs.yml") == "generator/resources/mkdocs.yml"
    assert shipped_path("templates/explainers/lime.section.md.j2") == (
        "generator/resources/templates/explainers/lime.section.md.j2"
    )
    assert (
        shipped_path("theme/assets/stylesheets/print.css") == "generator/resources/theme/assets/stylesheets/print.css"
    )
    assert (
        shipped_path("examples/offline/images/coffee.png") == "generator/resources/examples/offline/images/coffee.png"
    )
    assert shipped_path("examples/offline/manifest.yaml") == "generator/resources/examples/offline/manifest.yaml"
    assert shipped_path("examples/offline/discussion.md") is None
    assert shipped_path("templates.md") is None
    assert shipped_path("tests/conftest.py") is None and shipped_path("content/manifest.yaml") is None


def test_wheel_carries_every_module_and_resource(wheel, files):
    expected = expected_in_wheel(files)
    assert any(name.endswith(".j2") for name in expected) and any(name.startswith("theme/") for name in files)
    shipped = {name for name in wheel_names(wheel) if ".dist-info/" not in name}
    missing = sorted(expected[name] for name in set(expected) - shipped)
    assert missing == [], f"the wheel lacks (pyproject.toml's [tool.setuptools]): {', '.join(missing)}"
    extra = sorted(shipped - set(expected))
    assert extra == [], f"the wheel carries files that are not the repository's: {', '.join(extra)}"


def test_wheel_metadata_names_the_tool_and_its_version(wheel):
    with zipfile.ZipFile(wheel) as archive:
        info = f"xai_report-{generator.__version__}.dist-info"
        fields = metadata(archive.read(f"{info}/METADATA").decode("utf-8"))
        entry_points = archive.read(f"{info}/entry_points.txt").decode("utf-8")
    assert (fields["Name"], fields["Version"]) == (DISTRIBUTION, generator.__version__)
    assert wheel.name == f"xai_report-{generator.__version__}-py3-none-any.whl"
    assert "xai-report = generator.cli:main" in entry_points.splitlines()


def test_installed_wheel_reads_its_resources_from_itself(wheel, tmp_path):
    target = tmp_path / "site-packages"
    run(sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", target, wheel)
    # -S: no site-packages, where an editable install of this checkout would answer first; resources need none
    probe = (
        "import generator.resources as r\n"
        "print(r.checkout_root())\n"
        "for name in ('templates', 'theme', 'examples/offline'): print(r.on_disk(name))\n"
    )
    printed = run(sys.executable, "-S", "-c", probe, cwd=tmp_path, env={"PYTHONPATH": str(target)})
    root, *folders = printed.splitlines()
    assert root == "None"
    assert [Path(folder) for folder in folders] == [
        target / "generator" / "resources" / name for name in ("templates", "theme", "examples/offline")
    ]


def test_sdist_carries_what_the_wheel_is_built_from(sdist, files):
    top = f"xai_report-{generator.__version__}"
    with tarfile.open(sdist) as archive:
        held = {str(PurePosixPath(name).relative_to(top)) for name in archive.getnames() if name != top}
        fields = metadata(archive.extractfile(f"{top}/PKG-INFO").read().decode("utf-8"))
    needed = sorted({*expected_in_wheel(files).values(), "pyproject.toml", "README.md"} - held)
    assert needed == [], f"the sdist lacks files its wheel is built from: {', '.join(needed)}"
    assert (fields["Name"], fields["Version"]) == (DISTRIBUTION, generator.__version__)


def test_twine_accepts_both_artifacts(wheel, sdist):
    module("twine", "twine")
    printed = run(sys.executable, "-m", "twine", "check", "--strict", wheel, sdist)
    assert printed.count("PASSED") == 2


def test_version_option_prints_the_one_version():
    printed = run(sys.executable, "-m", "generator", "--version", cwd=REPO)
    assert printed == f"xai-report, version {generator.__version__}\n"


def test_installed_metadata_agrees_with_the_package():
    """The installed distribution (CI: `pip install -e '.[test]'`) says the version the package says."""
    try:
        installed = importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        pytest.fail(f"{DISTRIBUTION} is not installed: pip install -e .", pytrace=False)
    assert installed == generator.__version__


def test_a_zip_safe_install_reads_its_resources_from_the_archive(wheel, tmp_path):
    """A pure-Python wheel is importable as a zip: the resources come out of it onto disk, where MkDocs and Jinja
    read them."""
    probe = (
        "import generator.resources as r\n"
        "print(type(r.resource('templates')).__name__)\n"
        "print((r.templates_dir() / 'index.md.j2').is_file(), (r.theme_dir() / 'assets').is_dir())\n"
        "print(r.on_disk_module('generator.publish', 'mkdocs_hooks.py').read_text().count('def on_config'))\n"
        "print(r.resource('mkdocs.yml').read_text().startswith('#'))\n"
    )
    printed = run(sys.executable, "-S", "-c", probe, cwd=tmp_path, env={"PYTHONPATH": str(wheel)})
    assert printed.splitlines() == ["Path", "True True", "1", "True"]
