"""Incremental rebuilds: what each input change recomputes, through the real build."""

import copy
import shutil
from dataclasses import replace

import pytest
import yaml
from PIL import Image

from generator import resources
from generator.build import BuildOptions, build_report
from tests.helpers import COFFEE, make_project, random_resnet_manifest

pytestmark = pytest.mark.slow  # every test changes a copy of one real build

KINDS_PER_CASE = {"probabilities": 1, "segments": 1, "explanation": 2, "metrics": 1}  # one model, two explainers


def options_for(folder):
    return BuildOptions(
        manifest=folder / "content" / "manifest.yaml", site=False, show_progress=False, cache_dir=folder / "cache"
    )


@pytest.fixture(scope="module")
def cold(tmp_path_factory):
    """One cold build for the module: (its folder, its summary). Tests change a copy of it."""
    folder = tmp_path_factory.mktemp("incremental")
    manifest = random_resnet_manifest(
        cases=[
            {"id": "chelsea", "image": "images/chelsea.png"},
            {"id": "coffee", "image": "images/coffee.png"},
        ]
    )
    make_project(folder, manifest, images=[COFFEE, COFFEE.parent / "chelsea.png"])
    return folder, manifest, build_report(options_for(folder))


@pytest.fixture()
def project(cold, tmp_path):
    """A copy of the cold-built project (content and cache), for a test to change."""
    folder, manifest, _ = cold
    shutil.copytree(folder, tmp_path, dirs_exist_ok=True)
    options = options_for(tmp_path)
    return options.manifest, copy.deepcopy(manifest), options


def counts(summary):
    return summary.cache_hits, summary.cache_misses


def test_noop_rebuild_runs_no_model(cold, project, monkeypatch):
    path, _, options = project
    assert counts(cold[2]) == (0, 10)  # the cold build computed every step
    import generator.run.inference as inference

    def forbidden(*args, **kwargs):
        raise AssertionError("a model ran on a no-op rebuild")

    monkeypatch.setattr(inference.BatchClassifier, "classify_batches", forbidden)  # LIME and the metrics
    monkeypatch.setattr("generator.compute.probabilities", forbidden)
    monkeypatch.setattr("generator.explain.gradcam.grad_cam", forbidden)
    assert counts(build_report(options)) == (10, 0)


def figure_files(content):
    return {path: path.read_bytes() for path in sorted((content / "figures").rglob("*")) if path.is_file()}


def test_noop_rebuild_renders_no_figure_and_writes_the_same_bytes(project, monkeypatch):
    path, _, options = project
    before = figure_files(path.parent)
    assert len(before) > 10

    def forbidden(*args, **kwargs):
        raise AssertionError("a figure was rendered on a no-op rebuild")

    monkeypatch.setattr("generator.utils.plots.laid_out_figure", forbidden)  # the curves figure
    monkeypatch.setattr("generator.utils.figures.image_bytes", forbidden)
    summary = build_report(options)
    assert figure_files(path.parent) == before and summary.written == 0
    with pytest.raises(AssertionError, match="a figure was rendered"):
        build_report(replace(options, force=True))  # --force renders again


def test_changed_image_recomputes_only_that_case(project):
    path, _, options = project
    before = (path.parent / "cases" / "chelsea.md").read_text()
    image = path.parent / "images" / "chelsea.png"
    Image.open(image).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(image)
    assert counts(build_report(options)) == (5, 5)
    assert (path.parent / "cases" / "chelsea.md").read_text() != before


def test_lime_setting_recomputes_lime_and_metrics_only(project):
    path, manifest, options = project
    manifest["explainers"]["lime"]["num_samples"] = 24
    path.write_text(yaml.safe_dump(manifest))
    # per case: probabilities, segments, Grad-CAM hit; LIME and metrics recomputed
    assert counts(build_report(options)) == (6, 4)


def test_stability_method_recomputes_the_metrics_only(project):
    path, manifest, options = project
    manifest["metrics"]["stability"] = "reruns"
    path.write_text(yaml.safe_dump(manifest))
    # per case: probabilities, segments, Grad-CAM, LIME hit; the metrics recomputed (with LIME's re-runs)
    assert counts(build_report(options)) == (8, 2)


def test_bootstrap_stability_runs_no_lime_again(project, monkeypatch):
    """The default estimate refits on the images the cached LIME run classified: no LIME, no classifier."""
    path, manifest, options = project
    assert "stability" not in manifest["metrics"]  # the default: bootstrap
    manifest["metrics"]["stability_seeds"] = 3  # a metrics setting: the metrics are computed again
    path.write_text(yaml.safe_dump(manifest))
    import generator.explain.lime as lime

    def forbidden(*args, **kwargs):
        raise AssertionError("bootstrap stability ran LIME again")

    monkeypatch.setattr(lime, "explain_with_lime", forbidden)
    assert counts(build_report(options)) == (8, 2)


def test_segmentation_setting_recomputes_segments_lime_and_metrics(project):
    path, manifest, options = project
    manifest["explainers"]["lime"]["kernel_size"] = 3
    path.write_text(yaml.safe_dump(manifest))
    assert counts(build_report(options)) == (4, 6)


def test_discussion_and_template_edits_recompute_nothing(project, tmp_path, monkeypatch):
    path, _, options = project
    (path.parent / "discussion" / "coffee.md").write_text("Edited.\n")
    templates = tmp_path / "templates"
    shutil.copytree(resources.templates_dir(), templates)
    case_template = templates / "case.md.j2"
    case_template.write_text(case_template.read_text() + "\nEdited template.\n")
    monkeypatch.setattr(resources, "templates_dir", lambda: templates)
    assert counts(build_report(options)) == (10, 0)
    assert "Edited template." in (path.parent / "cases" / "coffee.md").read_text()


def test_force_recomputes_everything(project, monkeypatch):
    """--force reads no result and computes and stores every one again, each under the key it had."""
    _, _, options = project
    results = options.cache_dir
    cached = {p.stem for p in results.rglob("*.npz") if p.relative_to(results).parts[0] != "figures"}
    assert len(cached) == 2 * sum(KINDS_PER_CASE.values())
    from generator.cache.store import ResultCache

    loaded, stored, real_load, real_store = [], [], ResultCache.load, ResultCache.store

    def spy_load(self, key):
        if self.root == results:
            loaded.append(key)
        return real_load(self, key)

    def spy_store(self, key, payload):
        if self.root == results:
            stored.append(key)
        return real_store(self, key, payload)

    monkeypatch.setattr(ResultCache, "load", spy_load)
    monkeypatch.setattr(ResultCache, "store", spy_store)
    assert counts(build_report(replace(options, force=True))) == (0, 0)
    assert loaded == [] and sorted(stored) == sorted(cached)


def test_truncated_cache_entry_is_recomputed(cold, project, tmp_path):
    _, _, options = project
    first = cold[2]
    cache = tmp_path / "cache"
    entries = sorted(p for p in cache.rglob("*.npz") if p.relative_to(cache).parts[0] != "figures")
    assert len(entries) == first.cache_misses
    victim = entries[0]
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    assert counts(build_report(options)) == (9, 1)
    assert counts(build_report(options)) == (10, 0)


def test_library_resolves_device_auto(project):
    """`build_report(BuildOptions(device="auto"))` works without the CLI: here "auto" is the CPU, so the
    CPU build's results are reused."""
    import torch

    _, _, options = project
    if torch.cuda.is_available():
        pytest.skip("auto would pick the GPU here")
    assert counts(build_report(replace(options, device="auto"))) == (10, 0)
