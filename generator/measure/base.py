"""The measure interface and registry: everything a measure brings to the report, in one place.

A measure says which maps it applies to (`applies_to`), whether this build runs it (`runs`), how it computes
(`measure`, or for a curve measure `curve_images` and `curve_result`, which the measurer classifies in one
batched pass with every other curve's images), the columns it adds to the tables (label, format, direction,
whether it is a headline number), its sentences, its worst-case ranking and its page text: templates named
after it under templates/measures/ (`<name>.md.j2`, the methods page's rows; `<name>.case.md.j2`, its own
case-page section; `<name>.alert.md.j2`, its case-page warning; `<name>.worst.md.j2`, its overview ranking;
`<name>.case_part.md.j2`, a case-page part of its own after the measurements; `<name>.means.md.j2`, its part below
the overview's means; `<name>.methods.md.j2`, a methods-page section of its own after the metrics' table).
A measure that reads the case's regions (`reads_regions`) is computed on every build from the cached maps,
outside the metrics' cache. The rest of the build iterates over the registry and never names a measure. Its
settings (`spec`: a pydantic model) are its own keys of the manifest's flat `metrics` section, declared when it
registers; `settings_of` reads them back, typed, from the assembled section (MetricsSpec).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel

from generator.explain.base import EXPLAINERS
from generator.manifest.schema import METRIC_FIELDS
from generator.utils.numbers import num
from generator.utils.records import result_type
from generator.utils.tables import RIGHT, Column

if TYPE_CHECKING:
    from generator.explain.base import AnyExplainer, CaseInputs, FigureJob, SaliencyMap
    from generator.manifest.schema import Manifest, MetricsSpec
    from generator.run.inference import BatchClassifier
    from generator.run.models import LoadedModel
    from generator.run.region_geometry import CropRegion
    from generator.run.results import CaseResult, ModelResult

MEASURES: dict[str, type[Measure]] = {}  # measure name -> class, in registration order (the pages' order)
RANDOM_MAP = "random"  # the map name of the seeded random baseline, measured beside the methods' maps
SHARED_TABLE = ""  # `Measure.table` of a measure whose columns join the case page's shared table


@result_type
@dataclass(frozen=True)
class TargetMetrics(Mapping[str, dict[str, Any]]):
    """Every number measured for one model, case and target class: measure name -> {map name: its record}.

    The map name is a method's, RANDOM_MAP, or what the measure keys its records by (a pair of methods).
    """

    target: int
    measured: dict[str, dict[str, Any]]

    def __getitem__(self, measure: str) -> dict[str, Any]:
        return self.measured[measure]

    def __iter__(self) -> Iterator[str]:
        return iter(self.measured)

    def __len__(self) -> int:
        return len(self.measured)

    def of(self, measure: str) -> dict[str, Any]:
        """The measure's records, {} where it did not run."""
        return self.measured.get(measure, {})

    def with_records(self, measured: Mapping[str, dict[str, Any]]) -> TargetMetrics:
        """These records and the given ones (of measures computed apart: `Measure.reads_regions`)."""
        return replace(self, measured={**self.measured, **measured})


@dataclass(frozen=True)
class MetricColumn(Column):
    """A measure's column: the label says what it measures (the method's title and the measure), the value
    comes from each row's TargetMetrics, and `number` writes it (`Column.cell` takes the finished cell)."""

    value: Callable[[TargetMetrics], float | None]  # None: not measured
    number: Callable[[float | None], str] = num
    flag: Callable[[TargetMetrics], bool] | None = None  # mark the cell with a warning sign
    undefined: str | None = None  # why this measure can be undefined (NaN), for the cell's tooltip
    in_overview: bool = True  # a column of the overview's case table too (a headline number, not a detail)
    _: KW_ONLY
    higher_is_better: bool  # every measure has a direction
    align: str = RIGHT


def page_order(names: Iterable[str]) -> list[str]:
    """Methods in the registry's order, then the random baseline, then anything else by name."""
    order = [*EXPLAINERS, RANDOM_MAP]
    return sorted(names, key=lambda n: (order.index(n) if n in order else len(order), n))


def record_value(measure: str, key: str, attribute: str | None = None) -> Callable[[TargetMetrics], float | None]:
    """A column's value: the measure's record of `key` (or that record's `attribute`), None where absent."""

    def value(m: TargetMetrics) -> float | None:
        found = m.of(measure).get(key)
        return found if attribute is None or found is None else getattr(found, attribute)

    return value


def flag_of(measure: type[Measure], key: str) -> Callable[[TargetMetrics], bool]:
    """A column's warning sign: the measure flags the map `key` (`Measure.flagged`)."""
    return lambda m: key in measure.flagged(m)


@dataclass
class ModelInputs:
    """What a measure reads of one model's explanations of one case."""

    model: LoadedModel
    inputs: CaseInputs
    result: ModelResult
    maps: dict[int, dict[str, SaliencyMap]]  # target -> method -> its H x W map
    classify: BatchClassifier
    regions: Sequence[CropRegion] = ()  # the case's regions on the crop, for a measure that `reads_regions`


@dataclass(frozen=True)
class Ranking:
    """One method's rows of a measure's worst-case list (the rows are the measure's own, laid out by its template);
    a measure that ranks every method's maps in one list gives one Ranking with `method` and `title` empty."""

    method: str
    title: str
    rows: tuple[Any, ...]

    @property
    def has_random(self) -> bool:
        return any(getattr(row, "baseline", None) is not None for row in self.rows)


Own = tuple["CaseResult", "LoadedModel", TargetMetrics]  # a case, a model, the metrics of its own top-1 class
OwnMetrics = Sequence[tuple[str, Sequence[TargetMetrics]]]  # (model label, own top-1 metrics per case)


def own_top1(cases: Iterable[CaseResult], models: Iterable[LoadedModel]) -> Iterator[Own]:
    """(case, model, TargetMetrics of its own top-1 class), cases in manifest order, then models in theirs."""
    models = list(models)
    for case in cases:
        for model in models:
            result = case.models.get(model.key)
            if result is not None and result.own_metrics is not None:
                yield case, model, result.own_metrics


class Measure:
    """One way to measure explanations. Subclasses set `name` and override what they offer.

    A measure is built once per build with the manifest's `metrics` settings, the enabled explainers and the
    seed; what reads only finished records (columns, sentences, rankings) is a classmethod, so the pages need
    no settings to lay them out.
    """

    name: ClassVar[str] = ""
    # its own keys of the manifest's `metrics` section (flat: `metrics.<field>`), and each one's place among them
    spec: ClassVar[type[BaseModel] | None] = None
    spec_places: ClassVar[dict[str, float]] = {}
    order: ClassVar[int] = 100  # its place on the pages (the registry's order), before any measure of a higher one
    topic: ClassVar[str] = ""  # its word in the shared table's heading ("focus", "agreement", ...)
    # where its columns go: its own table (its name; `<name>.case.md.j2` lays it out) or the shared one
    table: ClassVar[str] = SHARED_TABLE
    words: ClassVar[tuple[str, ...]] = ()  # further words only its own files say (tests/measure/test_measure_registry.py)
    # measured on the random baseline too: the overview plots each method's value beside the random map's
    baseline: ClassVar[bool] = False
    # its records come from curve images (`curve_images`), classified in the measurer's one batched pass
    curves: ClassVar[bool] = False
    # per model, its sentences come before the explanations' own (the curves, which perturb the image)
    observed_first: ClassVar[bool] = False
    # it has its own part of the case page's measurements (`<name>.case.md.j2`), shown where `section_shown`
    case_section: ClassVar[bool] = False
    # it warns on the case page about the maps it flags (`flagged`, laid out by `<name>.alert.md.j2`)
    alert: ClassVar[bool] = False
    # it reads the models' target layers (the methods page then lists them)
    uses_target_layer: ClassVar[bool] = False
    # Jinja source of its methods-page rows where it has no `<name>.md.j2` (a measure that is one file)
    rows: ClassVar[str] = ""
    # its computation is one of the build's timed phases (generator.utils.phase_times), under its name
    timed: ClassVar[bool] = False
    # what of it runs each network as it is (unbatched), as a phrase for the methods page (None: nothing)
    unbatched_work: ClassVar[str | None] = None
    # it measures the maps on the regions the case marks (`ModelInputs.regions`): on every build, from the cached
    # maps, outside the metrics' cache (whose key holds no region), and only on a case that marks regions
    reads_regions: ClassVar[bool] = False

    def __init__(self, settings: MetricsSpec, explainers: Sequence[AnyExplainer], seed: int) -> None:
        self.settings = settings
        self.explainers = explainers
        self.seed = seed

    @classmethod
    def runs(cls, settings: MetricsSpec) -> bool:
        """Whether the build's settings turn the measure on."""
        return True

    @classmethod
    def applies_to(cls, method: type[AnyExplainer]) -> bool:
        """Whether the measure reads this method's maps (by default every method's): the measure decides, from the class."""
        return True

    @classmethod
    def described(cls, manifest: Manifest, explainers: Sequence[AnyExplainer], model_count: int) -> list[str]:
        """The titles of the methods it measures in this build: the methods page explains it when there is one."""
        return [e.title for e in explainers if cls.applies_to(type(e))] if cls.runs(manifest.metrics) else []

    @classmethod
    def page_context(cls, manifest: Manifest, explainers: Sequence[AnyExplainer]) -> dict[str, Any]:
        """What its templates read besides the manifest, the models and the methods it measures."""
        return {}

    @classmethod
    def curve_name(cls) -> str:
        """A curve measure's name for its curves on the methods page ("the ... curves")."""
        return cls.name

    @classmethod
    def batched_phrase(cls, manifest: Manifest, explainers: Sequence[AnyExplainer]) -> str | None:
        """What of it runs through the batched classifier besides curves, as a phrase (None: nothing)."""
        return None

    def code_modules(self) -> tuple[str, ...]:
        """The modules whose source computes its records (part of the metrics' cache key)."""
        return (type(self).__module__,)

    def measure(self, found: ModelInputs) -> dict[int, dict[str, Any]]:
        """{target: {map name: record}} of one model's explanations (a target may be absent: nothing measured)."""
        return {}

    @classmethod
    def across_models(
        cls,
        case: CaseResult,
        explainers: Sequence[AnyExplainer],
        settings: MetricsSpec,
        classes: Mapping[str, Sequence[str]],
    ) -> CaseResult:
        """The case with what it measures between its models (`classes`: model key -> class names); no model runs."""
        return case

    def curve_images(self, image: NDArray[np.uint8], saliency: SaliencyMap) -> NDArray[np.uint8]:
        """A curve measure's images of one map (N x H x W x 3), classified in the measurer's batched pass."""
        raise NotImplementedError

    def curve_result(self, probabilities: NDArray[np.float64]) -> Any:
        """A curve measure's record from the target's probability on each of `curve_images`' images."""
        raise NotImplementedError

    # --- what the pages read of finished records ------------------------------------------------------------

    @classmethod
    def keys(cls, records: Iterable[TargetMetrics]) -> list[str]:
        """The map names the records hold, in page order."""
        return page_order({key for m in records for key in m.of(cls.name)})

    @classmethod
    def columns(cls, records: Sequence[TargetMetrics], keys: Sequence[str]) -> list[MetricColumn]:
        """Its table columns for these map names (the records give what a header may need: a shared k)."""
        return []

    @classmethod
    def case_sentences(cls, own: Sequence[tuple[str, TargetMetrics]]) -> list[str]:
        """Sentences comparing the models of one case: (model label, its own top-1 metrics)."""
        return []

    @classmethod
    def sentences(cls, model: str, own: TargetMetrics) -> list[str]:
        """Sentences about one model's explanations of its own top-1 class on one case."""
        return []

    @classmethod
    def findings(cls, own: OwnMetrics, cases: Sequence[CaseResult], labels: Mapping[str, str]) -> list[str]:
        """Sentences over every case, for the top of the overview (`labels`: model key -> label)."""
        return []

    @classmethod
    def overview(cls, cases: Sequence[CaseResult], models_by_key: Mapping[str, LoadedModel]) -> dict[str, Any]:
        """What it adds to the overview pages' context (index and comparison), by name; {} where nothing."""
        return {}

    @classmethod
    def figures(cls, case: CaseResult, labels: Mapping[str, str]) -> dict[str, FigureJob]:
        """{file name: figure job} of its figures of one case (under figures/<case>/), {} where it draws none."""
        return {}

    @classmethod
    def worst(cls, own: Sequence[Own], limit: int) -> tuple[Ranking, ...]:
        """Per method, its `limit` worst explanations by this measure (laid out by `<name>.worst.md.j2`)."""
        return ()

    @classmethod
    def section_shown(cls, case: CaseResult, table: Any) -> bool:
        """Whether its case-page section shows anything (`table`: its own table, None when nothing of it was measured)."""
        return table is not None

    @classmethod
    def flagged(cls, metrics: TargetMetrics) -> list[str]:
        """The methods whose record this measure warns about (the case page's alert)."""
        return []

    @classmethod
    def case_part(cls, case: CaseResult, models_by_key: Mapping[str, LoadedModel], crop: int) -> Any:
        """Its part of the case page after the measurements (`<name>.case_part.md.j2` reads it as `part.value`);
        None where it has none on this case."""
        return None

    @classmethod
    def case_findings(cls, case: CaseResult, labels: Mapping[str, str]) -> list[str]:
        """Sentences that read the whole case (its regions too), after every other sentence of its page."""
        return []

    @classmethod
    def overview_means(cls, cases: Sequence[CaseResult], models_by_key: Mapping[str, LoadedModel]) -> Any:
        """Its part below the overview's means (`<name>.means.md.j2` reads it as `part.value`); None: none."""
        return None

    @classmethod
    def methods_part(cls, cases: Sequence[CaseResult]) -> bool:
        """Whether the methods page has a section of its own after the metrics' table (`<name>.methods.md.j2`)."""
        return False


MeasureClass = TypeVar("MeasureClass", bound=type[Measure])
Spec = TypeVar("Spec", bound=BaseModel)


def register(cls: MeasureClass) -> MeasureClass:
    """Add a measure class to MEASURES under its name and its keys to the manifest's `metrics` section (the class
    decorator of every measure)."""
    MEASURES[cls.name] = cls
    if cls.spec is not None:
        METRIC_FIELDS.declare(cls.spec, cls.spec_places)
    return cls


def settings_of(spec: type[Spec], settings: MetricsSpec) -> Spec:
    """A measure's own settings, typed, read from the manifest's `metrics` section that holds every measure's."""
    return spec.model_validate({name: getattr(settings, name) for name in spec.model_fields})


def enabled_measures(settings: MetricsSpec, explainers: Sequence[AnyExplainer], seed: int) -> list[Measure]:
    return [cls(settings, explainers, seed) for cls in MEASURES.values() if cls.runs(settings)]


def measured_maps(
    maps: Mapping[str, SaliencyMap], measure: type[Measure], explainers: Iterable[AnyExplainer]
) -> dict[str, SaliencyMap]:
    """The maps of the methods the measure applies to."""
    wanted = {e.name for e in explainers if measure.applies_to(type(e))}
    return {name: smap for name, smap in maps.items() if name in wanted}
