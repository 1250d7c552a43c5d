"""The built site in a real browser: every page loads, every image decodes, nothing reaches the network,
no console errors, and the interactive parts (content tabs, the glightbox lightbox, navigation) work.

Drives Debian's Chromium through Playwright's sync API (never `playwright install`). The site is the
offline example with a small LIME sample count, built once per session by tests/browser_site.py and
served on 127.0.0.1 from a thread. Screenshots land in test-output/screenshots/ (git-ignored).
"""

import contextlib
import re
from dataclasses import dataclass, field
from urllib.parse import urldefrag, urlsplit

import pytest
from browser_site import REPO_ROOT

from tests import requires

sync_api = requires.module("playwright.sync_api", "Playwright")

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 1440, "height": 900}  # wide enough for Material's left navigation sidebar
TIMEOUT_MS = 30_000
SCREENSHOT_DIR = REPO_ROOT / "test-output" / "screenshots"
LOCAL_HOST = "127.0.0.1"
NOT_LOCAL = re.compile(r"^(?!http://127\.0\.0\.1[:/]).*")  # routed URLs that must not leave the machine


# --------------------------------------------------------------------------- browser plumbing


def is_local(url):
    """True for URLs that stay on this machine: the test server, data: and blob: URLs."""
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname == LOCAL_HOST


@dataclass
class Watch:
    """What a browser context did: console errors, uncaught exceptions, requests, failed responses."""

    console_errors: list = field(default_factory=list)
    page_errors: list = field(default_factory=list)
    requests: list = field(default_factory=list)
    failed: list = field(default_factory=list)  # (url, status or failure text)

    @property
    def external_requests(self):
        return [url for url in self.requests if not is_local(url)]

    def attach(self, page):
        page.on(
            "console",
            lambda message: (
                message.type == "error"
                and self.console_errors.append(
                    f"{page.url}: {message.text} ({message.location.get('url', '')}:{message.location.get('lineNumber', '')})"
                )
            ),
        )
        page.on("pageerror", lambda error: self.page_errors.append(f"{page.url}: {error}"))
        page.on("request", lambda request: self.requests.append(request.url))
        # net::ERR_ABORTED is the page cancelling its own request (the viewer switched a map before the last one
        # had loaded), not a file the site fails to serve; a missing file still answers 404 below
        page.on(
            "requestfailed",
            lambda request: request.failure != "net::ERR_ABORTED" and self.failed.append((request.url, request.failure)),
        )
        page.on(
            "response", lambda response: response.status >= 400 and self.failed.append((response.url, response.status))
        )
        return page

    def assert_clean(self):
        assert self.page_errors == [], "uncaught exceptions in the page"
        assert self.console_errors == [], "console errors"
        assert self.external_requests == [], "requests left 127.0.0.1"
        assert self.failed == [], "requests failed or answered >= 400"


@pytest.fixture
def watched_page(browser):
    """A fresh context and page (no shared localStorage between tests), with a Watch attached."""
    context = browser.new_context(viewport=VIEWPORT, service_workers="block")
    # Never let a request leave the machine (there is no network anyway; this keeps the tests from
    # waiting on DNS); the `request` listener still records it, so the test can report it.
    context.route(NOT_LOCAL, lambda route: route.abort())
    context.set_default_timeout(TIMEOUT_MS)
    watch = Watch()
    page = watch.attach(context.new_page())
    try:
        yield page, watch
    finally:
        context.close()


def open_page(page, url):
    response = page.goto(url, wait_until="networkidle")
    assert response is not None, f"no response for {url}"
    return response


LOAD_ALL_IMAGES = """async () => {
    // Scroll to the bottom step by step so that lazily loaded images start, then wait for every image.
    const step = Math.max(200, Math.floor(window.innerHeight * 0.8));
    for (let y = 0; y < document.documentElement.scrollHeight; y += step) {
        window.scrollTo(0, y);
        await new Promise(resolve => setTimeout(resolve, 50));
    }
    window.scrollTo(0, document.documentElement.scrollHeight);
    for (const img of document.images) img.loading = "eager";
    await Promise.all(Array.from(document.images, img => img.complete ? null :
        new Promise(resolve => { img.addEventListener("load", resolve); img.addEventListener("error", resolve); })));
    window.scrollTo(0, 0);
    return Array.from(document.images, img => ({
        src: img.currentSrc || img.src, alt: img.alt, complete: img.complete,
        naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight,
    }));
}"""


def load_images(page):
    images = page.evaluate(LOAD_ALL_IMAGES)
    page.wait_for_load_state("networkidle")
    return images


def page_path(url):
    """The URL's path, the overview as "/" whether reached as / or /index.html."""
    path = urlsplit(url).path or "/"
    return "/" if path == "/index.html" else path


def heading_text(page):
    """The page's h1 without the permalink anchor ("¶") that the toc extension appends."""
    return page.locator(".md-content h1").first.evaluate(
        "h1 => Array.from(h1.childNodes).filter(n => !(n.classList && n.classList.contains('headerlink')))"
        ".map(n => n.textContent).join('').trim()",
        timeout=5_000,
    )


def nav_links(page):
    """Absolute URLs of the primary navigation's page links (present even where the sidebar is hidden)."""
    hrefs = page.eval_on_selector_all("nav.md-nav--primary a.md-nav__link[href]", "links => links.map(a => a.href)")
    return {urldefrag(href).url for href in hrefs}


# --------------------------------------------------------------------------- the crawl


@dataclass
class PageVisit:
    path: str
    status: int
    title: str
    images: list
    nav: set


@dataclass
class Crawl:
    visits: dict  # path -> PageVisit
    watch: Watch


@pytest.fixture(scope="module")
def crawl(browser, served_site):
    """Visit every page reachable through the navigation, starting at the index, in one context."""
    context = browser.new_context(viewport=VIEWPORT, service_workers="block")
    context.route(NOT_LOCAL, lambda route: route.abort())
    context.set_default_timeout(TIMEOUT_MS)
    watch = Watch()
    page = watch.attach(context.new_page())
    visits, queue = {}, [served_site.url("/")]
    try:
        while queue:
            url = queue.pop(0)
            path = page_path(url)
            if path in visits:
                continue
            response = open_page(page, url)
            images = load_images(page)
            links = nav_links(page)
            visits[path] = PageVisit(path, response.status, page.title(), images, {page_path(u) for u in links})
            queue.extend(u for u in sorted(links) if urlsplit(u).hostname == LOCAL_HOST and page_path(u) not in visits)
    finally:
        context.close()
    return Crawl(visits, watch)


def test_crawl_finds_every_built_page(crawl, built_site):
    assert set(crawl.visits) == built_site.page_paths()
    expected_cases = {f"/cases/{case_id}.html" for case_id in built_site.case_ids}
    assert expected_cases <= set(crawl.visits), "a case of the manifest has no page in the navigation"
    assert {"/", "/methods.html"} <= set(crawl.visits)


def test_every_page_answers_200(crawl):
    statuses = {path: visit.status for path, visit in crawl.visits.items()}
    assert statuses and all(status == 200 for status in statuses.values()), statuses


def test_every_image_decodes(crawl):
    broken = [
        (path, image["src"])
        for path, visit in crawl.visits.items()
        for image in visit.images
        if not (image["complete"] and image["naturalWidth"] > 0 and image["naturalHeight"] > 0)
    ]
    assert broken == []
    for path in (p for p in crawl.visits if p.startswith("/cases/")):
        assert len(crawl.visits[path].images) >= 4, f"{path} shows almost no figures"


def test_no_console_errors_or_page_errors(crawl):
    errors = crawl.watch.page_errors + crawl.watch.console_errors
    assert errors == [], "\n".join(errors)


def test_no_request_leaves_localhost(crawl):
    assert crawl.watch.requests, "the listener saw no request at all"
    assert crawl.watch.external_requests == [], "\n".join(crawl.watch.external_requests)
    assert crawl.watch.failed == [], "\n".join(map(str, crawl.watch.failed))


def test_search_index_is_local(crawl):
    """Material's search worker fetched its index from the test server (it did run)."""
    assert any(urlsplit(url).path.endswith("search/search_index.json") for url in crawl.watch.requests)


# --------------------------------------------------------------------------- interactions


def test_case_page_content_tabs_switch(watched_page, served_site):
    page, watch = watched_page
    case_id = served_site.built.case_ids[0]
    open_page(page, served_site.url(f"/cases/{case_id}.html"))
    tabbed = page.locator(".md-content .tabbed-set").first
    labels = tabbed.locator(".tabbed-labels > label")
    blocks = tabbed.locator(".tabbed-content > .tabbed-block")
    assert labels.count() >= 2 and labels.count() == blocks.count()
    # The LIME section owns the tab set.
    heading = page.locator("h2#lime")
    assert heading.count() == 1
    assert tabbed.evaluate(
        "(set, h) => h.compareDocumentPosition(set) & Node.DOCUMENT_POSITION_FOLLOWING", heading.element_handle()
    )

    assert blocks.nth(0).is_visible() and not blocks.nth(1).is_visible()
    labels.nth(1).click()
    sync_api.expect(blocks.nth(1)).to_be_visible()
    sync_api.expect(blocks.nth(0)).to_be_hidden()
    assert (
        tabbed.locator(".tabbed-labels > label")
        .nth(1)
        .evaluate("label => document.getElementById(label.htmlFor).checked")
    )
    second_images = blocks.nth(1).locator("img")
    assert second_images.count() >= 1
    for i in range(second_images.count()):
        image = second_images.nth(i)
        image.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete", arg=image.element_handle())
        assert image.evaluate("img => img.naturalWidth") > 0, image.get_attribute("src")
    watch.assert_clean()


def test_figure_lightbox_opens_and_closes(watched_page, served_site):
    page, watch = watched_page
    case_id = served_site.built.case_ids[0]
    open_page(page, served_site.url(f"/cases/{case_id}.html"))
    links = page.locator(".md-content a.glightbox")
    assert links.count() >= 2, "figures are not wrapped in glightbox links"
    link = page.locator(".md-content a.glightbox[href*='figures/']").first
    href = link.get_attribute("href")
    link.scroll_into_view_if_needed()
    link.click()

    container = page.locator(".glightbox-container")
    sync_api.expect(container).to_be_visible()
    slide_image = container.locator(".gslide.current img")
    sync_api.expect(slide_image).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=slide_image.element_handle())
    assert slide_image.get_attribute("src").endswith(href.split("/")[-1])
    assert page.url.split("#")[0] == served_site.url(f"/cases/{case_id}.html"), "the link navigated away"

    page.keyboard.press("Escape")
    sync_api.expect(page.locator(".glightbox-container")).to_have_count(0)
    # Opening and closing again works (the close button this time).
    link.click()
    sync_api.expect(page.locator(".glightbox-container .gslide.current img")).to_be_visible()
    page.locator(".glightbox-container .gclose").click()
    sync_api.expect(page.locator(".glightbox-container")).to_have_count(0)
    watch.assert_clean()


def test_overview_table_links_reach_every_case(watched_page, served_site):
    page, watch = watched_page
    built = served_site.built
    index = served_site.url("/")
    open_page(page, index)
    load_images(page)  # lazily loaded thumbnails: let them finish, or leaving the page aborts them
    # The overview's table of cases: the one whose rows carry the script's marker spans (other tables, such as
    # the measurement summaries, may link to some cases too).
    table = page.locator(".md-content table").filter(has=page.locator("span.case-row"))
    assert table.count() == 1, "expected exactly one overview table of cases"
    for case_id in built.case_ids:
        title = built.case_titles[case_id]
        link = table.get_by_role("link", name=title, exact=True)
        assert link.count() >= 1, f"the overview table has no link named {title!r}"
        link.first.click()
        page.wait_for_load_state("networkidle")
        assert page_path(page.url) == f"/cases/{case_id}.html"
        assert heading_text(page) == title
        open_page(page, index)
        load_images(page)
    watch.assert_clean()


def test_overview_gallery_comes_first_and_links_every_case(watched_page, served_site):
    """Cases first: the gallery's first thumbnail is above the first measurement table; each card links to its
    case, its thumbnail loads lazily, and each model's top-1 carries a correct/wrong mark where there is a
    ground truth."""
    page, watch = watched_page
    built = served_site.built
    open_page(page, served_site.url("/"))
    cards = page.locator(".case-gallery .case-card")
    assert cards.count() == len(built.case_ids)
    first_thumbnail = cards.first.locator("img").bounding_box()
    first_table = page.locator(".md-content table").first.bounding_box()
    assert first_thumbnail["y"] + first_thumbnail["height"] <= first_table["y"]
    loading = page.locator(".case-gallery img").evaluate_all("images => images.map(i => i.getAttribute('loading'))")
    assert set(loading) == {"lazy"}
    targets = cards.locator("a.case-card-title").evaluate_all("links => links.map(a => a.href)")
    assert [page_path(u) for u in targets] == [f"/cases/{c}.html" for c in built.case_ids]
    models = len(built.manifest["models"])
    for i, case in enumerate(built.manifest["cases"]):
        predictions = cards.nth(i).locator(".case-card-prediction")
        assert predictions.count() == models
        marks = cards.nth(i).locator(".case-card-mark")
        assert marks.count() == (models if case.get("label") else 0)
    load_images(page)
    watch.assert_clean()


GALLERY_PAGE = 60  # overview-gallery.js's PAGE


def with_many_cards(html, count):
    """The overview's HTML with its gallery's cards repeated to `count`, each copy's thumbnail its own URL."""
    start = html.index('<div class="case-gallery">') + len('<div class="case-gallery">')
    end = html.index("</div>\n</div>", start) + len("</div>\n")
    cards = re.findall(r'<div class="case-card">.*?</div>\n', html[start:end], re.S)
    copies = [cards[i % len(cards)].replace('thumbnail.jpg"', f'thumbnail.jpg?copy={i}"') for i in range(count)]
    return html[:start] + "\n" + "".join(copies) + html[end:]


def test_a_large_gallery_pages_itself(watched_page, served_site):
    """With more cards than a page, the first 60 show and the others fetch nothing until "Show 60 more" (focus
    moves to the first new case) or "Show all"; printing shows every card."""
    page, watch = watched_page
    count = 2 * GALLERY_PAGE + 10
    url = served_site.url("/")
    html = with_many_cards(page.request.get(url).text(), count)
    page.route(url, lambda route: route.fulfill(status=200, content_type="text/html", body=html))
    open_page(page, url)
    cards = page.locator(".case-gallery .case-card")
    assert cards.count() == count
    visible = "cards => cards.filter(c => c.offsetParent !== null).length"
    assert cards.evaluate_all(visible) == GALLERY_PAGE
    controls = page.locator(".case-gallery-more")
    sync_api.expect(controls.locator(".case-gallery-status")).to_have_text(f"Showing {GALLERY_PAGE} of {count} cases")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_timeout(300)
    copies = {int(u.rsplit("copy=", 1)[1]) for u in watch.requests if "thumbnail.jpg?copy=" in u}
    assert copies and max(copies) < GALLERY_PAGE  # the hidden cards' thumbnails were not fetched
    more = controls.get_by_role("button", name=f"Show {GALLERY_PAGE} more")
    more.focus()
    page.keyboard.press("Enter")
    assert cards.evaluate_all(visible) == 2 * GALLERY_PAGE
    focused = page.evaluate(
        "() => document.activeElement.closest('.case-card') === document.querySelectorAll('.case-card')[60]"
    )
    assert focused
    sync_api.expect(controls.get_by_role("button", name="Show 10 more")).to_be_visible()
    controls.get_by_role("button", name="Show all").click()
    assert cards.evaluate_all(visible) == count
    sync_api.expect(controls).to_be_hidden()
    load_images(page)  # every thumbnail has arrived: the reload aborts none (it did under load after networkidle)
    page.reload(wait_until="load")
    page.emulate_media(media="print")
    assert cards.evaluate_all(visible) == count and not controls.is_visible()
    watch.assert_clean()


CASE_TABLE = ".md-content table[data-case-table]"  # the overview's case table, once its script set it up
COLUMN_VALUES = """(table, column) => Array.from(table.tBodies[0].rows).filter(row => !row.hidden).map(row => {
    const data = row.cells[column].querySelector("data[value]");
    return data ? parseFloat(data.value) : row.cells[column].textContent.trim();
})"""


def column_values(table, header_text):
    """The shown rows' values of the first column whose header holds `header_text` (numbers from <data value>)."""
    header = table.locator("thead th", has_text=header_text).first
    return table.evaluate(COLUMN_VALUES, header.evaluate("th => th.cellIndex"))


def sort_by(table, header_text):
    header = table.locator("thead th", has_text=header_text).first
    header.get_by_role("button").click()
    return header.get_attribute("aria-sort")


def test_overview_table_sorts_and_filters(watched_page, served_site):
    page, watch = watched_page
    built = served_site.built
    models = [model.get("display_name", model["name"]) for model in built.manifest["models"]]
    open_page(page, served_site.url("/"))
    table = page.locator(CASE_TABLE)
    sync_api.expect(table).to_have_count(1)
    rows = table.locator("tbody tr")
    assert rows.count() == len(built.case_ids) * len(models)

    # A metric column: numbers ascending, a second click descending (values that are missing stay last).
    before = column_values(table, "deletion AUC")
    assert sort_by(table, "deletion AUC") == "ascending"
    ascending = column_values(table, "deletion AUC")
    numbers = sorted(v for v in before if isinstance(v, float))
    assert ascending[: len(numbers)] == numbers and len(ascending) == len(before)
    assert sort_by(table, "deletion AUC") == "descending"
    assert column_values(table, "deletion AUC")[: len(numbers)] == numbers[::-1]
    # A text column; only one header is marked sorted at a time.
    assert sort_by(table, "Case") == "ascending"
    titles = column_values(table, "Case")
    assert titles == sorted(titles, key=str.lower)
    assert table.locator("thead th[aria-sort]").count() == 1

    filters = page.locator(".case-table-filters")
    shown = filters.locator("output")
    search = filters.get_by_role("searchbox")
    case_id = built.case_ids[1]
    search.fill(case_id)
    assert set(column_values(table, "Case")) == {built.case_titles[case_id]}
    sync_api.expect(shown).to_have_text(f"{len(models)} of {rows.count()} rows")
    search.fill("")
    filters.locator("select[name=model]").select_option(label=models[1])
    assert column_values(table, "Model") == [models[1]] * len(built.case_ids)
    filters.locator("select[name=result]").select_option("wrong")
    wrong = column_values(table, "Top-1")
    assert wrong and all(value.endswith("· wrong") for value in wrong)
    filters.locator("select[name=model]").select_option("")
    filters.locator("select[name=result]").select_option("correct")
    assert all(value.endswith("· correct") for value in column_values(table, "Top-1"))
    watch.assert_clean()


@contextlib.contextmanager
def page_without_javascript(browser, url):
    """A page opened at `url` with JavaScript off (and nothing fetched from outside)."""
    context = browser.new_context(viewport=VIEWPORT, java_script_enabled=False)
    context.route(NOT_LOCAL, lambda route: route.abort())
    try:
        page = context.new_page()
        open_page(page, url)
        yield page
    finally:
        context.close()


def test_overview_table_without_javascript_is_a_plain_table(browser, served_site):
    with page_without_javascript(browser, served_site.url("/")) as page:
        table = page.locator(".md-content table").filter(has=page.locator("span.case-row"))
        assert table.count() == 1 and page.locator(".case-table-filters, .case-table-sort").count() == 0
        rows = table.locator("tbody tr")
        assert rows.count() == len(served_site.built.case_ids) * len(served_site.built.manifest["models"])
        assert all(rows.nth(i).is_visible() for i in range(rows.count()))
        assert table.locator("span.case-row").first.is_hidden()


def test_worst_case_sections_link_to_case_pages(watched_page, served_site):
    page, watch = watched_page
    open_page(page, served_site.url("/"))
    for heading in ("where-the-models-disagree-most", "least-faithful-explanations", "least-stable-lime"):
        section = page.locator(f"h2#{heading}")
        assert section.count() == 1, heading
    # Every link of the sections (the tables between the first of them and the conclusion) names a case page.
    targets = page.evaluate(
        """() => {
            const start = document.getElementById("where-the-models-disagree-most");
            const end = document.getElementById("conclusion");
            return Array.from(document.querySelectorAll(".md-content table a[href]"))
                .filter(a => start.compareDocumentPosition(a) & Node.DOCUMENT_POSITION_FOLLOWING
                    && a.compareDocumentPosition(end) & Node.DOCUMENT_POSITION_FOLLOWING)
                .map(a => a.href);
        }"""
    )
    cases = {f"/cases/{case_id}.html" for case_id in served_site.built.case_ids}
    assert targets and {page_path(url) for url in targets} <= cases
    watch.assert_clean()


def test_navigation_sidebar_reaches_every_case(watched_page, served_site):
    page, watch = watched_page
    built = served_site.built
    open_page(page, served_site.url("/methods.html"))
    sidebar = page.locator("nav.md-nav--primary")
    sync_api.expect(sidebar.first).to_be_visible()
    for case_id in built.case_ids:
        title = built.case_titles[case_id]
        link = page.locator("nav.md-nav--primary a.md-nav__link", has_text=title).first
        if not link.is_visible():  # the "Cases" section may be collapsed
            page.locator("nav.md-nav--primary label.md-nav__link", has_text="Cases").first.click()
        link.click()
        page.wait_for_load_state("networkidle")
        assert page_path(page.url) == f"/cases/{case_id}.html"
        assert heading_text(page) == title
    watch.assert_clean()


PLOT_DOTS = """object => Array.from(object.contentDocument.querySelectorAll("circle.dot"),
    c => [c.dataset.case, c.dataset.value, c.parentNode.getAttribute("href")])"""
TABLE_CELLS = """(table, header) => {
    const column = Array.from(table.tHead.rows[0].cells).findIndex(th => th.textContent.trim() === header);
    const model = Array.from(table.tHead.rows[0].cells).findIndex(th => th.textContent.trim() === "Model");
    return Array.from(table.tBodies[0].rows, row => [
        row.querySelector("span.case-row").closest("td").querySelector("a").getAttribute("href"),
        model < 0 ? null : row.cells[model].textContent.trim(),
        column < 0 ? null : row.cells[column].textContent.trim()]);
}"""


def test_overview_plots_show_one_dot_per_case_and_method_with_the_tables_values(watched_page, served_site):
    page, watch = watched_page
    built = served_site.built
    open_page(page, served_site.url("/"))
    objects = page.locator(".overview-plots object")
    models = [model.get("display_name", model["name"]) for model in built.manifest["models"]]
    assert objects.count() >= 2 * len(models)  # deletion and insertion of each method, per model
    table = page.locator(".md-content table").filter(has=page.locator("span.case-row"))
    for i in range(objects.count()):
        plot = objects.nth(i)
        page.wait_for_function(
            "o => o.contentDocument && o.contentDocument.querySelector('svg')", arg=plot.element_handle()
        )
        model, header = plot.get_attribute("aria-label").split(" · ", 1)
        dots = plot.evaluate(PLOT_DOTS)
        cells = table.evaluate(TABLE_CELLS, header)
        expected = {
            href.removeprefix("cases/").removesuffix(".html"): text
            for href, row_model, text in cells
            if row_model in (None, model) and text not in ("—", "n/a")
        }
        assert {case: value for case, value, _ in dots} == expected, header
        assert len(dots) == len({case for case, *_ in dots})  # one dot per case
        assert all(href == f"../../cases/{case}.html" for case, _, href in dots)
    watch.assert_clean()


# --------------------------------------------------------------------------- the case page's viewer


def picture_pixels(page, locator):
    """The element's rendered pixels (RGB, int), clipped at the device pixels its picture is snapped to."""
    import io

    import numpy as np
    from PIL import Image

    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    clip = {"x": round(box["x"]), "y": round(box["y"]), "width": round(box["width"]), "height": round(box["height"])}
    return np.asarray(Image.open(io.BytesIO(page.screenshot(clip=clip))).convert("RGB"), dtype=int)


def open_viewer(page, served_site):
    case_id = served_site.built.case_ids[0]
    open_page(page, served_site.url(f"/cases/{case_id}.html"))
    viewer = page.locator(".map-viewer")
    sync_api.expect(viewer).to_have_count(1)
    picture = viewer.locator(".map-viewer-stage").first.locator(".map-viewer-picture")
    page.wait_for_function(
        "p => Array.from(p.querySelectorAll('img')).every(i => i.hidden || (i.complete && i.naturalWidth > 0))",
        arg=picture.element_handle(),
    )
    return viewer, picture


def set_opacity(viewer, percent):
    viewer.locator("input[name=opacity]").fill(str(percent))


def test_viewer_opacity_blends_like_the_static_figure(watched_page, served_site):
    """0 to 100 changes the pixels; at 50 (the static figures' opacity) they are the static figure's blend."""
    import numpy as np
    from PIL import Image

    page, watch = watched_page
    viewer, picture = open_viewer(page, served_site)
    assert viewer.locator("select[name=method]").input_value() == "gradcam"
    for label in ("Model", "Method", "Target", "Opacity"):  # visible labels, each wrapping its control
        sync_api.expect(viewer.locator("label.map-viewer-control", has_text=label).first).to_be_visible()
    set_opacity(viewer, 0)
    clear = picture_pixels(page, picture)
    set_opacity(viewer, 100)
    full = picture_pixels(page, picture)
    assert np.abs(full - clear).max() > 100
    set_opacity(viewer, 50)
    sync_api.expect(viewer.locator("output")).to_have_text("50%")
    half = picture_pixels(page, picture)
    source = picture.locator("img.map-viewer-map").get_attribute("src")  # ../figures/<case>/<model>-gradcam-map-<t>.png
    static_path = served_site.built.site_dir / source.replace("../", "", 1).replace("-gradcam-map-", "-gradcam-")
    static = np.asarray(Image.open(static_path).convert("RGB"), dtype=int)[: half.shape[0], : half.shape[1]]
    assert half.shape == (448, 448, 3)
    assert np.abs(half - static).max() <= 3
    # the slider answers the keyboard
    viewer.locator("input[name=opacity]").focus()
    page.keyboard.press("ArrowRight")
    sync_api.expect(viewer.locator("output")).to_have_text("51%")
    watch.assert_clean()


def test_viewer_model_switch_and_side_by_side(watched_page, served_site):
    import numpy as np

    page, watch = watched_page
    viewer, picture = open_viewer(page, served_site)
    maps = viewer.locator("img.map-viewer-map")
    before, pixels = maps.first.get_attribute("src"), picture_pixels(page, picture)
    models = viewer.locator("select[name=model]")
    second_model = models.locator("option").nth(1).get_attribute("value")
    models.select_option(second_model)
    maps.first.evaluate("i => i.decode()")  # the new map decoded, so the screenshot below shows it
    assert maps.first.get_attribute("src") != before
    assert np.abs(picture_pixels(page, picture) - pixels).max() > 0

    viewer.locator("input[name=side]").check()
    sync_api.expect(viewer.locator("img.map-viewer-map:visible")).to_have_count(2)
    viewer.locator("select[name=compare]").select_option("model")
    sources = [maps.nth(i).get_attribute("src") for i in range(2)]
    assert sources[0] != sources[1] and all("-gradcam-map-" in s for s in sources)
    viewer.locator("select[name=method]").select_option("lime")  # the controls move together
    sources = [maps.nth(i).get_attribute("src") for i in range(2)]
    assert sources[0] != sources[1] and all("-lime-map-" in s for s in sources)
    viewer.locator("select[name=compare]").select_option("method")
    sync_api.expect(viewer.locator("img.map-viewer-map:visible")).to_have_count(2)
    sources = [maps.nth(i).get_attribute("src") for i in range(2)]
    assert {"-lime-map-" in sources[0], "-gradcam-map-" in sources[1]} == {True}
    watch.assert_clean()


def test_without_javascript_the_case_page_shows_its_static_figures(browser, served_site):
    with page_without_javascript(browser, served_site.url(f"/cases/{served_site.built.case_ids[0]}.html")) as page:
        assert page.locator(".map-viewer").count() == 0
        figures = page.locator(".md-content img[src*='-gradcam-']")
        assert figures.count() > 0 and figures.first.is_visible()


def test_the_print_page_has_no_viewer(watched_page, served_site):
    page, watch = watched_page
    open_page(page, served_site.url("/print_page.html"))
    assert page.locator("script.map-viewer-data").count() == len(served_site.built.case_ids)
    assert page.locator(".map-viewer").count() == 0
    watch.assert_clean()


# --------------------------------------------------------------------------- screenshots


def test_screenshots(watched_page, served_site):
    """Full-page screenshots of the overview and a case page, for a human to look at."""
    page, watch = watched_page
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    case_id = served_site.built.case_ids[0]
    for name, path in (("overview", "/"), (f"case-{case_id}", f"/cases/{case_id}.html")):
        open_page(page, served_site.url(path))
        load_images(page)
        target = SCREENSHOT_DIR / f"{name}.png"
        page.screenshot(path=str(target), full_page=True)
        assert target.stat().st_size > 10_000
    watch.assert_clean()
