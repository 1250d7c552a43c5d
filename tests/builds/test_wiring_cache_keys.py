"""Every part of every cache key matters, read from the keys a real build composes.

One cold build of the tiny report (tests/wiring.py) records the key of each cached entry: the predictions, the
case's superpixels, each explainer's explanation and the metrics. Each test changes one input of a copy of it
(the seed, one setting, the weights file, the photo's bytes, the preprocessing) and rebuilds: exactly the entries
that input feeds get new keys and are computed again; every other entry keeps its key and is read from the cache.
"""

import shutil

import pytest
import yaml
from PIL import Image

from tests.wiring import make_tiny_project, recorded_build, tiny_manifest, write_manifest, write_weights

PREDICTIONS = ("probabilities", "")
SEGMENTS = ("segments", "")
GRADCAM = ("explanation", "gradcam")
LIME = ("explanation", "lime")
IG = ("explanation", "integrated_gradients")
METRICS = ("metrics", "")
ENTRIES = {PREDICTIONS, SEGMENTS, GRADCAM, LIME, IG, METRICS}
EXPLANATIONS = {GRADCAM, LIME, IG}


def entries(record):
    """{(kind, explainer): key} of the one case's entries (the photo's digest dropped: it is the same case)."""
    return {(kind, explainer): key for (_, kind, explainer), key in record.keys.items()}


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """The cold build's project folder and its {entry: key}."""
    folder = make_tiny_project(tmp_path_factory.mktemp("keys"))
    with pytest.MonkeyPatch.context() as monkeypatch:
        record = recorded_build(folder, monkeypatch)
    keys = entries(record)
    assert set(keys) == ENTRIES and {(k, e) for _, k, e in record.computed()} == ENTRIES
    return folder, keys


def set_key(manifest, path, value):
    """manifest[a][b]... = value for a dotted path."""
    *parents, last = path.split(".")
    node = manifest
    for part in parents:
        node = node.setdefault(part, {}) if isinstance(node, dict) else node[int(part)]
    node[last] = value


def manifest_change(path, value):
    def change(folder):
        manifest = tiny_manifest()
        set_key(manifest, path, value)
        write_manifest(folder, manifest)

    return change


def new_weights(folder):
    write_weights(folder / "content" / "net.pth", seed=1)


def flipped_photo(folder):
    photo = folder / "content" / "images" / "chelsea.png"
    Image.open(photo).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(photo)


LIME_ONLY = {LIME, METRICS}
SEGMENTATION = {SEGMENTS, LIME, METRICS}
# (name, change, the entries it must recompute: all others are reused)
CHANGES = [
    ("seed", manifest_change("seed", 1), {SEGMENTS, *EXPLANATIONS, METRICS}),
    ("lime.num_samples", manifest_change("explainers.lime.num_samples", 24), LIME_ONLY),
    ("lime.hide_color", manifest_change("explainers.lime.hide_color", 100), LIME_ONLY),
    ("lime.top_labels", manifest_change("explainers.lime.top_labels", 2), LIME_ONLY),
    ("lime.num_features", manifest_change("explainers.lime.num_features", 3), LIME_ONLY),
    ("lime.batch_size", manifest_change("explainers.lime.batch_size", 7), LIME_ONLY),
    ("lime.kernel_size", manifest_change("explainers.lime.kernel_size", 3), SEGMENTATION),
    ("lime.max_dist", manifest_change("explainers.lime.max_dist", 50), SEGMENTATION),
    ("lime.ratio", manifest_change("explainers.lime.ratio", 0.5), SEGMENTATION),
    ("ig.steps", manifest_change("explainers.integrated_gradients.steps", 5), {IG, METRICS}),
    ("ig.internal_batch_size", manifest_change("explainers.integrated_gradients.internal_batch_size", 2), {IG, METRICS}),
    ("metrics.steps", manifest_change("metrics.steps", 5), {METRICS}),
    ("metrics.hide_color", manifest_change("metrics.hide_color", 128), {METRICS}),
    ("metrics.stability_seeds", manifest_change("metrics.stability_seeds", 3), {METRICS}),
    ("metrics.stability", manifest_change("metrics.stability", "reruns"), {METRICS}),
    ("metrics.top_k", manifest_change("metrics.top_k", 2), {METRICS}),
    ("metrics.faithfulness", manifest_change("metrics.faithfulness", False), {METRICS}),
    ("metrics.sanity", manifest_change("metrics.sanity", False), {METRICS}),
    ("metrics.road", manifest_change("metrics.road", True), {METRICS}),
    ("metrics.batch_size", manifest_change("metrics.batch_size", 9), {METRICS}),
    # read from the cached maps at every build: no cached entry depends on it
    ("metrics.pointing_tolerance", manifest_change("metrics.pointing_tolerance", 3.0), set()),
    ("title", manifest_change("title", "Another title"), set()),
    ("case targets", manifest_change("cases.0.targets", ["rocket"]), EXPLANATIONS | {METRICS}),
    ("model weights", new_weights, ENTRIES - {SEGMENTS}),
    ("model target_layer", manifest_change("models.0.target_layer", "0"), ENTRIES - {SEGMENTS}),
    ("model mean", manifest_change("models.0.mean", [0.5, 0.5, 0.5]), ENTRIES - {SEGMENTS}),
    ("model output", manifest_change("models.0.output", "logits"), ENTRIES - {SEGMENTS}),
    ("image bytes", flipped_photo, ENTRIES),
    ("preprocess.resize", manifest_change("preprocess.resize", [80, 76]), ENTRIES),
    ("preprocess.crop", manifest_change("preprocess.crop", 56), ENTRIES),
    ("preprocess.mean", manifest_change("preprocess.mean", [0.5, 0.5, 0.5]), ENTRIES),
    ("preprocess.background", manifest_change("preprocess.background", [0, 0, 0]), ENTRIES),
]


@pytest.mark.parametrize("change, recomputed", [c[1:] for c in CHANGES], ids=[c[0] for c in CHANGES])
def test_one_change_recomputes_exactly_the_entries_it_feeds(baseline, tmp_path, monkeypatch, change, recomputed):
    folder, before = baseline
    shutil.copytree(folder, tmp_path, dirs_exist_ok=True)
    change(tmp_path)
    record = recorded_build(tmp_path, monkeypatch)
    after = entries(record)
    assert set(after) == ENTRIES
    changed = {entry for entry in ENTRIES if after[entry] != before[entry]}
    computed = {(kind, explainer) for _, kind, explainer in record.computed()}
    reused = {(kind, explainer) for _, kind, explainer in record.reused()}
    assert changed == recomputed, "the entries whose key changed"
    assert computed == recomputed, "the entries computed again"
    assert reused == ENTRIES - recomputed, "the entries read from the cache"


def test_an_unchanged_rebuild_composes_the_same_keys_and_computes_nothing(baseline, tmp_path, monkeypatch):
    folder, before = baseline
    shutil.copytree(folder, tmp_path, dirs_exist_ok=True)
    record = recorded_build(tmp_path, monkeypatch)
    assert entries(record) == before
    assert not record.computed() and {(k, e) for _, k, e in record.reused()} == ENTRIES


def test_every_manifest_setting_that_feeds_a_cached_number_is_changed_above():
    """The list of changes covers every key of the explainers that run, the metrics and the preprocessing."""
    from generator.explain.integrated_gradients import IntegratedGradientsSpec
    from generator.explain.lime import LimeSpec
    from generator.manifest.schema import MetricsSpec, PreprocessSpec

    named = {name for name, _, _ in CHANGES}
    expected = {f"lime.{key}" for key in LimeSpec.model_fields if key != "enabled"}
    expected |= {f"ig.{key}" for key in IntegratedGradientsSpec.model_fields if key != "enabled"}
    expected |= {f"metrics.{key}" for key in MetricsSpec.model_fields}
    expected |= {f"preprocess.{key}" for key in PreprocessSpec.model_fields if key != "std"}  # mean stands for both
    assert expected - named == set()


def test_the_baseline_manifest_is_what_the_changes_start_from(baseline):
    folder, _ = baseline
    assert yaml.safe_load((folder / "content" / "manifest.yaml").read_text()) == tiny_manifest()
