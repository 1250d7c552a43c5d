"""The cached pieces of one case: each keyed by exactly what it depends on.

Predictions depend on the image, the model and the preprocessing; what an explainer shares per case
(LIME's segmentation) on what it names (`Explainer.prepare_case`); each explainer's results also on
its own key parts (`Explainer.key_parts`: settings, precision) and the targets; the metrics on all of
those. Changing one LIME setting therefore recomputes LIME and the metrics, never Grad-CAM or the
predictions; editing a discussion or a template recomputes nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar, cast

from generator.cache.store import (
    ResultCache,
    computation_key,
    from_payload,
    library_versions,
    source_digest,
    to_payload,
)

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

Value = TypeVar("Value")


# What the keys read of the manifest, a model and an explainer. The cache imports none of them
# (tests/repository/test_layout.py), so it names here only the attributes it uses.
class KeyedManifest(Protocol):
    """generator.manifest.schema.Manifest, as far as the keys read it."""

    @property
    def preprocess(self) -> object: ...
    @property
    def seed(self) -> int: ...
    @property
    def explainers(self) -> object: ...
    @property
    def metrics(self) -> object: ...


class KeyedModel(Protocol):
    """generator.run.models.LoadedModel, as far as the keys read it."""

    @property
    def identity(self) -> dict[str, str]: ...


class KeyedExplainer(Protocol):
    """generator.explain.base.Explainer, as far as the keys read it."""

    @property
    def name(self) -> str: ...
    def key_parts(self) -> Mapping[str, object]: ...
    def code_modules(self) -> Sequence[str]: ...


class SharedFetch(Protocol):
    """What an explainer's `prepare_case` caches its per-case data with: `fetch(kind, parts, compute)`."""

    def __call__(self, kind: str, parts: dict[str, object], compute: Callable[[], Value]) -> Value | None: ...


class NotCached(LookupError):
    """A cache-only lookup (a case outside --only) found a result missing."""


class CaseCache:
    def __init__(
        self,
        cache: ResultCache | None,
        manifest: KeyedManifest,
        image_digest: str,
        device: str | torch.device = "cpu",
        precision: str = "fp32",
        force: bool = False,
        dry_run: bool = False,
        cached_only: bool = False,
    ) -> None:
        self.cache = cache
        self.dry_run = dry_run
        self.cached_only = cached_only  # raise NotCached instead of computing
        # (kind, model identity or None, explainer or None) that a build would compute (dry runs)
        self.missing: list[tuple[str, object, object]] = []
        self.manifest = manifest
        self.image_digest = image_digest
        self.device = str(device).split(":")[0]
        self.precision = precision
        self.force = force

    def fetch(
        self, kind: str, parts: dict[str, object], compute: Callable[[], Value], code: Iterable[str] = ()
    ) -> Value | None:
        """The cached value for these parts, or compute() stored under them (always computed with force).

        `code` names the modules that compute the value: the digest of their source and the versions of
        the libraries are part of the key, so a change to either recomputes the value. None on a dry run
        where the value is not cached.
        """
        if self.cache is None and not (self.cached_only or self.dry_run):
            return compute()
        key = computation_key(
            kind=kind,
            image=self.image_digest,
            preprocess=self.manifest.preprocess,
            code=source_digest(*code),
            libraries=library_versions(),
            **parts,
        )
        if not self.force and self.cache is not None:
            payload = self.cache.load(key)
            if payload is not None:
                # stored under this key by `compute` itself: a value of its type
                return cast(Value, from_payload(payload["value"]))
        if self.cached_only:
            raise NotCached(kind)
        if self.dry_run:
            self.missing.append((kind, parts.get("model"), parts.get("explainer")))
            return None
        started = time.perf_counter()
        value = compute()
        log.debug("%s %s computed in %.2f s", kind, describe_parts(parts), time.perf_counter() - started)
        if self.cache is not None:
            self.cache.store(key, {"value": to_payload(value)})
        return value

    def probabilities(self, model: KeyedModel, compute: Callable[[], Value], code: Iterable[str]) -> Value | None:
        return self.fetch("probabilities", {"model": model.identity, "device": self.device}, compute, code)

    def shared(self, explainer: KeyedExplainer) -> SharedFetch:
        """The `fetch` an explainer's `prepare_case` stores its per-case data with (keyed by its code)."""

        def fetch(kind: str, parts: dict[str, object], compute: Callable[[], Value]) -> Value | None:
            return self.fetch(kind, parts, compute, explainer.code_modules())

        return fetch

    def explanation(
        self, explainer: KeyedExplainer, model: KeyedModel, targets: Iterable[int], compute: Callable[[], Value]
    ) -> Value | None:
        parts: dict[str, object] = {
            "model": model.identity,
            "explainer": explainer.name,
            **explainer.key_parts(),
            "seed": self.manifest.seed,
            "targets": list(targets),
            "device": self.device,
        }
        return self.fetch("explanation", parts, compute, explainer.code_modules())

    def metrics(
        self, model: KeyedModel, targets: Iterable[int], compute: Callable[[], Value], code: Iterable[str]
    ) -> Value | None:
        parts: dict[str, object] = {
            "model": model.identity,
            "explainers": self.manifest.explainers,
            "metrics": self.manifest.metrics,
            "seed": self.manifest.seed,
            "targets": list(targets),
            "device": self.device,
            "precision": self.precision,
        }
        return self.fetch("metrics", parts, compute, code)


def describe_parts(parts: Mapping[str, object]) -> str:
    identity = parts.get("model")
    model = identity.get("name", "") if isinstance(identity, dict) else ""
    return " ".join(str(x) for x in (model, parts.get("explainer", "")) if x)
