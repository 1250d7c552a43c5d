"""`python -m generator check`: validate the manifest and every input, run no model, say what a build would compute."""

from dataclasses import dataclass, field
from pathlib import Path

from generator.cache import ResultCache, file_digest
from generator.case_cache import CaseCache, model_identity
from generator.compute import case_targets
from generator.errors import CaseError
from generator.explain import enabled_explainers
from generator.images import Preprocessor, decode_image
from generator.inference import top_k
from generator.manifest_loader import load_manifest


@dataclass
class CaseStatus:
    case_id: str
    error: str | None = None
    to_compute: list = field(default_factory=list)  # human-readable items a build would compute


@dataclass
class CheckReport:
    cases: list

    @property
    def failed(self):
        return [c for c in self.cases if c.error]


def check_project(options):
    """Load the manifest, resolve every model's weights, decode every image, consult the cache."""
    from generator.build import load_models

    manifest = load_manifest(options.manifest)
    content_dir = Path(options.manifest).parent
    models = load_models(manifest, content_dir)
    cache = ResultCache(options.cache_dir) if options.cache_dir else None
    explainers = enabled_explainers(manifest.explainers, manifest.seed, options.precision, options.device)
    return CheckReport(
        [check_case(manifest, content_dir, spec, models, explainers, cache, options) for spec in manifest.cases]
    )


def check_case(manifest, content_dir, spec, models, explainers, cache, options):
    status = CaseStatus(spec.case_id)
    path = Path(content_dir) / spec.image
    try:
        original = decode_image(path, spec.case_id, manifest.preprocess.background)
        Preprocessor(manifest.preprocess).prepare(original)
    except CaseError as error:
        status.error = str(error)
        return status
    if options.force or cache is None:
        status.to_compute.append("everything (--force or no cache)")
        return status
    case_cache = CaseCache(cache, manifest, file_digest(path), options.device, options.precision, dry_run=True)
    if manifest.explainers.lime.enabled:
        case_cache.segments(None)
    probs = [case_cache.probabilities(model, None) for model in models]
    if any(p is None for p in probs):
        status.to_compute += describe(case_cache.missing, models)
        status.to_compute.append("then every explanation and metric (the targets depend on the predictions)")
        return status
    targets = case_targets(spec, [top_k(p, m.categories, manifest.top_k) for p, m in zip(probs, models)])
    for model in models:
        for explainer in explainers:
            case_cache.explanation(explainer, model, targets, None)
        case_cache.metrics(model, targets, None)
    status.to_compute += describe(case_cache.missing, models)
    return status


def describe(missing, models):
    items = []
    for kind, identity, explainer in missing:
        what = explainer if kind == "explanation" else kind
        labels = [m.label for m in models if model_identity(m) == identity]
        items.append(f"{what} ({', '.join(labels)})" if labels else what)
    return list(dict.fromkeys(items))
