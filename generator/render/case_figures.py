"""Every figure of one case, as bytes under deterministic paths relative to the content folder."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

from PIL import Image

from generator.measure import MEASURES
from generator.utils import figures, region_figure

if TYPE_CHECKING:
    from generator.explain.base import AnyExplainer, ExplanationResult, FigureJob
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


def case_figures(
    case: CaseResult, models_by_key: Mapping[str, LoadedModel], explainers: Iterable[AnyExplainer]
) -> dict[str, FigureJob]:
    """The case's figures as jobs {path: (figure function, args)}: thumbnail, model input, and per model,
    explainer and target the explanations (and the viewer's map), then each measure's (`Measure.figures`). Whoever draws them calls
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
    labels = {key: model.label for key, model in models_by_key.items()}
    for measure in MEASURES.values():
        for name, job in measure.figures(case, labels).items():
            out[figure_path(case.case_id, name)] = job
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
