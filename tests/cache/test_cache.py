"""The result cache: exact round trips, keys that see every input, damaged entries never trusted."""

import logging
import threading

import numpy as np
import pytest

from generator.cache import store as cache
from generator.explain.gradcam import GradCamResult
from generator.explain.lime import LimeResult, LimeSpec
from generator.manifest.schema import PreprocessSpec
from generator.run.results import ModelResult, Prediction
from tests.payloads import array_from_payload, array_payload


def model_result(seed=0):
    rng = np.random.default_rng(seed)
    gradcam = {
        t: GradCamResult(t, rng.random((7, 7)), rng.random((224, 224)), rng.random((224, 224))) for t in (281, 285)
    }
    lime = {
        t: LimeResult(t, rng.normal(size=53), float(rng.normal()), 0.1 + seed, float(rng.random()))
        for t in (281, 285, 7)
    }
    top_k = tuple(Prediction(i, f"class {i}", float(p)) for i, p in zip((281, 285, 7), rng.random(3)))
    return ModelResult(
        model_key="resnet18", top_k=top_k, targets=(281, 285), explanations={"gradcam": gradcam, "lime": lime}
    )


def assert_same_result(a, b):
    assert (a.model_key, a.top_k, a.targets) == (b.model_key, b.top_k, b.targets)
    assert type(b.top_k) is tuple and type(b.targets) is tuple and all(type(p) is Prediction for p in b.top_k)
    assert list(a.explanations) == list(b.explanations)
    for name in a.explanations:
        left, right = a.explanations[name], b.explanations[name]
        assert list(left) == list(right)  # same targets, same order
        for target in left:
            for field, value in vars(left[target]).items():
                other = getattr(right[target], field)
                if isinstance(value, np.ndarray):
                    assert other.dtype == value.dtype and other.shape == value.shape
                    np.testing.assert_array_equal(other, value)
                else:
                    assert type(other) is type(value) and other == value


def key_parts(**changes):
    parts = dict(
        image=cache.bytes_digest(b"image bytes"),
        model="resnet18",
        weights="random-0",
        preprocess=PreprocessSpec().model_dump(),
        explainer="lime",
        settings=LimeSpec().model_dump(),
        seed=0,
        targets=(281, 285),
        precision="fp32",
        device="cpu",
    )
    parts.update(changes)
    return parts


@pytest.fixture
def store(tmp_path):
    return cache.ResultCache(tmp_path / "results")


def test_model_result_round_trips_exactly(store):
    result = model_result()
    key = cache.computation_key(**key_parts())
    store.store(key, cache.to_payload(result))
    loaded = store.load(key)
    assert_same_result(result, cache.from_payload(loaded))
    assert store.stats.hits == 1 and store.stats.misses == 0
    assert store.path(key) == store.root / key[:2] / f"{key}.npz"


def test_segments_and_plain_values_round_trip(store):
    segments = np.arange(224 * 224, dtype=np.int32).reshape(224, 224) % 61
    payload = {"segments": array_payload(segments), "none": array_payload(None)}
    payload |= {"nested": {"t": (1, 2.5, "x", [np.float32(3)]), "flag": True, "nan": float("nan")}}
    key = cache.computation_key(case="chelsea")
    store.store(key, payload)
    loaded = store.load(key)
    np.testing.assert_array_equal(array_from_payload(loaded["segments"]), segments)
    assert array_from_payload(loaded["segments"]).dtype == np.int32
    assert array_from_payload(loaded["none"]) is None
    assert loaded["nested"]["t"] == (1, 2.5, "x", [3.0]) and loaded["nested"]["flag"] is True
    assert np.isnan(loaded["nested"]["nan"])


def test_miss_for_another_key_and_for_an_empty_cache(store):
    key = cache.computation_key(**key_parts())
    assert store.load(key) is None
    store.store(key, cache.to_payload(model_result()))
    assert store.load(cache.computation_key(**key_parts(seed=1))) is None
    assert (store.stats.hits, store.stats.misses, store.stats.corrupt) == (0, 2, 0)


@pytest.mark.parametrize(
    "change",
    [
        {"image": cache.bytes_digest(b"other image bytes")},
        {"weights": "0123456789abcdef"},
        {"model": "resnet50"},
        {"preprocess": PreprocessSpec(crop=192).model_dump()},
        {"preprocess": PreprocessSpec(mean=(0.5, 0.5, 0.5)).model_dump()},
        {"explainer": "gradcam"},
        {"settings": LimeSpec(num_samples=500).model_dump()},
        {"settings": LimeSpec(hide_color=128).model_dump()},
        {"seed": 1},
        {"targets": (285, 281)},
        {"targets": (281,)},
        {"precision": "bf16"},
        {"device": "cuda"},
    ],
)
def test_every_input_changes_the_key(change):
    assert cache.computation_key(**key_parts(**change)) != cache.computation_key(**key_parts())


def test_key_is_stable_and_sees_the_entry_format(monkeypatch):
    key = cache.computation_key(**key_parts())
    assert key == cache.computation_key(**dict(reversed(key_parts().items())))  # order of parts is irrelevant
    assert key == cache.computation_key(**key_parts(targets=[281, 285], seed=np.int64(0)))
    assert len(key) == 64 and int(key, 16) >= 0
    monkeypatch.setattr(cache, "FORMAT", cache.FORMAT + 1)
    assert cache.computation_key(**key_parts()) != key


def test_source_digest_follows_the_modules_source(tmp_path, monkeypatch):
    import importlib.util
    import sys

    import generator.measure.metrics  # noqa: F401 - a module of the package, loaded whatever ran before

    path = tmp_path / "computing_module.py"
    path.write_text("VALUE = 1\n")
    spec = importlib.util.spec_from_file_location("computing_module", path)
    monkeypatch.setitem(sys.modules, "computing_module", importlib.util.module_from_spec(spec))
    before = cache.source_digest("computing_module", "generator.measure.metrics")
    assert before == cache.source_digest("generator.measure.metrics", "computing_module")  # order is irrelevant
    path.write_text("VALUE = 1  # a comment is a change\n")
    cache.module_digest.cache_clear()
    assert cache.source_digest("computing_module", "generator.measure.metrics") != before
    assert set(cache.library_versions()) >= {"torch", "torchvision", "captum", "lime", "scikit-image"}


def test_key_refuses_values_without_a_stable_identity():
    with pytest.raises(TypeError):
        cache.computation_key(model=object())
    with pytest.raises(ValueError):
        cache.computation_key(scale=float("nan"))


def test_digests(tmp_path):
    path = tmp_path / "image.png"
    path.write_bytes(b"\x89PNG" * 1000)
    assert cache.file_digest(path) == cache.bytes_digest(b"\x89PNG" * 1000)
    assert cache.file_digest(path, chunk=7) == cache.file_digest(path)


def truncate(data):
    return data[: len(data) // 2]


def flip_bytes(data):
    data = bytearray(data)
    for offset in range(len(data) // 3, len(data) // 3 + 16):  # inside an array member
        data[offset] ^= 0xFF
    return bytes(data)


@pytest.mark.parametrize("damage", [truncate, flip_bytes, lambda data: b""], ids=["truncated", "flipped", "empty"])
def test_damaged_entries_are_detected_then_overwritten(store, damage, caplog):
    result = model_result()
    key = cache.computation_key(**key_parts())
    store.store(key, cache.to_payload(result))
    path = store.path(key)
    path.write_bytes(damage(path.read_bytes()))
    with caplog.at_level(logging.WARNING, logger="generator.cache.store"):
        assert store.load(key) is None
    assert store.stats.corrupt == 1 and store.stats.misses == 1 and store.stats.hits == 0
    assert str(path) in caplog.text and "corrupt" in caplog.text
    store.store(key, cache.to_payload(result))  # the recomputed result replaces it
    assert_same_result(result, cache.from_payload(store.load(key)))
    assert store.stats.hits == 1


def test_checksum_catches_damage_the_zip_cannot_see(store, monkeypatch):
    key = cache.computation_key(**key_parts())
    data = cache.pack(key, {"weights": np.zeros(4)})
    real_digest = cache.content_digest
    monkeypatch.setattr(cache, "content_digest", lambda tree, arrays: real_digest(tree, {"a0": np.ones(4)}))
    forged = cache.pack(key, {"weights": np.zeros(4)})  # valid zip, valid CRCs, checksum of other content
    monkeypatch.undo()
    store.path(key).parent.mkdir(parents=True)
    store.path(key).write_bytes(forged)
    assert store.load(key) is None and store.stats.corrupt == 1
    store.path(key).write_bytes(data)
    np.testing.assert_array_equal(store.load(key)["weights"], np.zeros(4))


def test_an_entry_under_the_wrong_key_is_not_trusted(store):
    key, other = cache.computation_key(n=1), cache.computation_key(n=2)
    store.store(key, {"value": 1})
    store.path(other).parent.mkdir(parents=True, exist_ok=True)
    store.path(other).write_bytes(store.path(key).read_bytes())
    assert store.load(other) is None and store.stats.corrupt == 1


def test_payloads_the_format_cannot_hold_are_refused(store):
    key = cache.computation_key(n=1)
    for payload in ({1: "int key"}, {"x": object()}, {"x": np.array([object()])}):
        with pytest.raises(TypeError):
            store.store(key, payload)
    with pytest.raises(ValueError):
        store.path("../../etc/passwd")
    assert not store.root.exists() or not any(store.root.rglob("*.npz"))


def test_concurrent_stores_are_atomic_and_leave_no_temp_files(store):
    keys = [cache.computation_key(n=n % 4) for n in range(16)]
    results = [model_result(seed=n % 4) for n in range(16)]
    errors = []

    def worker(n):
        try:
            for _ in range(3):
                store.store(keys[n], cache.to_payload(results[n]))
                loaded = store.load(keys[n])  # whichever writer won, the entry is whole
                assert loaded is not None
                assert_same_result(results[n], cache.from_payload(loaded))
        except BaseException as error:  # reported in the main thread
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    files = sorted(p.name for p in store.root.rglob("*") if p.is_file())
    assert files == sorted(f"{key}.npz" for key in set(keys))
    assert store.stats.corrupt == 0
