"""The two tiers of a report's cases: with `explain:` in the manifest, every case is predicted by every model,
and only the cases its rules choose are explained, measured and given a page (generator/evaluate/selection.py).

Predictions go through the cases' result cache under the keys a full computation reads, so an explained case
predicts nothing twice, and changing the rules runs no model again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from generator.compute import predict_cases
from generator.evaluate.outcomes import case_outcome
from generator.evaluate.selection import Selection, select_cases
from generator.run.devices import batch_size_for
from generator.run.results import CaseFailure
from generator.utils.errors import CaseError
from generator.utils.phase_times import timed
from generator.utils.progress import progress

if TYPE_CHECKING:
    from generator.manifest.schema import CaseSpec
    from generator.run.results import CasePredictions
    from generator.session import BuildSession

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tiers:
    predicted: tuple[CasePredictions, ...]  # every case that could be predicted, in manifest order
    selection: Selection
    failures: tuple[CaseFailure, ...]  # cases whose image or model failed (--keep-going)

    def explained(self, cases: Sequence[CaseSpec]) -> list[CaseSpec]:
        chosen = set(self.selection.ids())
        return [spec for spec in cases if spec.case_id in chosen]

    def reasons(self) -> dict[str, tuple[str, ...]]:
        """{case id: why it was chosen, as sentences}."""
        return {case.case_id: case.sentences() for case in self.selection.chosen}


def predict_and_choose(session: BuildSession, cases: Sequence[CaseSpec]) -> Tiers | None:
    """Every case's predictions and the cases to explain; None without `explain:` (every case is explained)."""
    manifest, options = session.manifest, session.options
    if manifest.explain is None:
        return None
    predicted: list[CasePredictions] = []
    failures: list[CaseFailure] = []

    def failed(spec: CaseSpec, error: CaseError) -> None:
        if not options.keep_going:
            raise error
        log.error("%s", error)
        failures.append(CaseFailure(spec, str(error)))

    batch = batch_size_for("auto", options.device)
    with progress(total=len(cases), unit="case", enabled=options.show_progress and bool(cases)) as bar:
        for found in predict_cases(session, cases, batch, failed):
            predicted.append(found)
            bar.update(1)
    with timed("selection"):
        outcomes = [case_outcome(p, session.models, manifest.listed_by_hand(p.case_id)) for p in predicted]
        selection = select_cases(outcomes, manifest.explain.select, manifest.explain.max, manifest.seed)
    log.info(
        "Predicted %d case(s); explaining %d of them (%d more chosen by the rules, beyond explain.max)",
        len(predicted),
        len(selection.chosen),
        len(selection.left_out),
    )
    if predicted and not selection.chosen:
        log.warning(
            "explain.select chose no case: the report has the whole set's page and no case page (wrong, "
            "most_confident_wrong and per_class need labels; least_confident and random choose from any case)"
        )
    return Tiers(tuple(predicted), selection, tuple(failures))
