"""`python -m generator check`: validate the manifest and every input, run no model, say what a build would compute."""

from dataclasses import dataclass, field
from pathlib import Path

from generator.cache.case_cache import model_identity
from generator.cache.store import ResultCache
from generator.compute import PredictionsMissing, compute_case
from generator.explain import enabled_explainers
from generator.manifest.loader import load_manifest
from generator.measure.measurer import Measurer
from generator.run.models import load_models
from generator.utils.errors import CaseError


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
    manifest = load_manifest(options.manifest)
    content_dir = Path(options.manifest).parent
    models = load_models(manifest, content_dir)
    cache = ResultCache(options.cache_dir) if options.cache_dir else None
    explainers = enabled_explainers(manifest.explainers, manifest.seed, options.precision, options.device)
    measurer = Measurer(manifest.metrics, explainers, manifest.preprocess, manifest.seed, options.device)
    return CheckReport(
        [
            check_case(manifest, content_dir, spec, models, explainers, measurer, cache, options)
            for spec in manifest.cases
        ]
    )


def check_case(manifest, content_dir, spec, models, explainers, measurer, cache, options):
    """The build's own walk over the case (generator.compute.compute_case) as a dry run: nothing computed."""
    status = CaseStatus(spec.case_id)
    then = []
    try:
        missing = compute_case(manifest, content_dir, spec, models, explainers, measurer, cache, options, dry_run=True)
    except CaseError as error:
        status.error = str(error)
        return status
    except PredictionsMissing as stop:
        missing, then = stop.missing, ["then every explanation and metric (the targets depend on the predictions)"]
    if options.force or cache is None:
        status.to_compute.append("everything (--force or no cache)")
    else:
        status.to_compute += describe(missing, models) + then
    return status


def describe(missing, models):
    items = []
    for kind, identity, explainer in missing:
        what = explainer if kind == "explanation" else kind
        labels = [m.label for m in models if model_identity(m) == identity]
        items.append(f"{what} ({', '.join(labels)})" if labels else what)
    return list(dict.fromkeys(items))
