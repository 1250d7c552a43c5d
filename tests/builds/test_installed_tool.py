"""The tool as a user installs it: the wheel in a fresh virtual environment (not editable, the checkout not on
sys.path), then, from an empty folder, `xai-report new myreport --example offline && cd myreport && xai-report
build`: the site with its overview, three case pages and print page, viewer, gallery and search working from
file:// in Chromium; `xai-report build --pdf`; `xai-report new` refusing a folder that is not empty.

A resource missing from the wheel fails here as the user would meet it (tests/repository/test_packaging.py lists
the wheel's files; this builds with them)."""

import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest
from playwright import sync_api

from tests.helpers import REPO
from tests.wheel import build_wheel, copy_of_repository, repository_files, run

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CASES = ("chelsea", "coffee", "grace-hopper")


@pytest.fixture(scope="module")
def tool(tmp_path_factory):
    """A virtual environment holding the wheel; the other dependencies are read from this interpreter's
    site-packages through a .pth line, which adds the folder without running its .pth files (the checkout's
    editable install among them)."""
    root = tmp_path_factory.mktemp("installed")
    wheel = build_wheel(copy_of_repository(root / "source", repository_files()), root / "dist")
    venv = root / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    purelib = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())
    (purelib / "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n", encoding="utf-8")
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel)
    return venv


def user_environment(venv):
    """The environment a user's shell gives the tool: its scripts first on PATH, nothing of the checkout."""
    environment = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "XAI_REPORT_CACHE_DIR")}
    return {**environment, "PATH": f"{venv / 'bin'}{os.pathsep}{environment.get('PATH', '')}", "VIRTUAL_ENV": str(venv)}


@pytest.fixture(scope="module")
def report(tool, tmp_path_factory):
    """`xai-report new myreport --example offline && cd myreport && xai-report build`, from an empty folder."""
    empty = tmp_path_factory.mktemp("empty")
    environment = user_environment(tool)
    run("xai-report", "new", "myreport", "--example", "offline", cwd=empty, env=environment)
    run("xai-report", "build", "-q", cwd=empty / "myreport", env=environment)
    return empty / "myreport"


def test_the_installed_tool_runs_from_the_wheel_alone(tool):
    probe = (
        "import sys, generator, generator.resources as r\n"
        "print(generator.__file__); print(r.checkout_root()); print(r.templates_dir())\n"
        f"print(any(p.startswith({str(REPO)!r}) for p in sys.path))\n"
    )
    module, checkout, templates, repository_on_path = run(
        tool / "bin" / "python", "-c", probe, cwd=tool, env=user_environment(tool)
    ).splitlines()
    assert Path(module).is_relative_to(tool) and Path(templates).is_relative_to(tool)
    assert (checkout, repository_on_path) == ("None", "False")


def test_new_then_build_writes_the_whole_site_into_the_report_folder(report):
    site_dir = report / "site"
    for page in (
        "index.html",
        "methods.html",
        "comparison.html",
        "print_page.html",
        *(f"cases/{c}.html" for c in CASES),
    ):
        assert (site_dir / page).is_file(), page
    assert "Offline example" in (site_dir / "index.html").read_text(encoding="utf-8")
    assert (report / ".cache" / "results").is_dir() and (report / "discussion").is_dir()
    assert not (site_dir / "README.html").exists() and not (site_dir / "manifest.yaml").exists()


@pytest.fixture
def file_page(browser):
    """A page whose errors are recorded: uncaught exceptions, console errors, requests that fail."""
    page = browser.new_page()
    problems = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda message: message.type == "error" and problems.append(f"console: {message.text}"))
    page.on("requestfailed", lambda request: problems.append(f"failed: {request.url} {request.failure}"))
    try:
        yield page, problems
    finally:
        page.close()


def test_viewer_works_from_the_file_system(report, file_page):
    page, problems = file_page
    page.goto((report / "site" / "cases" / "chelsea.html").as_uri(), wait_until="load")
    viewer = page.locator(".map-viewer")
    sync_api.expect(viewer).to_have_count(1)
    maps = viewer.locator("img.map-viewer-map")
    maps.first.evaluate("i => i.decode()")
    before = maps.first.get_attribute("src")
    models = viewer.locator("select[name=model]")
    models.select_option(models.locator("option").nth(1).get_attribute("value"))
    maps.first.evaluate("i => i.decode()")  # the other model's map, read from the file system
    assert maps.first.get_attribute("src") != before
    assert maps.first.evaluate("i => i.naturalWidth") > 0
    assert problems == []


def test_gallery_works_from_the_file_system(report, file_page):
    page, problems = file_page
    page.goto((report / "site" / "index.html").as_uri(), wait_until="load")
    cards = page.locator(".case-gallery .case-card")
    assert cards.count() == len(CASES)
    links = cards.locator("a.case-card-title").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert links == [f"cases/{case}.html" for case in CASES]
    thumbnails = cards.locator("img")
    for index in range(thumbnails.count()):
        thumbnails.nth(index).scroll_into_view_if_needed()
        thumbnails.nth(index).evaluate("i => i.decode()")
    assert problems == []


def test_search_works_from_the_file_system(report, file_page):
    page, problems = file_page
    page.goto((report / "site" / "index.html").as_uri(), wait_until="load")
    page.locator("input.md-search__input").click()
    page.keyboard.type("coffee")
    result = page.locator(".md-search-result__item a").first
    result.wait_for(timeout=15_000)
    assert "cases/coffee.html" in result.get_attribute("href")
    assert problems == []


def test_build_pdf_prints_the_report(report, tool):
    from pypdf import PdfReader

    run("xai-report", "build", "--pdf", "-q", cwd=report, env=user_environment(tool))
    text = " ".join(page.extract_text() for page in PdfReader(report / "site" / "report.pdf").pages)
    for title in ("Chelsea the cat", "A cup of coffee", "Grace Hopper in uniform"):
        assert title in " ".join(text.split())


def test_new_refuses_a_folder_that_is_not_empty_and_changes_nothing(report, tool):
    def snapshot():
        return {path: (path.stat().st_mtime_ns, path.read_bytes()) for path in report.rglob("*") if path.is_file()}

    before = snapshot()
    environment = user_environment(tool)
    done = subprocess.run(
        ["xai-report", "new", str(report)], cwd=report.parent, env=environment, capture_output=True, text=True
    )
    assert done.returncode == 2 and "not empty" in done.stderr and "Traceback" not in done.stderr
    assert snapshot() == before


@pytest.mark.parametrize(
    ("overrides", "expected", "warning"),
    [
        (
            "site_url: https://example.org/report/\ntheme:\n  palette:\n    - primary: red\nnav:\n  - About: about.md\n",
            [
                'data-md-color-primary="red"',
                '<link rel="canonical" href="https://example.org/report/',
                'href="about.html"',
            ],
            None,
        ),
        ("hooks: []\n", ['href="cases/chelsea.html"', "map-viewer.js"], "hooks: the report's hook"),
    ],
    ids=["palette-site_url-nav", "hooks-removed"],
)
def test_the_authors_mkdocs_yml_is_merged_over_the_tools(report, tool, tmp_path, overrides, expected, warning):
    """The same folder, with an author's mkdocs.yml: the models' results come from the folder's cache."""
    folder = tmp_path / "myreport"
    shutil.copytree(report, folder, ignore=shutil.ignore_patterns("site"))
    (folder / "about.md").write_text("# About\n", encoding="utf-8")
    (folder / "mkdocs.yml").write_text(overrides, encoding="utf-8")
    done = subprocess.run(
        ["xai-report", "build"], cwd=folder, env=user_environment(tool), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    index = (folder / "site" / "index.html").read_text(encoding="utf-8")
    assert [text for text in expected if text not in index] == []
    warnings = [line for line in done.stderr.splitlines() if line.startswith("WARNING")]
    assert warnings == (
        [f"WARNING: mkdocs.yml: {warning} (its navigation, snippets and assets) is kept"] if warning else []
    )
