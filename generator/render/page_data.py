"""What the pages show, as typed data: the records the page builders fill and the templates lay out.

Below every page builder (case, overview, gallery, summary, viewer read them; none is imported back), so
the render stage has no import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from generator.render.pages_format import shown_k

if TYPE_CHECKING:
    from generator.explain.base import FigureKind
    from generator.measure.measurer import TargetMetrics
    from generator.measure.metrics import Agreement
    from generator.render.metric_tables import Table
    from generator.render.region_tables import RegionSection
    from generator.run.results import Prediction


@dataclass(frozen=True)
class ModelColumn:
    """What a page shows of one model on one case."""

    key: str
    label: str
    weights: str
    is_random: bool
    top_k: tuple[Prediction, ...]
    targets: tuple[tuple[int, str], ...]  # (index, name)
    correct: bool | None  # None: no ground truth, or the model lacks its class (label_note says so)
    label_note: str | None = None
    output: str = "softmax"  # what the scores are (LoadedModel.output): softmax, sigmoid or logits
    samples: dict[str, int | None] | None = (
        None  # explainer name -> model evaluations it used, where the method decides how many
    )

    def target_named(self, name: str) -> int | None:
        """This model's index of a target the page shows by name (None: the model does not explain it)."""
        return next((index for index, own in self.targets if own == name), None)


@dataclass(frozen=True)
class MetricsRow:
    """One model and target on a case page's measurement tables."""

    model: str
    target: str
    metrics: TargetMetrics


@dataclass(frozen=True)
class ComparisonRow:
    method: str
    target: str
    model_a: str
    model_b: str
    agreement: Agreement


@dataclass(frozen=True)
class MethodSection:
    """One explainer's part of a case page: its heading, its sentence and its figure kinds (tabs)."""

    name: str
    title: str
    intro: str  # Markdown, rendered from the explainer's `section`
    kinds: tuple[FigureKind, ...]  # the tabs
    width: int
    left_out: tuple[LeftOut, ...] = ()  # the models it cannot explain (an ONNX file), each with the reason


@dataclass(frozen=True)
class LeftOut:
    key: str
    label: str
    reason: str


@dataclass(frozen=True)
class CasePage:
    case_id: str
    title: str
    image_path: str
    label_name: str | None
    columns: tuple[ModelColumn, ...]
    agree: bool
    methods: tuple[MethodSection, ...]  # one per explainer that explained something on this case
    metrics_rows: tuple[MetricsRow, ...] = ()
    faithfulness_table: Table | None = None  # None when nothing was measured
    road_table: Table | None = None
    focus_table: Table | None = None
    comparisons: tuple[ComparisonRow, ...] = ()
    observations: tuple[str, ...] = ()
    has_curves: bool = False
    regions: RegionSection | None = None  # None: the case marks no region

    @property
    def comparisons_k(self) -> str:
        """The k of the model-against-model overlaps, as their column heading names it."""
        return shown_k(c.agreement for c in self.comparisons)

    @property
    def sanity_flags(self) -> list[tuple[str, str, str, float]]:
        """(model, target, method, rho) of every map that barely changed under the sanity check."""
        return [
            (row.model, row.target, method, rho)
            for row in self.metrics_rows
            for method, rho in row.metrics.sanity.items()
            if row.metrics.sanity_flagged(method)
        ]

    @property
    def target_names(self) -> tuple[str, ...]:
        """Every target any model explains, by name, in the models' order: the rows of the figure grids."""
        return tuple(dict.fromkeys(name for column in self.columns for _, name in column.targets))
