"""The README's screenshots, regenerated: the offline example built, served and photographed in Chromium.

    python bench/screenshots.py                 # writes docs/screenshots/overview.png and case.png
    python bench/screenshots.py --site DIR      # photograph a site built earlier (DIR holds index.html)

Builds examples/offline/ (EfficientNet-Lite0 offline, `pip install -e '.[offline]'`) into a temporary folder
with the example's own settings, serves it on 127.0.0.1 and opens it with Debian's Chromium through Playwright
(headless, the flags the PDF export uses; never `playwright install`). The overview is photographed from its top
(the gallery and the plots), the case page at its viewer, side by side on two models. Nothing leaves the machine.
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import ROOT, code_env, parser_for, served

from generator.publish.pdf import CHROMIUM_ARGS, chromium_path

VIEWPORT = {"width": 1280, "height": 1000}
CASE = "chelsea"


def build_example(folder):
    content = folder / "content"
    shutil.copytree(ROOT / "examples" / "offline", content)
    site = folder / "site"
    command = [sys.executable, "-m", "generator", "build", "--manifest", str(content / "manifest.yaml"),
               "--site-dir", str(site), "--cache-dir", str(folder / "cache"), "-q"]
    subprocess.run(command, cwd=ROOT, env=code_env(), check=True)
    return site


def photograph(base, out):
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=list(CHROMIUM_ARGS))
        page = browser.new_page(viewport=VIEWPORT)
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base) else route.abort())
        page.goto(f"{base}/index.html", wait_until="networkidle")
        page.locator(".case-gallery").scroll_into_view_if_needed()
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(out / "overview.png"))
        page.goto(f"{base}/cases/{CASE}.html", wait_until="networkidle")
        viewer = page.locator(".map-viewer")
        viewer.locator("input[name=side]").check()
        viewer.locator("select[name=compare]").select_option("model")
        page.wait_for_load_state("networkidle")
        viewer.scroll_into_view_if_needed()
        page.screenshot(path=str(out / "case.png"), clip=clip_of(viewer))
        browser.close()


def clip_of(locator):
    box = locator.bounding_box()
    return {"x": 0, "y": max(box["y"] - 120, 0), "width": VIEWPORT["width"], "height": min(box["height"] + 140, 1000)}


def main():
    parser = parser_for(__doc__)
    parser.add_argument("--site", type=Path, help="a site built earlier (default: build the offline example)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        site = args.site or build_example(Path(folder))
        with served(site) as base:
            photograph(base, args.out)
    print(f"wrote {args.out / 'overview.png'} and {args.out / 'case.png'}")


if __name__ == "__main__":
    main()
