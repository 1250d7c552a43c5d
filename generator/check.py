"""`python -m generator check`: validate the manifest and every input, run no model, say what a build would compute."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from generator.compute import PredictionsMissing
from generator.session import BuildSession
from generator.utils.errors import CaseError

if TYPE_CHECKING:
    from generator.manifest.schema import CaseSpec
    from generator.run.models import LoadedModel
    from generator.utils.options import BuildOptions


@dataclass
class CaseStatus:
    case_id: str
    error: str | None = None
    to_compute: list[str] = field(default_factory=list)  # human-readable items a build would compute


@dataclass
class CheckReport:
    cases: list[CaseStatus]

    @property
    def failed(self) -> list[CaseStatus]:
        return [c for c in self.cases if c.error]


def check_project(options: BuildOptions) -> CheckReport:
    """Load the manifest, resolve every model's weights, decode every image, consult the cache."""
    session = BuildSession.open(options)
    return CheckReport([check_case(session, spec) for spec in session.manifest.cases])


def check_case(session: BuildSession, spec: CaseSpec) -> CaseStatus:
    """The build's own walk over the case (generator.compute.compute_case) as a dry run: nothing computed."""
    status = CaseStatus(spec.case_id)
    then: list[str] = []
    options, models = session.options, session.models
    try:
        missing = session.compute(spec, dry_run=True)
    except CaseError as error:
        status.error = str(error)
        return status
    except PredictionsMissing as stop:
        missing, then = stop.missing, ["then every explanation and metric (the targets depend on the predictions)"]
    if options.force or session.cache is None:
        status.to_compute.append("everything (--force or no cache)")
    else:
        status.to_compute += describe(missing, models) + then
    return status


def describe(missing: Sequence[tuple[str, object, object]], models: Sequence[LoadedModel]) -> list[str]:
    items: list[str] = []
    for kind, identity, explainer in missing:
        what = str(explainer) if kind == "explanation" else kind  # the explainer's name, for an explanation
        labels = [m.label for m in models if m.identity == identity]
        items.append(f"{what} ({', '.join(labels)})" if labels else what)
    return list(dict.fromkeys(items))
