"""The cached pieces of one case: each keyed by exactly what it depends on.

Predictions depend on the image, the model and the preprocessing; what an explainer shares per case
(LIME's segmentation) on what it names (`Explainer.prepare_case`); each explainer's results also on
its own key parts (`Explainer.key_parts`: settings, precision) and the targets; the metrics on all of
those. Changing one LIME setting therefore recomputes LIME and the metrics, never Grad-CAM or the
predictions; editing a discussion or a template recomputes nothing.
"""

import logging
import time

from generator.cache.store import computation_key, from_payload, library_versions, source_digest, to_payload

log = logging.getLogger(__name__)


class NotCached(LookupError):
    """A cache-only lookup (a case outside --only) found a result missing."""


class CaseCache:
    def __init__(
        self,
        cache,
        manifest,
        image_digest,
        device="cpu",
        precision="fp32",
        force=False,
        dry_run=False,
        cached_only=False,
    ):
        self.cache = cache
        self.dry_run = dry_run
        self.cached_only = cached_only  # raise NotCached instead of computing
        self.missing = []  # (kind, model identity or None, explainer) that a build would compute (dry runs)
        self.manifest = manifest
        self.image_digest = image_digest
        self.device = str(device).split(":")[0]
        self.precision = precision
        self.force = force

    def fetch(self, kind, parts, compute, code=()):
        """The cached value for these parts, or compute() stored under them (always computed with force).

        `code` names the modules that compute the value: the digest of their source and the versions of
        the libraries are part of the key, so a change to either recomputes the value.
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
                return from_payload(payload["value"])
        if self.cached_only:
            raise NotCached(kind)
        if self.dry_run:
            self.missing.append((kind, parts.get("model"), parts.get("explainer")))
            return None
        started = time.perf_counter()
        value = compute()
        log.debug("%s %s computed in %.2f s", kind, describe_parts(parts), time.perf_counter() - started)
        self.cache.store(key, {"value": to_payload(value)})
        return value

    def probabilities(self, model, compute, code):
        return self.fetch("probabilities", {"model": model_identity(model), "device": self.device}, compute, code)

    def shared(self, explainer):
        """The `fetch` an explainer's `prepare_case` stores its per-case data with (keyed by its code)."""
        return lambda kind, parts, compute: self.fetch(kind, parts, compute, explainer.code_modules())

    def explanation(self, explainer, model, targets, compute):
        parts = {
            "model": model_identity(model),
            "explainer": explainer.name,
            **explainer.key_parts(),
            "seed": self.manifest.seed,
            "targets": list(targets),
            "device": self.device,
        }
        return self.fetch("explanation", parts, compute, explainer.code_modules())

    def metrics(self, model, targets, compute, code):
        parts = {
            "model": model_identity(model),
            "explainers": self.manifest.explainers,
            "metrics": self.manifest.metrics,
            "seed": self.manifest.seed,
            "targets": list(targets),
            "device": self.device,
            "precision": self.precision,
        }
        return self.fetch("metrics", parts, compute, code)


def describe_parts(parts):
    model = parts.get("model", {}).get("name", "")
    return " ".join(str(x) for x in (model, parts.get("explainer", "")) if x)


def model_identity(model):
    return {"name": model.spec.name, "weights": model.weights.digest, "layer": model.target_layer_name}
