"""What the pages show, as typed data: the records the page builders fill and the templates lay out.

Below every page builder (case, overview, gallery, summary, viewer read them; none is imported back), so
the render stage has no import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from generator.explain.base import FigureKind
    from generator.measure.base import TargetMetrics
    from generator.run.results import Prediction
    from generator.utils.tables import Table


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
class MeasureSection:
    """A part of a case page's measurements: a measure's own (laid out by its `<name>.case.md.j2`) or the table
    the measures share (`name` SHARED_TABLE: a heading naming their topics and the table)."""

    name: str
    heading: str
    table: Table | None
    shown: bool
    figures: tuple[str, ...] = ()  # the measure's figures of the case, paths relative to the content folder


@dataclass(frozen=True)
class MeasurePart:
    """A measure's part of a page outside the measurements' tables, laid out by its own template
    (`<name>.case_part.md.j2` on a case page, `<name>.means.md.j2` below the overview's means): `part.value` is
    what the measure returned (`Measure.case_part`, `Measure.overview_means`)."""

    name: str
    value: Any


@dataclass(frozen=True)
class MeasureAlert:
    """A measure's warning on a case page: the rows (model and target) it flags, each with the methods flagged."""

    name: str
    flagged: tuple[tuple[MetricsRow, tuple[str, ...]], ...]


@dataclass(frozen=True)
class ComparisonRow:
    method: str
    target: str
    model_a: str
    model_b: str
    agreement: Any  # the two maps' agreement, the record of the measure that compares models


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
    sections: tuple[MeasureSection, ...] = ()  # in the registry's order
    alerts: tuple[MeasureAlert, ...] = ()  # only the measures that flag something
    comparisons: tuple[ComparisonRow, ...] = ()
    observations: tuple[str, ...] = ()
    parts: tuple[MeasurePart, ...] = ()  # the measures' own parts after the measurements, in the registry's order
    outlined: bool = False  # the model input's figure outlines the regions the case marks
    chosen_because: tuple[str, ...] = ()  # with `explain:`, why the case was chosen to be explained (sentences)

    @property
    def measured(self) -> bool:
        """Whether the page has a measurements section: some measure shows something."""
        return any(section.shown for section in self.sections)

    @property
    def target_names(self) -> tuple[str, ...]:
        """Every target any model explains, by name, in the models' order: the rows of the figure grids."""
        return tuple(dict.fromkeys(name for column in self.columns for _, name in column.targets))
