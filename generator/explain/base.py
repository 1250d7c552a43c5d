"""The explainer interface and registry: everything a method brings to the report, in one place.

An explainer says what it shares per case (`prepare_case`, through the case cache), what its cached
results depend on (`key_parts`), how it explains (`explain`, one result per target), the saliency map
the metrics measure (`saliency`), its figures (`figure_kinds`, `figures`), the measures whose numbers it
computes itself (`computes`: it then implements their half, from a module of this package named after the
measure; which measures apply to it, the measures decide), and the text of its case-page section and
methods-page paragraph (Jinja sources). The rest of the build iterates over the enabled explainers and never
names one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel

from generator.manifest.schema import EXPLAINER_SECTIONS
from generator.run import fast_forward, images, inference, target_layers
from generator.run.images import PreparedImage
from generator.utils import figures

if TYPE_CHECKING:
    import torch

    from generator.manifest.schema import ExplainersSpec
    from generator.run.models import LoadedModel
    from generator.run.results import CaseResult

PACKAGE = __name__.rpartition(".")[0]  # generator.explain: the methods whose templates ship in templates/explainers/
EXPLAINERS: dict[str, type[AnyExplainer]] = {}  # manifest name -> explainer class, in registration order


# --- the interface -----------------------------------------------------------------------------------------


class ExplanationResult(Protocol):
    """What every explainer's result (a frozen dataclass of its own module) has: the class it explains."""

    @property
    def target(self) -> int: ...


Value = TypeVar("Value")
Settings = TypeVar("Settings", bound=BaseModel)  # the explainer's manifest section (explainers.<name>)
Result = TypeVar("Result", bound=ExplanationResult)  # the explainer's result dataclass
Context = TypeVar("Context")  # what the figures of one case share (`figure_context`)

Segments = NDArray[np.integer]  # H x W superpixel ids
SaliencyMap = NDArray[np.float64]  # H x W (crop size)
FigureJob = tuple[Callable[..., bytes], tuple[Any, ...]]  # a figure function of generator.utils.figures, its args


class Fetch(Protocol):
    """What `prepare_case` caches its per-case data with (the case cache's `shared`); None on a dry run."""

    def __call__(self, kind: str, parts: dict[str, object], compute: Callable[[], Value]) -> Value | None: ...


class SaliencyInputs(Protocol):
    """What `saliency` reads of a case: a CaseInputs, or the CaseResult the model comparisons hold."""

    @property
    def segments(self) -> Segments | None: ...


def register(cls: ExplainerClass) -> ExplainerClass:
    """Add an explainer class to EXPLAINERS under its manifest name and its settings to the manifest's schema
    (the class decorator of every method)."""
    EXPLAINERS[cls.name] = cls
    EXPLAINER_SECTIONS.declare(cls.name, cls.spec, cls.summary)
    return cls


@dataclass(frozen=True)
class ClassifiedRows:
    """Perturbed images a method had classified, for another method of the same model and case to reuse.

    Row r of `rows` shows superpixel j where rows[r, j] is 1 and paints it `hide_color` where 0; row 0 shows
    every superpixel (the image itself). `probabilities` holds, per target, the target's probability on each row.
    """

    rows: NDArray[np.integer]
    probabilities: dict[int, NDArray[np.float64]]
    hide_color: int


@dataclass
class CaseInputs:
    """What every model's explainers share for one case: the prepared image and what explainers prepared."""

    case_id: str
    image: PreparedImage
    segments: Segments | None = None  # HxW int superpixels, when an explainer (LIME) segments the case
    # model key -> the perturbed images an explainer classified for that model (`Explainer.share`)
    classified: dict[str, ClassifiedRows] = field(default_factory=dict)


@dataclass(frozen=True)
class FigureKind:
    kind: str  # part of the figure's file name: figures/<case>/<model>-<kind>-<target>.png
    caption: str  # the tab (or column) title on the case page


@dataclass(frozen=True)
class ViewerMap:
    """What the case page's viewer shows of one result: an H x W map (crop size) coloured on [vmin, vmax]."""

    values: NDArray[np.floating]
    vmin: float
    vmax: float


class Explainer(Generic[Settings, Result, Context]):
    """Explain one prepared image for one model and a set of target classes.

    Subclasses set `name` (the manifest key), `title`, and implement `explain`, which returns one result
    (with a `target` attribute) per target, in the order given, and `saliency`. Targets come as a tuple
    because some methods (LIME) answer every target from one shared set of forward passes.
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    # the model of its manifest section (`explainers.<name>`, with `enabled`), and the section's description
    spec: ClassVar[type[BaseModel]]
    summary: ClassVar[str] = ""
    # its place on the pages and in each case's walk: lower first, ties by name
    order: ClassVar[int] = 100
    # methods whose results it reuses when they run (KernelSHAP: LIME's classified images): run before it
    reuses: ClassVar[tuple[str, ...]] = ()
    # measures whose numbers it computes itself (their names), through the class of this package named after the
    # measure that it subclasses: its module and its templates may name them (tests/measure/test_measure_registry.py)
    computes: ClassVar[tuple[str, ...]] = ()
    # reads the model's target layer (the methods page then lists the layers)
    uses_target_layer: ClassVar[bool] = False
    # needs the model's layers and gradients: left out, with the model's reason, for an opaque model (ONNX)
    needs_gradients: ClassVar[bool] = False
    # its `prepare_case` sets CaseInputs.segments: every map is then compared per superpixel
    segments_case: ClassVar[bool] = False
    figure_width: ClassVar[int] = 300
    # the colormap (a matplotlib name) of its maps in the case page's viewer, over ViewerMap's range
    viewer_colormap: ClassVar[str] = figures.HEATMAP_COLORMAP
    # Its texts are Jinja templates named after its module (or its family's, e.g. cam.py's), in templates/explainers/:
    # <module>.section.md.j2, the case page's sentence above the figures (context: page, manifest, settings);
    # <module>.method.md.j2, the methods page's paragraph (context: manifest, settings, models);
    # and a text of each measure it computes (`computes`), which that measure's class here names.
    # A method from outside the package, with no template there, carries them as these Jinja sources instead.
    section: ClassVar[str] = ""
    method_text: ClassVar[str] = ""

    def __init__(
        self, settings: Settings, seed: int = 0, precision: str = "fp32", device: str | torch.device = "cpu"
    ) -> None:
        self.settings = settings
        self.seed = seed
        self.precision = precision
        self.device = device

    @classmethod
    def template_stems(cls) -> list[str]:
        """The names its text templates may have, nearest first: its module's, then those of the families above it."""
        return list(
            dict.fromkeys(
                c.__module__.rpartition(".")[2]
                for c in cls.__mro__
                if issubclass(c, Explainer) and c.__module__ != __name__ and c.__module__.startswith(PACKAGE)
            )
        )

    @classmethod
    def own_text(cls, kind: str) -> str:
        """The Jinja source the class carries for one kind of text ("section", "method")."""
        return {"section": cls.section, "method": cls.method_text}[kind]

    def code_modules(self) -> tuple[str, ...]:
        """The modules whose source computes this explainer's results (part of their cache keys)."""
        return (
            type(self).__module__,
            __name__,
            inference.__name__,
            fast_forward.__name__,
            target_layers.__name__,
            images.__name__,
        )

    def key_parts(self) -> dict[str, object]:
        """What the results depend on besides the image, model, seed, targets and device."""
        return {"settings": self.settings, "precision": "fp32"}

    @classmethod
    def settings_from(cls, explainers: ExplainersSpec) -> Settings:
        """The explainer's settings: its manifest section (a method built on another's data reads both)."""
        settings: Settings = explainers.section(cls.name)
        return settings

    def prepare_case(self, inputs: CaseInputs, fetch: Fetch) -> None:
        """Compute what all models share for this case, once: `fetch(kind, parts, compute)` caches it."""

    def share(self, model: LoadedModel, inputs: CaseInputs, results: Sequence[Result]) -> None:
        """Leave in `inputs` what a later method may reuse of these results, computed or cached (LIME: its rows)."""

    def explain(self, model: LoadedModel, inputs: CaseInputs, targets: tuple[int, ...]) -> Sequence[Result]:
        raise NotImplementedError

    def saliency(self, result: Result, inputs: SaliencyInputs) -> SaliencyMap:
        """The H x W map (crop size) the metrics measure: higher means more evidence for the target."""
        raise NotImplementedError

    def figure_kinds(self) -> tuple[FigureKind, ...]:
        return (FigureKind(self.name, self.title),)

    def figure_context(self, case: CaseResult) -> Context | None:
        """What the figures of one case share across its models (LIME: one colour scale)."""
        return None

    def figures(self, case: CaseResult, result: Result, context: Context | None) -> dict[str, FigureJob]:
        """{kind: (figure function of generator.utils.figures, args)} for one result."""
        raise NotImplementedError

    def viewer_map(self, case: CaseResult, result: Result, context: Context | None) -> ViewerMap:
        """The map the case page's viewer lays over the crop, in `viewer_colormap` (context: figure_context's)."""
        raise NotImplementedError

    def batched_work(self) -> str | None:
        """What of the method runs through the batched classifier, as a phrase (None: it runs unbatched)."""
        return None

    def samples(self, results: Mapping[int, Result]) -> int | None:
        """How many model evaluations the explanation used, when the method decides (None otherwise)."""
        return None

    @staticmethod
    def is_blank(result: Result) -> bool:
        """Whether a result marks no region at all, as far as the pages' numbers tell (LIME: every weight zero)."""
        return False


class HeatmapResult(ExplanationResult, Protocol):
    """The result of a method that gives one map per target: `raw` (measured), `heatmap` (drawn)."""

    @property
    def raw(self) -> NDArray[np.float64]: ...  # H x W, crop size, unnormalised (signed where the method is)

    @property
    def heatmap(self) -> NDArray[np.float64]: ...  # its positive part / its maximum, in [0, 1]


HeatmapResultType = TypeVar("HeatmapResultType", bound=HeatmapResult)


class HeatmapExplainer(Explainer[Settings, HeatmapResultType, None]):
    """A method whose result is one pixel map per target (Grad-CAM, Integrated Gradients): measured as it is,
    drawn as a heatmap over the crop (the measures of a pixel map's mass read it)."""

    def saliency(self, result: HeatmapResultType, inputs: SaliencyInputs) -> SaliencyMap:
        return result.raw

    def figures(self, case: CaseResult, result: HeatmapResultType, context: None) -> dict[str, FigureJob]:
        return {self.name: (figures.heatmap_overlay, (case.crop_array, result.heatmap))}

    def viewer_map(self, case: CaseResult, result: HeatmapResultType, context: None) -> ViewerMap:
        return ViewerMap(result.heatmap, 0.0, 1.0)


def scaled_to_peak(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """The positive part of a map divided by its maximum, in [0, 1]; all zeros where nothing is positive."""
    positive = np.clip(values, 0, None)
    peak = positive.max()
    return positive / peak if peak > 0 else np.zeros_like(positive)


AnyExplainer = Explainer[Any, Any, Any]  # an enabled explainer of any method, as the build iterates them


def runs_on(explainer: AnyExplainer, model: LoadedModel) -> bool:
    """Whether the method can explain this model (a gradient method needs a model that exposes its layers)."""
    return (
        model.opaque is None or not explainer.needs_gradients
    )  # an enabled explainer of any method, as the build iterates them


ExplainerClass = TypeVar("ExplainerClass", bound=type[AnyExplainer])


def batched_setting(explainers: Sequence[AnyExplainer]) -> int | Literal["auto"] | None:
    """The `batch_size` setting of the first explainer that runs batched (the one the methods page reports), or None."""
    return next((e.settings.batch_size for e in explainers if e.batched_work() is not None), None)


def method_title(name: str) -> str:
    """The title of an explainer (Grad-CAM, LIME) or of another map a page shows (the random baseline)."""
    return EXPLAINERS[name].title if name in EXPLAINERS else name


def enabled_explainers(
    explainers_spec: ExplainersSpec, seed: int, precision: str = "fp32", device: str | torch.device = "cpu"
) -> list[AnyExplainer]:
    return [
        cls(cls.settings_from(explainers_spec), seed=seed, precision=precision, device=device)
        for name, cls in EXPLAINERS.items()
        if getattr(explainers_spec, name).enabled
    ]


def agreement_key(method_a: str, method_b: str) -> str:
    return f"{method_a}|{method_b}"


def agreement_pair(key: str) -> tuple[str, ...]:
    return tuple(key.split("|"))
