"""Every figure of one case, as bytes under deterministic paths relative to the content folder."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

from PIL import Image

from generator.explain import method_title
from generator.utils import figures, plots, region_figure

if TYPE_CHECKING:
    from generator.explain.base import AnyExplainer, ExplanationResult, FigureJob
    from generator.measure.metrics import FaithfulnessResult
    from generator.run.models import LoadedModel
    from generator.run.results import CaseResult


def figure_path(case_id: str, name: str) -> str:
    return f"figures/{case_id}/{name}"


def explanation_figure(case_id: str, model_key: str, kind: str, target: int) -> str:
    return figure_path(case_id, f"{model_key}-{kind}-{target}.png")


def viewer_map_path(case_id: str, model_key: str, method: str, target: int) -> str:
    """The viewer's grayscale map of one result (figures.map_png)."""
    return figure_path(case_id, f"{model_key}-{method}-map-{target}.png")


def viewer_crop_path(case_id: str, has_regions: bool) -> str:
    """The plain crop under the viewer's maps: the model input's figure, unless regions are drawn on it."""
    return figure_path(case_id, "viewer-crop.png") if has_regions else crop_path(case_id)


def thumbnail_path(case_id: str) -> str:
    return figure_path(case_id, "thumbnail.jpg")


def crop_path(case_id: str) -> str:
    return figure_path(case_id, "input-crop.png")


def curves_path(case_id: str) -> str:
    return figure_path(case_id, "faithfulness.png")


def case_figures(
    case: CaseResult, models_by_key: Mapping[str, LoadedModel], explainers: Iterable[AnyExplainer]
) -> dict[str, FigureJob]:
    """The case's figures as jobs {path: (figure function, args)}: thumbnail, model input, and per model,
    explainer and target the explanations (and the viewer's map), then the faithfulness curves. Whoever draws them calls
    `function(*args)` (the build's FigureDrawer, in a pool of processes and through the figure cache)."""
    assert case.crop_array is not None, "figures are drawn before the case drops its pixels (for_pages)"
    out: dict[str, FigureJob] = {
        thumbnail_path(case.case_id): (figures.thumbnail, (case.original,)),
        crop_path(case.case_id): crop_job(case),
    }
    if case.regions:
        out[viewer_crop_path(case.case_id, True)] = (figures.crop_png, (Image.fromarray(case.crop_array),))
    contexts = {explainer.name: explainer.figure_context(case) for explainer in explainers}
    for explainer, key, target, found in explanations(case, explainers):
        context = contexts[explainer.name]
        for kind, job in explainer.figures(case, found, context).items():
            out[explanation_figure(case.case_id, key, kind, target)] = job
        shown = explainer.viewer_map(case, found, context)
        out[viewer_map_path(case.case_id, key, explainer.name, target)] = (
            figures.map_png,
            (shown.values, shown.vmin, shown.vmax),
        )
    curves = faithfulness_curve_list(case, models_by_key)
    if curves:
        out[curves_path(case.case_id)] = (
            plots.faithfulness_curves,
            (curves, "Each model's explanations of its own top-1 class"),
        )
    return out


def explanations(
    case: CaseResult, explainers: Iterable[AnyExplainer]
) -> Iterator[tuple[AnyExplainer, str, int, ExplanationResult]]:
    """(explainer, model key, target, result) of every explanation the case has: the figures drawn of it and the
    maps the case page's viewer lists are these."""
    for explainer in explainers:
        for key, result in case.models.items():
            for target in result.targets:
                found = result.explained(explainer.name, target)
                if found is not None:
                    yield explainer, key, target, found


def crop_job(case: CaseResult) -> FigureJob:
    """The model input; with regions, enlarged with each region outlined and named."""
    assert case.crop_array is not None
    if not case.regions:
        return (figures.crop_png, (Image.fromarray(case.crop_array),))
    outlines = [region_figure.Outline(r.name, r.mask, r.is_object) for r in case.regions if not r.outside]
    return (region_figure.regions_picture, (case.crop_array, outlines))


def faithfulness_curve_list(case: CaseResult, models_by_key: Mapping[str, LoadedModel]) -> list[plots.Curve]:
    """Curves of each model's top-1 explanation, plus the first model's random-map baseline."""
    curves: list[plots.Curve] = []
    for key, result in case.models.items():
        target_metrics = result.own_metrics
        if target_metrics is None:
            continue
        label = models_by_key[key].label
        for method, found in target_metrics.faithfulness.items():
            if method != "random":
                curves.append(plot_curve(f"{label} {method_title(method)}", found, baseline=False))
        if "random" in target_metrics.faithfulness and not any(curve.baseline for curve in curves):
            curves.append(plot_curve(f"random map ({label})", target_metrics.faithfulness["random"], baseline=True))
    return curves


def plot_curve(label: str, found: FaithfulnessResult, baseline: bool) -> plots.Curve:
    return plots.Curve(label, found.fractions, found.deletion_curve, found.insertion_curve, baseline)
