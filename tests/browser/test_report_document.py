"""The report as a document, in Chromium: the author's introduction, model notes and conclusion on their pages,
the print page with every case in order, `--pdf`, and search from file://.

Works on a copy of the offline example that tests/browser_site.py built (with its result cache), so each
rebuild here runs no model.
"""

import shutil

import pytest
import yaml

from generator.manifest.author_files import CONCLUSION, INTRODUCTION, model_note_path
from tests.helpers import build

pytestmark = [pytest.mark.browser, pytest.mark.slow]

INTRO_TEXT = "This introduction was written by the author."
NOTE_TEXT = "A note on the trained Lite0, written by the author."
CONCLUSION_TEXT = "In conclusion, the trained model looks at the object."


@pytest.fixture(scope="module")
def document(built_site, tmp_path_factory):
    """A copy of the built offline example, with the author's texts written and rebuilt with --pdf."""
    root = tmp_path_factory.mktemp("document")
    shutil.copytree(built_site.content_dir.parent, root, dirs_exist_ok=True)
    content = root / "content"
    (content / INTRODUCTION).write_text(f"{INTRO_TEXT}\n", encoding="utf-8")
    (content / model_note_path("efficientnet-lite0")).write_text(f"{NOTE_TEXT}\n", encoding="utf-8")
    (content / CONCLUSION).write_text(f"{CONCLUSION_TEXT}\n", encoding="utf-8")
    result = build(content / "manifest.yaml", "--pdf", in_process=False)  # the PDF drives its own Playwright
    assert result.returncode == 0, result.stderr
    return root


def visible_text(browser, url):
    page = browser.new_page()
    try:
        page.goto(url, wait_until="load")
        return page.locator("article").inner_text()
    finally:
        page.close()


def test_author_texts_appear_on_their_pages(browser, document):
    site = document / "site"
    overview = visible_text(browser, (site / "index.html").as_uri())
    assert INTRO_TEXT in overview and CONCLUSION_TEXT in overview
    assert overview.index(INTRO_TEXT) < overview.index("Findings") < overview.index(CONCLUSION_TEXT)
    methods = visible_text(browser, (site / "methods.html").as_uri())
    assert NOTE_TEXT in methods and "No note on this model written yet." in methods  # the random twin's stub
    assert INTRO_TEXT not in visible_text(browser, (site / "cases" / "chelsea.html").as_uri())


def print_sections(browser, url):
    """(id, visible text) of every page of the print page, in document order."""
    page = browser.new_page()
    try:
        page.goto(url, wait_until="load")
        return page.locator("section.print-page").evaluate_all("sections => sections.map(s => [s.id, s.innerText])")
    finally:
        page.close()


def test_print_page_holds_every_case_in_manifest_order(browser, document, built_site):
    """Each case's own page, in manifest order, between the overview and the comparison and methods pages (the
    overview's ranked lists name cases too, in their own order)."""
    sections = print_sections(browser, (document / "site" / "print_page.html").as_uri())
    ids = [section_id for section_id, _ in sections]
    cases = [
        (section_id.removeprefix("cases-"), text) for section_id, text in sections if section_id.startswith("cases-")
    ]
    assert [case_id for case_id, _ in cases] == list(built_site.case_ids)
    assert all(built_site.case_titles[case_id] in text for case_id, text in cases)
    first, last = ids.index(f"cases-{cases[0][0]}"), ids.index(f"cases-{cases[-1][0]}")
    assert ids.index("index") < first and last < ids.index("comparison") and "methods" in ids


def pdf_pages_and_text(path):
    from pypdf import PdfReader

    reader = PdfReader(path)
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages), reader.outline


def pdf_image_count(path):
    from pypdf import PdfReader

    return sum(len(page.images) for page in PdfReader(path).pages)


def test_pdf_holds_every_case_and_grows_with_the_cases(document, built_site, tmp_path):
    pages, text, outline = pdf_pages_and_text(document / "site" / "report.pdf")
    for title in built_site.case_titles.values():
        assert " ".join(title.split()) in " ".join(text.split())
    assert len(outline) > len(built_site.case_ids)  # bookmarks: the pages and their sections
    # the static figures, not the case pages' interactive viewers (JavaScript leaves the print page alone)
    assert "Opacity" not in text and "Side by side" not in text
    print_page = (document / "site" / "print_page.html").read_text(encoding="utf-8")
    assert pdf_image_count(document / "site" / "report.pdf") == print_page.count("<img ")  # each figure drawn
    shutil.copytree(document, tmp_path, dirs_exist_ok=True)  # the module's document stays as the others read it
    manifest_path = tmp_path / "content" / "manifest.yaml"
    manifest = yaml.safe_load(manifest_path.read_text(encoding="utf-8"))
    manifest["cases"] = manifest["cases"][:1]
    manifest_path.write_text(yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True), encoding="utf-8")
    result = build(manifest_path, "--pdf", in_process=False)  # the PDF drives its own Playwright
    assert result.returncode == 0, result.stderr
    fewer_pages, _, _ = pdf_pages_and_text(tmp_path / "site" / "report.pdf")
    assert fewer_pages < pages


@pytest.mark.parametrize("where", ["file system", "server"])
def test_search_finds_a_case(browser, built_site, served_site, where):
    url = (built_site.site_dir / "index.html").as_uri() if where == "file system" else served_site.url("/index.html")
    page = browser.new_page()
    try:
        page.goto(url, wait_until="load")
        page.locator("input.md-search__input").click()
        page.keyboard.type("coffee")
        result = page.locator(".md-search-result__item a").first
        result.wait_for(timeout=15_000)
        assert "cases/coffee.html" in result.get_attribute("href")
    finally:
        page.close()
