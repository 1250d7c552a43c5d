"""A content-addressed cache of computed results: one checksummed .npz file per computation key.

Key: sha256 of a canonical JSON of everything the computation depends on (image bytes digest,
model and weights digest, preprocessing, explainer settings, seed, targets, precision, device
type, the digest of the source of the modules that compute it and the versions of the libraries).

Entry file `root/<key[:2]>/<key>.npz`, written atomically, read with allow_pickle=False:
  `__meta__`  uint8 array holding UTF-8 JSON {"format", "key", "tree", "arrays", "sha256"}
  `a0`, `a1`  one member per numpy array of the payload
`tree` is the payload with every array replaced by {"__array__": name}, tuples by
{"__tuple__": [...]} and dicts by {"__dict__": {...}} (string keys only). `sha256` covers the
tree and every array's name, dtype, shape and bytes, so a truncated, corrupt or foreign file is
detected, logged at warning level and reported as a miss.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, TypeAlias

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel

from generator.utils.atomic import write_bytes
from generator.utils.digests import file_digest
from generator.utils.records import RESULT_TYPES

log = logging.getLogger(__name__)

FORMAT = 1  # layout of the entry file
DEFAULT_ROOT = Path(".cache/results")
META = "__meta__"
KEY_PATTERN = re.compile(r"^[0-9a-f]{64}$")

Json: TypeAlias = "None | bool | int | float | str | list[Json] | dict[str, Json]"
# what a cache entry holds: plain values, arrays, and tuples, lists and string-keyed dicts of them
Payload: TypeAlias = (
    "None | bool | int | float | str | NDArray[Any] | tuple[Payload, ...] | list[Payload] | dict[str, Payload]"
)
Arrays: TypeAlias = "dict[str, NDArray[Any]]"  # an entry's arrays by member name


class CorruptEntry(Exception):
    """An entry file that cannot be trusted (the reason is the message)."""


# the distributions whose installed versions are part of every result's key
RESULT_LIBRARIES: Final[tuple[str, ...]] = ("torch", "torchvision", "captum", "lime", "scikit-image", "numpy")


@functools.cache
def library_versions() -> dict[str, str | None]:
    """The installed versions of RESULT_LIBRARIES (None: not installed), part of every result's key."""
    from importlib.metadata import PackageNotFoundError, version

    found: dict[str, str | None] = {}
    for name in RESULT_LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


@functools.cache
def module_digest(module_name: str) -> str:
    """sha256 of a module's source file (a change to the file, a comment included, changes it)."""
    path = sys.modules[module_name].__file__
    if path is None:
        raise ValueError(f"module {module_name} has no source file, so it cannot be part of a cache key")
    return file_digest(path)


def source_digest(*module_names: str) -> str:
    """One digest of the source of these (imported) modules, in a stable order."""
    return bytes_digest("".join(f"{name}:{module_digest(name)};" for name in sorted(set(module_names))).encode())


def bytes_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical(value: object) -> Json:
    """JSON-ready form of a key part; refuses types whose text form is not a stable identity."""
    if isinstance(value, BaseModel):
        return canonical(value.model_dump(mode="json"))
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError(f"key part dicts need string keys: {list(value)!r}")
        return {k: canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if isinstance(value, np.generic):
        return canonical(value.item())
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot use {type(value).__name__} in a computation key; pass a digest or plain values")


def computation_key(**parts: object) -> str:
    """sha256 hex of the parts and the entry format (canonical JSON).

    The callers put everything a result depends on into the parts, the code that computes it included
    (`source_digest` of its modules and `library_versions`): nothing is versioned by hand.
    """
    document = {"format": FORMAT, "parts": canonical(parts)}
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return bytes_digest(text.encode("ascii"))


def encode(value: object, arrays: Arrays) -> Json:
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise TypeError("object arrays cannot be cached")
        name = f"a{len(arrays)}"
        arrays[name] = np.ascontiguousarray(value)
        return {"__array__": name}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError(f"payload dicts need string keys: {list(value)!r}")
        return {"__dict__": {k: encode(v, arrays) for k, v in value.items()}}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, arrays) for v in value]}
    if isinstance(value, list):
        return [encode(v, arrays) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot cache a {type(value).__name__}")


def decode(node: Json, arrays: Mapping[str, NDArray[Any]]) -> Payload:
    if isinstance(node, list):
        return [decode(v, arrays) for v in node]
    if not isinstance(node, dict):
        return node
    ((tag, inner),) = node.items()
    if tag == "__array__" and isinstance(inner, str):
        return arrays[inner]
    if tag == "__tuple__" and isinstance(inner, list):
        return tuple(decode(v, arrays) for v in inner)
    if tag == "__dict__" and isinstance(inner, dict):
        return {k: decode(v, arrays) for k, v in inner.items()}
    raise CorruptEntry(f"unknown tag {tag!r}")


def content_digest(tree: Json, arrays: Mapping[str, NDArray[Any]]) -> str:
    sha = hashlib.sha256(json.dumps(tree, separators=(",", ":")).encode())  # key order is payload order
    for name in sorted(arrays):
        array = arrays[name]
        sha.update(f"|{name}|{array.dtype.str}|{array.shape}|".encode())
        sha.update(np.ascontiguousarray(array).tobytes())
    return sha.hexdigest()


def pack(key: str, payload: Mapping[str, object]) -> bytes:
    arrays: Arrays = {}
    tree = encode(payload, arrays)
    meta = {
        "format": FORMAT,
        "key": key,
        "tree": tree,
        "arrays": {name: [a.dtype.str, list(a.shape)] for name, a in arrays.items()},
        "sha256": content_digest(tree, arrays),
    }
    meta_bytes = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    buffer = io.BytesIO()
    # numpy's stub lets **kwds fill savez's `allow_pickle`; these names are members (META, a0, a1, ...)
    np.savez(buffer, **{META: meta_bytes}, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


# numpy parses each member's header with ast.literal_eval, which CPython 3.11 does not make thread-safe: two
# threads reading entries at once can raise "SystemError: AST constructor recursion depth mismatch" (CPython
# gh-106905), which would read as a corrupt entry and recompute it. One reader at a time per process.
NPZ_READER = threading.Lock()


def unpack(key: str, path: Path) -> dict[str, Payload]:
    """The payload stored in `path`; raise CorruptEntry unless it is whole and belongs to `key`."""
    try:
        with NPZ_READER, np.load(path, allow_pickle=False) as npz:
            meta = json.loads(npz[META].tobytes().decode("utf-8"))
            expected = meta["arrays"]
            if set(npz.files) != set(expected) | {META}:
                raise CorruptEntry(f"members {sorted(npz.files)} do not match the metadata")
            arrays = {name: npz[name] for name in expected}
    except CorruptEntry:
        raise
    except Exception as error:  # zipfile, numpy and json raise many types for damaged files
        raise CorruptEntry(f"{type(error).__name__}: {error}") from None
    if meta.get("format") != FORMAT or meta.get("key") != key:
        raise CorruptEntry(f"format {meta.get('format')!r} / key {meta.get('key')!r} do not match")
    for name, (dtype, shape) in expected.items():
        if arrays[name].dtype.str != dtype or list(arrays[name].shape) != shape:
            raise CorruptEntry(f"array {name} has the wrong dtype or shape")
    if content_digest(meta["tree"], arrays) != meta["sha256"]:
        raise CorruptEntry("checksum mismatch")
    payload = decode(meta["tree"], arrays)
    if not isinstance(payload, dict):
        raise CorruptEntry(f"the payload is a {type(payload).__name__}, not a dict")
    return payload


@dataclasses.dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0  # includes corrupt entries
    corrupt: int = 0


class ResultCache:
    """load(key) -> payload dict or None; store(key, payload). Corrupt entries are misses."""

    def __init__(self, root: str | os.PathLike[str] = DEFAULT_ROOT) -> None:
        self.root = Path(root)
        self.stats = CacheStats()

    def path(self, key: str) -> Path:
        if not KEY_PATTERN.match(key):
            raise ValueError(f"not a computation key: {key!r}")
        return self.root / key[:2] / f"{key}.npz"

    def load(self, key: str) -> dict[str, Payload] | None:
        path = self.path(key)
        if not path.is_file():
            self.stats.misses += 1
            return None
        try:
            payload = unpack(key, path)
        except CorruptEntry as error:
            log.warning("result cache: ignoring corrupt entry %s (%s); recomputing", path, error)
            self.stats.corrupt += 1
            self.stats.misses += 1
            return None
        self.stats.hits += 1
        return payload

    def store(self, key: str, payload: dict[str, object]) -> None:
        if not isinstance(payload, dict):
            raise TypeError("a cache payload is a dict")
        write_bytes(self.path(key), pack(key, payload))


def to_payload(value: object) -> object:
    """Result dataclasses -> plain payload trees (dataclasses tagged by type, dicts as key/value pairs).

    Other values pass as they are: `encode` refuses what a cache entry cannot hold.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: to_payload(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"__type__": type(value).__name__, **fields}
    if isinstance(value, dict):
        return {"__items__": [[to_payload(k), to_payload(v)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return tuple(to_payload(v) for v in value)
    if isinstance(value, list):
        return [to_payload(v) for v in value]
    return value


def from_payload(node: object) -> object:
    """The values `to_payload` was given: result dataclasses rebuilt from their registered types."""
    if isinstance(node, dict) and "__type__" in node:
        cls = RESULT_TYPES.get(node["__type__"])
        if cls is None:
            raise CorruptEntry(f"unknown result type {node['__type__']!r}")
        return cls(**{k: from_payload(v) for k, v in node.items() if k != "__type__"})
    if isinstance(node, dict) and "__items__" in node:
        return {from_payload(k): from_payload(v) for k, v in node["__items__"]}
    if isinstance(node, dict):
        return {k: from_payload(v) for k, v in node.items()}
    if isinstance(node, tuple):
        return tuple(from_payload(v) for v in node)
    if isinstance(node, list):
        return [from_payload(v) for v in node]
    return node
