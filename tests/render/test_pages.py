"""Pages: author files never touched, text escaped, stale output pruned, orphans warned about."""

import hashlib

import pytest
import yaml

from tests.helpers import COFFEE, build, make_project, random_resnet_manifest

HOSTILE = 'Cats & <script>alert("x")</script> <b>bold</b> | pipe *star*'


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_discussion_survives_rebuilds_byte_for_byte(tmp_path):
    path = make_project(tmp_path, random_resnet_manifest())
    assert build(path, site=False).returncode == 0
    discussion = path.parent / "discussion" / "chelsea.md"
    assert "This file is yours" in discussion.read_text()
    edited = "# My notes\n\nThe *cat* is \u00e9l\u00e9gant.\r\nNo trailing newline"
    discussion.write_bytes(edited.encode("utf-8"))
    for _ in range(2):
        assert build(path, site=False).returncode == 0
        assert discussion.read_bytes() == edited.encode("utf-8")
    page = (path.parent / "cases" / "chelsea.md").read_text()
    assert '--8<-- "discussion/chelsea.md"' in page


@pytest.mark.slow
def test_discussion_edit_changes_only_that_case_page_in_site(tmp_path):
    manifest = random_resnet_manifest(
        cases=[{"id": "chelsea", "image": "images/chelsea.png"}, {"id": "coffee", "image": "images/coffee.png"}]
    )
    path = make_project(tmp_path, manifest, images=[path for path in (COFFEE,)] + [COFFEE.parent / "chelsea.png"])
    assert build(path).returncode == 0
    site = path.parent.parent / "site"
    before = {p: digest(p) for p in site.rglob("*.html")}
    (path.parent / "discussion" / "coffee.md").write_text("Espresso, clearly.\n")
    assert build(path).returncode == 0
    after = {p: digest(p) for p in site.rglob("*.html")}
    changed = sorted(str(p.relative_to(site)) for p in after if before.get(p) != after[p])
    assert changed == ["cases/coffee.html", "print_page.html"]  # the print page holds every case
    assert "Espresso, clearly." in (site / "cases" / "coffee.html").read_text()


@pytest.mark.slow
def test_manifest_text_is_escaped_everywhere(tmp_path):
    manifest = random_resnet_manifest(
        title=HOSTILE,
        intro=HOSTILE,
        cases=[{"id": "chelsea", "image": "images/chelsea.png", "title": HOSTILE, "label": "tabby"}],
    )
    manifest["models"][0]["display_name"] = "R18 <i>&amp;</i>"
    path = make_project(tmp_path, manifest)
    result = build(path)
    assert result.returncode == 0, result.stderr
    site = path.parent.parent / "site"
    for page in (site / "index.html", site / "cases" / "chelsea.html"):
        html = page.read_text()
        assert "<script>alert" not in html and "<b>bold</b>" not in html and "<i>&amp;</i>" not in html
        assert "&lt;script&gt;alert(" in html
    case_html = (site / "cases" / "chelsea.html").read_text()
    assert (
        "Cats &amp; &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &lt;b&gt;bold&lt;/b&gt; | pipe *star*"
        in case_html
    )
    assert "R18 &lt;i&gt;&amp;amp;&lt;/i&gt;" in case_html


@pytest.mark.slow
def test_removed_case_keeps_discussion_prunes_output_and_warns(tmp_path):
    manifest = random_resnet_manifest(
        cases=[{"id": "chelsea", "image": "images/chelsea.png"}, {"id": "coffee", "image": "images/coffee.png"}]
    )
    path = make_project(tmp_path, manifest, images=[COFFEE, COFFEE.parent / "chelsea.png"])
    assert build(path, site=False).returncode == 0
    content = path.parent
    (content / "discussion" / "coffee.md").write_text("Keep me.\n")
    manifest["cases"] = manifest["cases"][:1]
    path.write_text(yaml.safe_dump(manifest))
    result = build(path, "-v", site=False)
    assert result.returncode == 0
    assert (content / "discussion" / "coffee.md").read_text() == "Keep me.\n"
    assert f"{content / 'discussion' / 'coffee.md'} belongs to no case or model in the manifest" in result.stderr
    assert not (content / "cases" / "coffee.md").exists() and not (content / "figures" / "coffee").exists()
    assert (content / "cases" / "chelsea.md").exists()


@pytest.mark.slow
def test_no_temp_files_left_and_manifest_untouched(tmp_path):
    path = make_project(tmp_path, random_resnet_manifest())
    before = path.read_bytes()
    assert build(path, site=False).returncode == 0
    assert path.read_bytes() == before
    assert not [p for p in path.parent.rglob("*.tmp")]
    nav = yaml.safe_load((path.parent / "nav.yml").read_text())
    assert nav["nav"][1] == {"Cases": [{"chelsea": "cases/chelsea.md"}]}


def methods_page(manifest_extra, inference):
    from generator.manifest.schema import Manifest, ModelSpec
    from generator.render.pages import PageRenderer
    from generator.run.devices import Inference
    from generator.run.models import load_model, resolve_weights

    manifest = Manifest.model_validate({"cases": [{"image": "images/chelsea.png"}], **manifest_extra})
    spec = ModelSpec(name="resnet18", weights="random")
    model = load_model(spec, resolve_weights(spec, ".", 0), 0)
    return PageRenderer(manifest, [model], Inference(*inference)).methods_page()


def test_methods_page_records_device_precision_and_what_runs_batched():
    fp32 = methods_page({}, ("cpu", "fp32"))
    assert (
        "LIME's 1000 perturbed images per model and the deletion and insertion curves "
        "run in batches of 8 (`batch_size: auto`) on the CPU, through the network traced and frozen by TorchScript"
        in fp32
    )
    assert "30 bootstrap resamples" in fp32 and "`metrics.stability: bootstrap`" in fp32  # the default: no re-runs
    reruns = methods_page({"metrics": {"stability": "reruns"}}, ("cpu", "fp32"))
    assert "the deletion and insertion curves and the LIME stability re-runs run in batches of 8" in reruns
    assert "LIME re-run with 3 seeds" in reruns and "bootstrap" not in reruns.split("## Inference")[0]
    assert "in float32 (`--precision fp32`, the default)." in fp32 and "bfloat16" not in fp32

    bf16 = methods_page({"explainers": {"lime": {"num_samples": 300}}}, ("cuda", "bf16"))
    assert "LIME's 300 perturbed images per model" in bf16 and "on the GPU (CUDA), in **bfloat16**" in bf16
    assert "TorchScript" not in bf16  # GPUs run the eager network

    lime_off = methods_page({"explainers": {"lime": {"enabled": False}}}, ("cpu", "fp32"))
    assert (
        "The deletion and insertion curves run in batches" in lime_off
        and "stability" not in lime_off.split("## Inference")[1].split("## Software")[0]
    )


@pytest.mark.slow
def test_report_level_author_files_are_created_once_and_never_changed(tmp_path):
    from generator.manifest.author_files import CONCLUSION, INTRODUCTION, model_note_path

    path = make_project(tmp_path, random_resnet_manifest())
    assert build(path).returncode == 0
    content, site = path.parent, path.parent.parent / "site"
    files = [content / INTRODUCTION, content / CONCLUSION, content / model_note_path("r18")]
    assert all("This file is yours" in f.read_text() for f in files)
    texts = ["Why these photos.\n", "So it goes.\n", "A small random ResNet.\r\n"]
    for file, text in zip(files, texts):
        file.write_bytes(text.encode())
    assert build(path).returncode == 0
    assert [f.read_bytes() for f in files] == [t.encode() for t in texts]
    index, methods = (site / "index.html").read_text(), (site / "methods.html").read_text()
    assert "Why these photos." in index and "So it goes." in index and "A small random ResNet." in methods
    files[1].unlink()
    assert build(path, site=False).returncode == 0
    assert "No conclusion written yet." in files[1].read_text()


def test_methods_page_gives_the_measurements_own_batch_size():
    text = methods_page({"metrics": {"batch_size": 16}}, ("cpu", "fp32", 8, 16))
    assert "run in batches of 8 (`batch_size: auto`) (the measurements in batches of 16) on the CPU" in text
    same = methods_page({}, ("cpu", "fp32", 8, 8))
    assert "the measurements in batches" not in same
    lime_off = methods_page(
        {"explainers": {"lime": {"enabled": False}}, "metrics": {"batch_size": 16}}, ("cpu", "fp32", 8, 16)
    )
    assert "The deletion and insertion curves run in batches of 16 on the CPU" in lime_off
