"""Rendered figures kept in the cache, keyed by what they show: a rebuild re-renders nothing unchanged.

Key: the figure function's name, a fingerprint of its arguments (array bytes, dataclass fields, plain
values, PIL image pixels), the source of `generator/figures.py` and the matplotlib version, so a change
to any of them renders the figure again. Entries are checksummed cache files like the results (a
damaged one is rendered again) under `<cache dir>/figures/`, counted apart from the results.
"""

import dataclasses
import hashlib
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image

from generator import figures
from generator.cache import ResultCache, computation_key

FIGURES_SOURCE_DIGEST = hashlib.sha256(Path(figures.__file__).read_bytes()).hexdigest()


def fingerprint(value, sha=None):
    """sha256 hex of a figure function's arguments; refuses types without a stable byte form."""
    sha = sha or hashlib.sha256()
    if isinstance(value, np.ndarray):
        sha.update(f"array|{value.dtype.str}|{value.shape}|".encode())
        sha.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, Image.Image):
        sha.update(f"image|{value.mode}|{value.size}|".encode())
        sha.update(value.tobytes())
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        sha.update(f"dataclass|{type(value).__name__}|".encode())
        for field in dataclasses.fields(value):
            sha.update(f"{field.name}=".encode())
            fingerprint(getattr(value, field.name), sha)
    elif isinstance(value, dict):
        sha.update(f"dict|{len(value)}|".encode())
        for key, item in value.items():
            fingerprint(key, sha)
            fingerprint(item, sha)
    elif isinstance(value, (list, tuple)):
        sha.update(f"sequence|{len(value)}|".encode())
        for item in value:
            fingerprint(item, sha)
    elif isinstance(value, np.generic):
        fingerprint(value.item(), sha)
    elif value is None or isinstance(value, (bool, int, float, str)):
        sha.update(f"{type(value).__name__}|{value!r}|".encode())
    else:
        raise TypeError(f"cannot fingerprint a {type(value).__name__} for the figure cache")
    return sha.hexdigest()


class FigureCache:
    """`render(function, *args)`: the figure's bytes, from the cache when the same figure was rendered before."""

    def __init__(self, root=None, force=False):
        self.cache = ResultCache(Path(root)) if root else None
        self.force = force

    @classmethod
    def beside_results(cls, results_dir, force=False):
        return cls(Path(results_dir) / "figures" if results_dir else None, force)

    def render(self, function, *args):
        if self.cache is None:
            return function(*args)
        key = computation_key(
            figure=function.__name__,
            arguments=fingerprint(args),
            figures_source=FIGURES_SOURCE_DIGEST,
            matplotlib=matplotlib.__version__,
        )
        payload = None if self.force else self.cache.load(key)
        if payload is not None:
            return payload["bytes"].tobytes()
        data = function(*args)
        self.cache.store(key, {"bytes": np.frombuffer(data, dtype=np.uint8)})
        return data

    @property
    def stats(self):
        return self.cache.stats if self.cache else None
