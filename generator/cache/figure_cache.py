"""Rendered figures kept in the cache, keyed by what they show: a rebuild re-renders nothing unchanged.

Key: the figure function's name, a fingerprint of its arguments (the result cache's payload digest:
array bytes, dataclass fields, plain values; PIL images as pixels), the source of
`generator/utils/figures.py` and `plots.py` and the matplotlib version, so a change to any of them renders the figure
again. Entries are checksummed cache files like the results (a damaged one is rendered again) under
`<cache dir>/figures/`, counted apart from the results.
"""

from __future__ import annotations

import hashlib
import inspect
import os
from collections.abc import Callable
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image

from generator.cache.store import Arrays, ResultCache, computation_key, content_digest, encode, to_payload
from generator.utils import figures, plots, region_figure

FIGURES_SOURCE_DIGEST = hashlib.sha256(
    b"".join(Path(inspect.getfile(m)).read_bytes() for m in (figures, plots, region_figure))
).hexdigest()

Draw = Callable[..., bytes]  # a figure function of generator.utils.figures or plots: its arguments -> PNG/JPEG bytes


def fingerprint(args: tuple[object, ...]) -> str:
    """sha256 hex of a figure function's arguments, through the result cache's own payload digest.

    Arrays count by dtype, shape and bytes, dataclasses by their fields, plain values by their JSON
    (so 5 and 5.0 differ); a PIL image counts as its mode and pixels. Other types are refused.
    """
    plain = tuple((arg.mode, np.asarray(arg)) if isinstance(arg, Image.Image) else arg for arg in args)
    arrays: Arrays = {}
    try:
        tree = encode(to_payload(plain), arrays)
    except TypeError as error:
        what = error.args[0].removeprefix("cannot cache ")
        raise TypeError(f"cannot fingerprint {what} for the figure cache") from None
    return content_digest(tree, arrays)


class FigureCache:
    """`render(function, *args)`: the figure's bytes, from the cache when the same figure was rendered before."""

    def __init__(self, root: str | os.PathLike[str] | None = None, force: bool = False) -> None:
        self.cache = ResultCache(Path(root)) if root else None
        self.force = force

    @classmethod
    def beside_results(cls, results_dir: str | os.PathLike[str] | None, force: bool = False) -> FigureCache:
        return cls(Path(results_dir) / "figures" if results_dir else None, force)

    def find(self, function: Draw, args: tuple[object, ...]) -> tuple[str | None, bytes | None]:
        """(key, the cached figure's bytes or None): None without a cache, with --force, when never rendered
        or damaged. The key (None without a cache) is what `keep` stores the drawn figure under."""
        if self.cache is None:
            return None, None
        key = computation_key(
            figure=function.__name__,
            arguments=fingerprint(args),
            figures_source=FIGURES_SOURCE_DIGEST,
            matplotlib=matplotlib.__version__,
        )
        payload = None if self.force else self.cache.load(key)
        stored = None if payload is None else payload.get("bytes")
        return key, stored.tobytes() if isinstance(stored, np.ndarray) else None

    def keep(self, key: str | None, data: bytes) -> None:
        if key is not None and self.cache is not None:
            self.cache.store(key, {"bytes": np.frombuffer(data, dtype=np.uint8)})

    def render(self, function: Draw, *args: object) -> bytes:
        key, data = self.find(function, args)
        if data is None:
            data = function(*args)
            self.keep(key, data)
        return data
