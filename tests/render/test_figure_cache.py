"""The figure cache: keyed by exactly what a figure shows; damaged entries are rendered again."""

import numpy as np
import pytest
from PIL import Image

from generator.cache.figure_cache import FigureCache, fingerprint
from generator.explain.lime import LimeResult
from generator.utils import figures


def lime_result(weights):
    return LimeResult(target=3, weights=np.asarray(weights, dtype=float), intercept=0.1, score=0.5, local_pred=0.2)


def test_fingerprint_follows_every_value_it_is_given():
    crop = np.zeros((4, 4, 3), np.uint8)
    base = fingerprint((crop, lime_result([0.1, 0.2]), 5))
    assert fingerprint((crop.copy(), lime_result([0.1, 0.2]), 5)) == base  # equal values, equal key
    changed_pixel = crop.copy()
    changed_pixel[1, 2, 0] = 1
    variants = [
        (changed_pixel, lime_result([0.1, 0.2]), 5),
        (crop.astype(np.int16), lime_result([0.1, 0.2]), 5),  # same numbers, other dtype
        (crop.reshape(2, 8, 3), lime_result([0.1, 0.2]), 5),  # same bytes, other shape
        (crop, lime_result([0.1, 0.2 + 1e-12]), 5),
        (crop, lime_result([0.1, 0.2]), 6),
        (crop, lime_result([0.1, 0.2]), 5.0),  # 5 and 5.0 are different arguments
        (Image.fromarray(crop), lime_result([0.1, 0.2]), 5),
    ]
    keys = {fingerprint(v) for v in variants}
    assert len(keys) == len(variants) and base not in keys


def test_fingerprint_refuses_types_without_stable_bytes():
    with pytest.raises(TypeError, match="cannot fingerprint a object"):
        fingerprint((object(),))


def counting(function):
    calls = []

    def wrapper(*args):
        calls.append(args)
        return function(*args)

    wrapper.__name__ = function.__name__
    return wrapper, calls


def test_second_render_comes_from_the_cache(tmp_path):
    cache = FigureCache(tmp_path)
    overlay, calls = counting(figures.heatmap_overlay)
    crop = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    heatmap = np.linspace(0, 1, 32 * 32).reshape(32, 32)
    first = cache.render(overlay, crop, heatmap)
    again = cache.render(overlay, crop, heatmap)
    assert first == again and first.startswith(b"\x89PNG") and len(calls) == 1
    cache.render(overlay, crop, heatmap[::-1].copy())  # another heatmap: rendered
    assert len(calls) == 2
    FigureCache(tmp_path, force=True).render(overlay, crop, heatmap)  # --force: rendered again
    assert len(calls) == 3


def test_damaged_entry_is_rendered_again(tmp_path):
    cache = FigureCache(tmp_path)
    picture, calls = counting(figures.picture)
    image = np.full((8, 8, 3), 200, np.uint8)
    expected = cache.render(picture, image)
    (entry,) = list(tmp_path.rglob("*.npz"))
    entry.write_bytes(entry.read_bytes()[:-40])  # truncated
    assert FigureCache(tmp_path).render(picture, image) == expected
    assert len(calls) == 2


def test_without_a_cache_folder_every_figure_is_rendered(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a cache written anywhere by default would land here
    picture, calls = counting(figures.picture)
    cache = FigureCache.beside_results(None)
    dark, light = np.zeros((8, 8, 3), np.uint8), np.full((8, 8, 3), 255, np.uint8)
    rendered = [cache.render(picture, dark), cache.render(picture, light), cache.render(picture, dark)]
    assert rendered == [figures.picture(dark), figures.picture(light), figures.picture(dark)]  # drawn directly
    assert rendered[0] != rendered[1]
    assert len(calls) == 3 and cache.cache is None and not list(tmp_path.iterdir())
