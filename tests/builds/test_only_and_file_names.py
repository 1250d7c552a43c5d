"""`--only` never shrinks the report, and any image file name is linked correctly."""

import shutil

import pytest
import yaml
from browser_site import serve

from tests.helpers import CHELSEA, COFFEE, build, make_project, random_resnet_manifest, run_cli
from tests.switches import SECOND_MODEL

TWO_CASES = [
    {"id": "chelsea", "image": "images/chelsea.png", "title": "Chelsea"},
    {"id": "coffee", "image": "images/coffee.png", "title": "Coffee"},
]
ODD_NAME = "my cat (1) ü#.png"


def two_case_project(tmp_path):
    manifest = random_resnet_manifest(cases=TWO_CASES)
    manifest["models"].append(SECOND_MODEL)  # so that the comparison page lists the cases too
    manifest["explainers"]["lime"]["enabled"] = False  # --only is about cases, not methods: keep builds quick
    manifest["metrics"] = {"faithfulness": False, "sanity": False, "stability_seeds": 1}
    return make_project(tmp_path, manifest, images=(CHELSEA, COFFEE))


def nav_pages(content):
    nav = yaml.safe_load((content / "nav.yml").read_text(encoding="utf-8"))["nav"]
    cases = next(entry["Cases"] for entry in nav if "Cases" in entry)
    return [page for entry in cases for page in entry.values()]


@pytest.mark.slow
def test_only_reads_other_cases_from_the_cache(tmp_path):
    path = two_case_project(tmp_path)
    assert build(path).returncode == 0
    content = path.parent
    result = build(path, "--only", "chelsea")
    assert result.returncode == 0, result.stderr
    assert nav_pages(content) == ["cases/chelsea.md", "cases/coffee.md"]
    for page in ("index.md", "comparison.md"):
        text = (content / page).read_text(encoding="utf-8")
        assert "(cases/chelsea.md)" in text and "(cases/coffee.md)" in text
    assert "**Cases:** 2" in (content / "index.md").read_text(encoding="utf-8")
    assert (content / "figures" / "coffee" / "thumbnail.jpg").is_file()


@pytest.mark.slow
def test_only_keeps_pages_of_cases_with_no_cached_results(tmp_path):
    path = two_case_project(tmp_path)
    assert build(path, "-q").returncode == 0
    content = path.parent
    page = (content / "cases" / "coffee.md").read_bytes()
    figures = sorted(p.name for p in (content / "figures" / "coffee").iterdir())
    shutil.rmtree(path.parent.parent / ".cache")  # as on another machine: no result of coffee is cached
    result = build(path, "--only", "chelsea", "--cache-dir", tmp_path / "fresh-cache")
    assert result.returncode == 0, result.stderr
    assert (content / "cases" / "coffee.md").read_bytes() == page
    assert sorted(p.name for p in (content / "figures" / "coffee").iterdir()) == figures
    assert nav_pages(content) == ["cases/chelsea.md", "cases/coffee.md"]
    index = (content / "index.md").read_text(encoding="utf-8")
    assert "left out of the last build (`--only`)" in index and "[Coffee](cases/coffee.md)" in index
    assert (path.parent.parent / "site" / "cases" / "coffee.html").is_file()


@pytest.mark.slow
def test_closing_line_names_the_rebuilt_cases(tmp_path):
    path = two_case_project(tmp_path)
    assert build(path).returncode == 0
    cache = path.parent.parent / ".cache" / "results"
    result = run_cli("build", "--manifest", path, "--no-site", "--only", "coffee", "--cache-dir", cache)
    assert result.returncode == 0, result.stderr
    assert "Built 2 case(s) in " in result.stderr
    assert "(rebuilt: coffee; from the cache: chelsea); " in result.stderr


@pytest.mark.slow
@pytest.mark.browser
def test_image_with_spaces_parentheses_hash_and_umlaut_is_shown(tmp_path, browser):
    manifest = random_resnet_manifest(cases=[{"image": f"images/{ODD_NAME}", "title": "Odd name"}])
    manifest["explainers"]["lime"]["enabled"] = False
    path = make_project(tmp_path, manifest, images=())
    shutil.copy(CHELSEA, path.parent / "images" / ODD_NAME)
    result = build(path)
    assert result.returncode == 0, result.stderr
    site = path.parent.parent / "site"
    assert [p.name for p in (site / "cases").iterdir()] == ["my-cat-1.html"]
    with serve(site) as base_url:
        page = browser.new_page()
        try:
            response = page.goto(f"{base_url}/cases/my-cat-1.html", wait_until="load")
            assert response.status == 200
            images = page.eval_on_selector_all(
                "article img", "els => els.map(e => [e.getAttribute('src'), e.complete && e.naturalWidth > 0])"
            )
        finally:
            page.close()
    assert any("my%20cat%20%281%29%20%C3%BC%23.png" in src for src, _ in images), images
    assert images and all(loaded for _, loaded in images), images
