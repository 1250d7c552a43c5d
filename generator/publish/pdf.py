"""The whole report as one PDF: the print page (mkdocs-print-site-plugin) printed by Chromium through Playwright.

Chromium is the system's (Debian's `chromium` package, or XAI_REPORT_CHROMIUM); Playwright never downloads
a browser here. The PDF carries bookmarks for every heading (Chromium's document outline); the print page
numbers its pages.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from generator.utils.errors import ReportError

PRINT_PAGE = "print_page.html"
PDF_NAME = "report.pdf"
CHROMIUM_ENV = "XAI_REPORT_CHROMIUM"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def chromium_path() -> str:
    """The browser that prints: $XAI_REPORT_CHROMIUM, else `chromium` on the PATH."""
    configured = os.environ.get(CHROMIUM_ENV)
    found = configured or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found or not Path(found).is_file():
        where = f"{CHROMIUM_ENV}={configured}" if configured else "no `chromium` on the PATH"
        raise ReportError(
            f"--pdf needs Chromium to print the report, and found none ({where}). Install Debian's "
            f"chromium (apt-get install chromium) or set {CHROMIUM_ENV} to a Chromium executable."
        )
    return found


def check_pdf_prerequisites() -> str:
    """Fail before any model runs when --pdf could not print: Playwright missing, or no Chromium."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        raise ReportError("--pdf needs Playwright for Python: pip install -e '.[pdf]'") from None
    return chromium_path()


def write_pdf(site_dir: str | os.PathLike[str]) -> Path:
    """Print site/print_page.html to site/report.pdf (written to a temporary file, then renamed)."""
    site_dir = Path(site_dir)
    print_page = site_dir / PRINT_PAGE
    if not print_page.is_file():
        raise ReportError(f"--pdf: {print_page} is missing; the mkdocs.yml in use must enable the print-site plugin")
    browser_path = check_pdf_prerequisites()
    from playwright.sync_api import sync_playwright

    handle, temporary = tempfile.mkstemp(prefix=".report.", suffix=".pdf", dir=site_dir)
    os.close(handle)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=browser_path, headless=True, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.goto(print_page.resolve().as_uri(), wait_until="load")
                page.emulate_media(media="print")
                page.pdf(
                    path=temporary,
                    format="A4",
                    margin={"top": "15mm", "bottom": "15mm", "left": "12mm", "right": "12mm"},
                    print_background=True,
                    outline=True,
                    tagged=True,
                )
            finally:
                browser.close()
        os.replace(temporary, site_dir / PDF_NAME)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return site_dir / PDF_NAME
