"""A small built report site for browser tests, built once per test session.

tests/conftest.py registers the session fixtures (browser, built_site, served_site) once; a fixture
runs only when a test asks for it.

`built_site` copies examples/offline/ (manifest.yaml and images/) into a temporary folder, lowers
LIME's sample count so that the build takes seconds, and runs `python -m generator build` into a
temporary site folder. `served_site` serves that folder over HTTP on 127.0.0.1 from a thread. While iterating on tests,
XAI_REPORT_BROWSER_SITE=DIR reuses a site that build_site(DIR) built earlier.
"""

import functools
import http.server
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from generator.publish.pdf import CHROMIUM_ARGS
from tests import requires
from tests.helpers import build

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_DIR = REPO_ROOT / "examples" / "offline"
LIME_SAMPLES = 40
# Settings that keep the build to seconds, as (path in the manifest, value). Each is applied only where
# the manifest schema has that field, so that the fixture keeps working while the schema grows; every
# feature stays switched on, so that the browser sees every kind of figure and table.
CHEAP_SETTINGS = (
    (("explainers", "lime", "num_samples"), LIME_SAMPLES),
    (("metrics", "steps"), 8),
    (("metrics", "stability_seeds"), 2),
)
GOLDEN_THREADS = 2  # the torch threads of the offline example's build (tests/golden/ was written with them)
# Set to a folder that build_site() filled before to skip the build (its content/ and site/ are reused).
REUSE_ENV = "XAI_REPORT_BROWSER_SITE"


@dataclass(frozen=True)
class BuiltSite:
    content_dir: Path  # the copied example: manifest.yaml, images/, and the generated pages and figures
    site_dir: Path  # the MkDocs output
    manifest: dict  # the copied manifest, as parsed YAML

    @property
    def case_ids(self):
        return [case["id"] for case in self.manifest["cases"]]

    @property
    def case_titles(self):
        return {case["id"]: case.get("title", case["id"]) for case in self.manifest["cases"]}

    def page_paths(self):
        """Every built page as a URL path ("/", "/cases/chelsea.html", ...), from the *.html files."""
        paths = set()
        for page in self.site_dir.rglob("*.html"):
            relative = page.relative_to(self.site_dir).as_posix()
            if relative != "404.html":
                paths.add("/" if relative == "index.html" else f"/{relative}")
        return paths


@dataclass(frozen=True)
class ServedSite:
    built: BuiltSite
    base_url: str  # "http://127.0.0.1:PORT", no trailing slash

    def url(self, path="/"):
        return self.base_url + path


def prepare_content(target):
    """Copy the offline example's inputs into `target` with a small LIME sample count; return the manifest."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copytree(EXAMPLE_DIR / "images", target / "images")
    manifest = yaml.safe_load((EXAMPLE_DIR / "manifest.yaml").read_text(encoding="utf-8"))
    for path, value in CHEAP_SETTINGS:
        if schema_has(path):
            section = manifest
            for name in path[:-1]:
                section = section.setdefault(name, {})
            section[path[-1]] = value
    (target / "manifest.yaml").write_text(
        yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    return manifest


def schema_has(path):
    """Whether the manifest schema (generator.manifest.schema.Manifest, a pydantic model) has the field at `path`."""
    from generator.manifest.schema import EXPLAINER_SECTIONS, METRIC_FIELDS, Manifest

    EXPLAINER_SECTIONS.load()  # the methods' sections join the schema when their package is imported
    METRIC_FIELDS.load()  # and the measures' keys of `metrics`
    model = Manifest
    for name in path:
        fields = getattr(model, "model_fields", None)
        if not fields or name not in fields:
            return False
        model = fields[name].annotation
    return True


def build_site(root):
    content_dir, site_dir = root / "content", root / "site"
    manifest = prepare_content(content_dir)
    # as a user runs it (writes site/ beside content/), with a fixed number of torch threads: the last of the six
    # digits a page keeps for sorting depends on it, and the golden tree compares them byte for byte
    threads = {"OMP_NUM_THREADS": str(GOLDEN_THREADS)}
    result = build(content_dir / "manifest.yaml", in_process=False, env=threads)
    if result.returncode != 0:
        pytest.fail(
            f"site build failed (exit {result.returncode}): {' '.join(result.args)}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    assert (site_dir / "index.html").is_file(), f"no index.html in {site_dir}"
    return BuiltSite(content_dir=content_dir, site_dir=site_dir, manifest=manifest)


def reuse_site(root):
    """A site that build_site(root) built earlier (for quick reruns while writing tests)."""
    content_dir, site_dir = root / "content", root / "site"
    if not (content_dir / "manifest.yaml").is_file() or not (site_dir / "index.html").is_file():
        pytest.fail(f"{REUSE_ENV}={root}: no content/manifest.yaml and site/index.html there")
    manifest = yaml.safe_load((content_dir / "manifest.yaml").read_text(encoding="utf-8"))
    return BuiltSite(content_dir=content_dir, site_dir=site_dir, manifest=manifest)


@pytest.fixture(scope="session")
def browser():
    """The Chromium that --pdf prints with (Debian's), headless, through Playwright (never `playwright install`)."""
    sync_api = requires.module("playwright.sync_api", "Playwright")
    chromium = requires.chromium()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def serve(site_dir):
    """Serve `site_dir` on 127.0.0.1 from a thread: a context manager giving the base URL."""
    return SiteServer(site_dir)


class SiteServer:
    def __init__(self, site_dir):
        handler = functools.partial(QuietHandler, directory=str(site_dir))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="site-server", daemon=True)

    def __enter__(self):
        self.thread.start()
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture(scope="session")
def built_site(tmp_path_factory):
    reuse = os.environ.get(REUSE_ENV)
    if reuse:
        return reuse_site(Path(reuse))
    return build_site(tmp_path_factory.mktemp("browser-site"))


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # keep test output clean
        pass


@pytest.fixture(scope="session")
def served_site(built_site):
    with serve(built_site.site_dir) as base_url:
        yield ServedSite(built=built_site, base_url=base_url)
