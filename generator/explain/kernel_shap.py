"""KernelSHAP (Lundberg and Lee, 2017) on LIME's superpixels, fitted on the perturbed images LIME classified.

A perturbed image is a coalition of superpixels (shown: 1, painted LIME's hide colour: 0). KernelSHAP's
Shapley values are the weighted least-squares fit of the target's probability on those coalitions, each
weighted by the Shapley kernel, with the two constraints that the kernel's infinite weights stand for: the
value with no superpixel shown is f(every superpixel hidden), and the values add up to f(image) minus it
(efficiency). LIME draws its coalitions uniformly, so every row carries its kernel weight as it is (an
importance-weighted estimate of the fit over all 2^M coalitions, which gives the exact Shapley values).

When LIME runs, no perturbed image is classified again: `Lime.share` leaves its rows and probabilities in
the case's inputs. Otherwise the same rows are drawn from the seed and classified here. f(every superpixel
hidden) is the hide colour's blank image, the same for every case: one forward pass per model and build.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

import generator.explain.lime as lime
from generator.explain.base import (
    CaseInputs,
    ClassifiedRows,
    Explainer,
    Fetch,
    FigureJob,
    FigureKind,
    SaliencyInputs,
    SaliencyMap,
    ViewerMap,
    register,
)
from generator.manifest.schema import Strict
from generator.run.inference import batch_classifier
from generator.utils import figures
from generator.utils.records import result_type

if TYPE_CHECKING:
    import torch

    from generator.manifest.schema import ExplainersSpec
    from generator.run.inference import BatchClassifier
    from generator.run.models import LoadedModel
    from generator.run.results import CaseResult

OWN_SAMPLES = 1000  # the rows drawn when LIME is off and its num_samples is auto (the reference recipe's count)


class KernelShapSpec(Strict):
    enabled: bool = Field(
        False,
        description="KernelSHAP (Lundberg and Lee 2017) on LIME's superpixels, fitted on the perturbed images LIME "
        "classified (with LIME off, on the same set drawn and classified for it); LIME's settings apply.",
    )


class KernelShapSettings(BaseModel):
    """What KernelSHAP's results depend on: whether LIME runs (its rows are then reused) and LIME's settings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool
    lime_on: bool
    lime: lime.LimeSpec

    @property
    def batch_size(self) -> int | Literal["auto"]:
        """Images per forward pass: LIME's `batch_size`."""
        return self.lime.batch_size

    @property
    def own_samples(self) -> int:
        """The rows KernelSHAP draws and classifies itself when LIME is off."""
        return OWN_SAMPLES if self.lime.num_samples == "auto" else self.lime.num_samples


@result_type
@dataclass(frozen=True)
class KernelShapResult:
    target: int
    values: NDArray[np.float64]  # one Shapley value per superpixel (segment id = index)
    image_probability: float  # f(image): the target's probability with every superpixel shown
    hidden_probability: float  # f(every superpixel hidden): the values add up to image - hidden
    samples: int  # the perturbed images the fit read (LIME's, the original included)


def shapley_kernel(sizes: NDArray[np.integer], n_features: int) -> NDArray[np.float64]:
    """The Shapley kernel (M - 1) / (C(M, s) s (M - s)) of coalitions of `sizes` (0 < s < M), divided by its maximum."""
    from scipy.special import gammaln

    s = np.asarray(sizes, dtype=np.float64)
    m = float(n_features)
    log_comb = gammaln(m + 1) - gammaln(s + 1) - gammaln(m - s + 1)
    log_weight = np.log(m - 1) - log_comb - np.log(s) - np.log(m - s)
    return np.exp(log_weight - log_weight.max())


def kernel_shap_values(
    rows: NDArray[np.integer], values: NDArray[np.float64], image_value: float, hidden_value: float
) -> NDArray[np.float64]:
    """Shapley values per feature from coalitions `rows` (N x M of 0/1) and the value of each.

    Rows with no feature or every feature shown are left out of the fit (their kernel weight is infinite): they
    are the constraints phi_0 = hidden_value and sum(phi) = image_value - hidden_value. The last feature is
    eliminated with the second (phi_M = total - the others'), and the rest is an ordinary weighted least-squares
    fit, the minimum-norm solution where the rows do not determine it.
    """
    rows = np.asarray(rows)
    total = float(image_value) - float(hidden_value)
    n_features = rows.shape[1]
    if n_features == 1:
        return np.array([total])
    sizes = rows.sum(axis=1)
    inside = (sizes > 0) & (sizes < n_features)
    z = rows[inside].astype(np.float64)
    if not len(z):
        return np.full(n_features, total / n_features)  # no coalition tells the features apart
    response = np.asarray(values, dtype=np.float64)[inside] - hidden_value - z[:, -1] * total
    design = z[:, :-1] - z[:, -1:]
    root = np.sqrt(shapley_kernel(sizes[inside], n_features))
    head, *_ = np.linalg.lstsq(design * root[:, None], response * root, rcond=None)
    return np.append(head, total - head.sum())


@register
class KernelShap(Explainer[KernelShapSettings, KernelShapResult, float]):
    name = "kernel_shap"
    title = "KernelSHAP"
    spec = KernelShapSpec
    summary = "KernelSHAP (Lundberg and Lee 2017) on LIME's superpixels."
    order = 21
    reuses = ("lime",)  # LIME's classified images, when LIME runs
    segments_case = True
    viewer_colormap = figures.WEIGHT_COLORMAP
    figure_width = 280

    def __init__(
        self, settings: KernelShapSettings, seed: int = 0, precision: str = "fp32", device: str | torch.device = "cpu"
    ) -> None:
        super().__init__(settings, seed, precision, device)
        self.hidden: dict[str, NDArray[np.float64]] = {}  # model key -> its probabilities on the blank image

    @classmethod
    def settings_from(cls, explainers: ExplainersSpec) -> KernelShapSettings:
        lime_settings: lime.LimeSpec = explainers.section(lime.Lime.name)
        return KernelShapSettings(
            enabled=explainers.section(cls.name).enabled, lime_on=lime_settings.enabled, lime=lime_settings
        )

    def code_modules(self) -> tuple[str, ...]:
        return (*super().code_modules(), lime.__name__)

    def key_parts(self) -> dict[str, object]:
        return {"settings": self.settings, "precision": self.precision}

    def prepare_case(self, inputs: CaseInputs, fetch: Fetch) -> None:
        """LIME's superpixels: set by LIME when it runs (it comes first), segmented here with its settings otherwise."""
        if inputs.segments is None:
            lime.prepare_segments(inputs, self.settings.lime, self.seed, fetch)

    def explain(self, model: LoadedModel, inputs: CaseInputs, targets: tuple[int, ...]) -> tuple[KernelShapResult, ...]:
        if inputs.segments is None:  # called outside a build's case walk: segment here, uncached
            self.prepare_case(inputs, lambda kind, parts, compute: compute())
        classifier = batch_classifier(model, self.settings.batch_size, self.device, self.precision)
        classified = self.classified_rows(classifier, model, inputs, targets)
        hidden = self.hidden_probabilities(classifier, model, inputs)
        return tuple(
            KernelShapResult(
                int(t),
                kernel_shap_values(
                    classified.rows, classified.probabilities[t], classified.probabilities[t][0], hidden[t]
                ),
                float(classified.probabilities[t][0]),
                float(hidden[t]),
                len(classified.rows),
            )
            for t in targets
        )

    def classified_rows(
        self, classifier: BatchClassifier, model: LoadedModel, inputs: CaseInputs, targets: tuple[int, ...]
    ) -> ClassifiedRows:
        """LIME's rows for this model when it left them (with every target), else the same draw classified here."""
        shared = inputs.classified.get(model.key)
        if (
            shared is not None
            and shared.hide_color == self.settings.lime.hide_color
            and all(t in shared.probabilities for t in targets)
        ):
            return shared
        segments = lime.case_segments(inputs)
        rows = lime.perturbation_set(
            int(segments.max()) + 1, self.settings.own_samples, np.random.RandomState(self.seed)
        )
        probabilities = lime.classify_perturbations(
            classifier, inputs.image.crop_array, segments, rows, self.settings.lime.hide_color
        )
        return ClassifiedRows(rows, {t: probabilities[:, t] for t in targets}, self.settings.lime.hide_color)

    def hidden_probabilities(
        self, classifier: BatchClassifier, model: LoadedModel, inputs: CaseInputs
    ) -> NDArray[np.float64]:
        """The model's probabilities on the crop-sized image painted the hide colour (once per model and build)."""
        if model.key not in self.hidden:
            blank = np.full((1, *inputs.image.crop_array.shape), self.settings.lime.hide_color, dtype=np.uint8)
            self.hidden[model.key] = classifier(blank)[0]
        return self.hidden[model.key]

    def saliency(self, result: KernelShapResult, inputs: SaliencyInputs) -> SaliencyMap:
        return lime.superpixel_saliency(result.values, lime.case_segments(inputs))

    def figure_kinds(self) -> tuple[FigureKind, ...]:
        return (FigureKind("kernel-shap", "Shapley values"),)

    def figure_context(self, case: CaseResult) -> float:
        results = [r for m in case.models.values() for r in m.explanations.get(self.name, {}).values()]
        return figures.shared_weight_scale([r.values for r in results])

    def figures(self, case: CaseResult, result: KernelShapResult, scale: float | None) -> dict[str, FigureJob]:
        weights = (case.crop_array, case.segments, result.values, scale, "Shapley value")
        return {"kernel-shap": (figures.lime_weight_map, weights)}

    def viewer_map(self, case: CaseResult, result: KernelShapResult, scale: float | None) -> ViewerMap:
        return lime.superpixel_viewer_map(case, result.values, scale)

    @staticmethod
    def is_blank(result: KernelShapResult) -> bool:
        return not np.any(result.values)

    def batched_work(self) -> str:
        if self.settings.lime_on:
            return "KernelSHAP's image with every superpixel hidden, once per model"
        return f"KernelSHAP's {self.settings.own_samples} perturbed images per model"

    def samples(self, results: Mapping[int, KernelShapResult]) -> int | None:
        return next((r.samples for r in results.values()), None)
