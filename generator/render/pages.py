"""Markdown pages from Jinja2 templates; every manifest string is escaped for Markdown and HTML."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import jinja2
from markupsafe import Markup

import generator.resources as resources
from generator.cache.store import library_versions as result_library_versions
from generator.explain import enabled_explainers, method_title
from generator.explain.base import batched_setting, runs_on
from generator.manifest.author_files import CONCLUSION, INTRODUCTION, case_discussion_path, model_note_path
from generator.manifest.schema import PreprocessSpec
from generator.measure import MEASURES
from generator.measure.base import SHARED_TABLE, Measure
from generator.measure.measurer import RANDOM_MAP_GRID
from generator.render.case_figures import crop_path, explanation_figure, figure_path, thumbnail_path
from generator.render.dot_plots import overview_plots, plot_svg
from generator.render.gallery import gallery
from generator.render.metric_tables import case_tables, means_tables
from generator.render.observations import case_observations, report_findings
from generator.render.overview import case_table, overview_table
from generator.render.page_data import (
    CasePage,
    ComparisonRow,
    LeftOut,
    MeasureAlert,
    MeasurePart,
    MeasureSection,
    MethodSection,
    MetricsRow,
    ModelColumn,
)
from generator.render.pages_format import markdown_text, num_cell, pct_cell
from generator.render.prediction_tables import disagreement_table, top_k_table
from generator.render.set_page import set_page
from generator.render.summary import disagreeing_pairs, own_top1_metrics, summarise
from generator.render.viewer import viewer_json
from generator.render.worst_cases import worst_cases
from generator.run.class_names import label_index, label_name
from generator.run.devices import Inference
from generator.utils.version import __version__

if TYPE_CHECKING:
    from os import PathLike

    from generator.explain.base import AnyExplainer
    from generator.manifest.schema import CaseSpec, Manifest
    from generator.run.models import LoadedModel
    from generator.run.results import CaseFailure, CasePredictions, CaseResult, ModelResult

def template_environment(templates_dir: str | PathLike[str] | None = None) -> jinja2.Environment:
    """The pages' Jinja environment over `templates_dir` (default: the templates the package ships)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir or resources.templates_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = markdown_text
    env.filters["percent"] = pct_cell
    env.filters["num"] = num_cell
    return env


def explainer_source(env: jinja2.Environment, explainer: AnyExplainer, kind: str) -> str:
    """The Jinja source of an explainer's text of one kind: the template named after the module of the method (or
    of the family it belongs to, nearest first), `templates/explainers/<module>.<kind>.md.j2`, else the text the
    class carries itself (a method from outside this package)."""
    assert env.loader is not None
    for stem in explainer.template_stems():
        try:
            source = env.loader.get_source(env, f"explainers/{stem}.{kind}.md.j2")[0]
        except jinja2.TemplateNotFound:
            continue
        return source.removesuffix("\n")  # the file's last newline is the editor's, not the text's
    return explainer.own_text(kind)


def metrics_rows(case: CaseResult, models_by_key: Mapping[str, LoadedModel]) -> tuple[MetricsRow, ...]:
    return tuple(
        MetricsRow(models_by_key[key].label, models_by_key[key].categories[target], result.metrics[target])
        for key, result in case.models.items()
        for target in result.targets
        if target in result.metrics
    )


def comparison_rows(case: CaseResult, models_by_key: Mapping[str, LoadedModel]) -> tuple[ComparisonRow, ...]:
    return tuple(
        ComparisonRow(
            method_title(p.method),
            models_by_key[p.model_a].categories[p.target],  # compared models share their class list
            models_by_key[p.model_a].label,
            models_by_key[p.model_b].label,
            p.agreement,
        )
        for p in case.comparisons
    )


def is_correct(result: ModelResult, label: int | None) -> bool | None:
    return None if label is None else result.top1.index == label


def label_note(model: LoadedModel, spec: CaseSpec) -> str | None:
    """Why a model with a ground truth has no correct/wrong mark: the class is not among its classes."""
    if spec.label is None or label_index(model, spec) is not None:
        return None
    return f"{spec.label} is not among {model.label}'s classes"


def case_page(
    case: CaseResult,
    models_by_key: Mapping[str, LoadedModel],
    explainers: Sequence[AnyExplainer] = (),
    crop: int = PreprocessSpec().crop,
) -> CasePage:
    spec = case.spec
    rows = metrics_rows(case, models_by_key)
    columns = tuple(
        ModelColumn(
            key=key,
            label=models_by_key[key].label,
            weights=models_by_key[key].weights.short,
            is_random=models_by_key[key].is_random,
            top_k=result.top_k,
            targets=tuple((t, models_by_key[key].categories[t]) for t in result.targets),
            correct=is_correct(result, label_index(models_by_key[key], spec)),
            label_note=label_note(models_by_key[key], spec),
            output=models_by_key[key].output,
            samples={e.name: e.samples(result.explanations.get(e.name, {})) for e in explainers},
        )
        for key, result in case.models.items()
    )
    left_out = {e.name: left_out_models(e, case, models_by_key) for e in explainers}
    shown = [e for e in explainers if left_out[e.name] or any(r.explanations.get(e.name) for r in case.models.values())]
    return CasePage(
        case_id=case.case_id,
        title=spec.title or case.case_id,
        image_path=quote(spec.image),  # a phone's "IMG (1) #2.jpg" must stay one valid link
        label_name=label_name(spec, list(models_by_key.values())),
        columns=columns,
        agree=len({r.top1.name for r in case.models.values()}) == 1,
        methods=tuple(
            MethodSection(e.name, e.title, "", e.figure_kinds(), e.figure_width, left_out[e.name]) for e in shown
        ),
        metrics_rows=rows,
        sections=measure_sections(case, models_by_key, rows),
        alerts=measure_alerts(rows),
        comparisons=comparison_rows(case, models_by_key),
        observations=tuple(case_observations(case, models_by_key)),
        parts=tuple(
            MeasurePart(name, part)
            for name, measure in MEASURES.items()
            if (part := measure.case_part(case, models_by_key, crop)) is not None
        ),
        outlined=bool(case.regions),
    )


def measure_sections(
    case: CaseResult, models_by_key: Mapping[str, LoadedModel], rows: Sequence[MetricsRow]
) -> tuple[MeasureSection, ...]:
    """The measurements' parts of a case page in the registry's order: each measure's own section, and the
    shared table where its first measure stands."""
    tables = case_tables([((markdown_text(r.model), markdown_text(r.target)), r.metrics) for r in rows])
    labels = {key: model.label for key, model in models_by_key.items()}
    sections: list[MeasureSection] = []
    for measure in MEASURES.values():
        table, heading = tables.get(measure.table, (None, ""))
        if measure.table == SHARED_TABLE and not any(s.name == SHARED_TABLE for s in sections):
            sections.append(MeasureSection(SHARED_TABLE, heading, table, table is not None))
        if measure.case_section:
            table = table if measure.table == measure.name else None
            figures = tuple(figure_path(case.case_id, name) for name in measure.figures(case, labels))
            sections.append(MeasureSection(measure.name, heading, table, measure.section_shown(case, table), figures))
    return tuple(sections)


def measure_alerts(rows: Sequence[MetricsRow]) -> tuple[MeasureAlert, ...]:
    """The warnings of the measures that flag a map of this case (`Measure.flagged`), in the registry's order."""
    alerts = []
    for measure in (m for m in MEASURES.values() if m.alert):
        flagged = tuple((row, tuple(found)) for row in rows if (found := measure.flagged(row.metrics)))
        if flagged:
            alerts.append(MeasureAlert(measure.name, flagged))
    return tuple(alerts)


def left_out_models(
    explainer: AnyExplainer, case: CaseResult, models_by_key: Mapping[str, LoadedModel]
) -> tuple[LeftOut, ...]:
    """The case's models that the method does not run on (generator.explain.base.runs_on), with the reason."""
    models = [models_by_key[key] for key in case.models]
    return tuple(LeftOut(m.key, m.label, m.opaque or "") for m in models if not runs_on(explainer, m))


class PageRenderer:
    def __init__(
        self,
        manifest: Manifest,
        models: Sequence[LoadedModel],
        inference: Inference = Inference(),
        explainers: Sequence[AnyExplainer] | None = None,
        templates_dir: str | PathLike[str] | None = None,
    ) -> None:
        self.manifest = manifest
        self.models = models
        self.inference = inference
        self.models_by_key = {m.key: m for m in models}
        self.explainers: Sequence[AnyExplainer] = (
            enabled_explainers(manifest.explainers, manifest.seed) if explainers is None else explainers
        )
        self.env = template_environment(templates_dir)
        self.env.globals.update(
            figure=explanation_figure,
            thumbnail=thumbnail_path,
            crop=crop_path,
            INTRODUCTION=INTRODUCTION,
            CONCLUSION=CONCLUSION,
            model_note=model_note_path,
            discussion=case_discussion_path,
            PAIR_FIGURES={e.name: (e.figure_kinds()[0].kind, e.title) for e in self.explainers},
            version=__version__,
            method_title=method_title,
            runs_on=runs_on,
            random_grid=RANDOM_MAP_GRID,
            explainer_text=self.explainer_text,
            top_k_table=top_k_table,
        )
        for measure in MEASURES.values():
            self.env.globals.update(measure.page_context(manifest, self.explainers))

    def render(self, name: str, **context: Any) -> str:
        return self.env.get_template(name).render(manifest=self.manifest, models=self.models, **context)

    def explainer_text(self, explainer: AnyExplainer, kind: str, **context: Any) -> Markup:
        """An explainer's own text of one kind (its case section, its methods paragraph, the rows of a measure it makes)."""
        template = self.env.from_string(explainer_source(self.env, explainer, kind))
        return Markup(
            template.render(manifest=self.manifest, models=self.models, settings=explainer.settings, **context)
        )

    def with_intros(self, page: CasePage) -> CasePage:
        by_name = {e.name: e for e in self.explainers}
        methods = tuple(
            replace(m, intro=self.explainer_text(by_name[m.name], "section", page=page, name=m.name))
            for m in page.methods
        )
        return replace(page, methods=methods)

    def methods_page(self, cases: Sequence[CaseResult] = ()) -> str:
        """The methods page; `cases` decide which measures add a section of their own (`Measure.methods_part`)."""
        measured = measured_metrics(self.manifest, self.explainers, len(self.models))
        return self.render(
            "methods.md.j2",
            methods_parts=[name for name, measure in MEASURES.items() if measure.methods_part(cases)],
            explainers=[(e, self.explainer_text(e, "method")) for e in self.explainers],
            layer_shown=(
                any(e.uses_target_layer for e in self.explainers)
                or any(MEASURES[name].uses_target_layer for name in measured_metrics(self.manifest, self.explainers, 1))
            )
            and any(m.target_layer_name for m in self.models),  # opaque models only: their sections say why
            versions=library_versions(),
            inference=self.inference,
            batched_steps=batched_steps(self.manifest, self.explainers),
            unbatched_steps=unbatched_steps(self.manifest, self.explainers),
            measured=measured,
            measure_rows=[self.measure_rows(name, titles, measured) for name, titles in measured.items()],
            explainer_batch_setting=batched_setting(self.explainers),
        )

    def measure_rows(self, name: str, titles: list[str], measured: Mapping[str, list[str]]) -> Markup:
        """A measure's rows of the methods page's metrics table (its `measures/<name>.md.j2`, else its `rows`).

        `random_described`: an earlier measure already described the random baseline."""
        earlier = list(measured)[: list(measured).index(name)]
        try:
            template = self.env.get_template(f"measures/{name}.md.j2")
        except jinja2.TemplateNotFound:
            template = self.env.from_string(MEASURES[name].rows)
        text = template.render(
            manifest=self.manifest,
            models=self.models,
            titles=titles,
            measured_explainers=[e for e in self.explainers if e.title in titles],
            random_described=any(MEASURES[other].baseline for other in earlier),
        )
        return Markup(text.removesuffix("\n"))

    def pages(
        self,
        cases: Sequence[CaseResult],
        failures: Sequence[CaseFailure],
        kept: Sequence[CaseSpec] = (),
        predicted: Sequence[CasePredictions] = (),
        reasons: Mapping[str, tuple[str, ...]] | None = None,
    ) -> dict[str, str]:
        """Every page; with `reasons` (the cases chosen to explain, and why), the set page over `predicted`."""
        crop = self.manifest.preprocess.crop
        case_pages = [self.with_intros(case_page(case, self.models_by_key, self.explainers, crop)) for case in cases]
        if reasons is not None:
            case_pages = [replace(page, chosen_because=reasons.get(page.case_id, ())) for page in case_pages]
        means = means_tables([(markdown_text(label), own) for label, own in own_top1_metrics(cases, self.models)])
        extras = {key: value for m in MEASURES.values() for key, value in m.overview(cases, self.models_by_key).items()}
        mean_parts = tuple(
            MeasurePart(name, part)
            for name, measure in MEASURES.items()
            if (part := measure.overview_means(cases, self.models_by_key)) is not None
        )
        plots = overview_plots(cases, self.models)
        worst = worst_cases(cases, self.models)
        whole_set = set_page(predicted, self.models, reasons, self.manifest.top_k) if reasons is not None else None
        out = {
            "index.md": self.render(
                "index.md.j2",
                cases=case_pages,
                failures=failures,
                summary=summarise(case_pages),
                findings=report_findings(cases, self.models),
                gallery=gallery(case_pages),
                plots=plots,
                means=means,
                **extras,
                worst=worst,
                model_disagreements=disagreement_table(worst.disagreements or (), self.manifest.top_k),
                overview=case_table(overview_table(cases, case_pages, len(self.models)), self.models[0].label),
                kept=kept,
                mean_parts=mean_parts,
                whole_set=whole_set,
            ),
            "comparison.md": self.render(
                "comparison.md.j2",
                pairs=disagreeing_pairs(cases, case_pages, self.models_by_key),
                cases=case_pages,
                means=means,
                **extras,
                kept=kept,
                mean_parts=mean_parts,
            ),
            "methods.md": self.methods_page(cases),
        }
        if whole_set is not None:
            out["set.md"] = self.render("set.md.j2", set=whole_set)
            for cell in (cell for model in whole_set.models for cell in model.cells):
                out[cell.path] = self.render("set_cell.md.j2", cell=cell)
        for plot in plots:
            out[plot.path] = plot_svg(plot, page_prefix="../../")  # figures/_overview/ -> the site's root
        for case, page in zip(cases, case_pages, strict=True):
            out[f"cases/{page.case_id}.md"] = self.render(
                "case.md.j2", page=page, viewer=viewer_json(case, page, self.explainers)
            )
        return out


def measured_metrics(manifest: Manifest, explainers: Sequence[AnyExplainer], model_count: int) -> dict[str, list[str]]:
    """{measure: [explainer titles it applies to]} for what a build with these settings measures.

    The methods page explains only those, naming the methods each applies to.
    """
    wanted = {name: measure.described(manifest, explainers, model_count) for name, measure in MEASURES.items()}
    return {name: methods for name, methods in wanted.items() if methods}


def sentence_list(items: Iterable[str]) -> Markup:
    """["a", "b", "c"] -> "A, b and c": the project's own words and numbers, nothing to escape."""
    items = list(items)
    if len(items) > 1:
        items[-2:] = [f"{items[-2]} and {items[-1]}"]
    text = ", ".join(items)
    return Markup(text[:1].upper() + text[1:])


def unbatched_steps(manifest: Manifest, explainers: Sequence[AnyExplainer]) -> Markup:
    steps = ["predictions"]
    steps += [e.title for e in explainers if e.batched_work() is None]
    measured = measured_metrics(manifest, explainers, 1)
    steps += [work for name in measured if (work := MEASURES[name].unbatched_work) is not None]
    return sentence_list(steps)


def batched_steps(manifest: Manifest, explainers: Sequence[AnyExplainer]) -> Markup:
    """What runs through the batched classifier (generator.run.inference.batch_classifier), as a sentence's subject."""
    measured: list[type[Measure]] = [MEASURES[name] for name in measured_metrics(manifest, explainers, 1)]
    steps = [work for work in (e.batched_work() for e in explainers) if work is not None]
    curves = [measure.curve_name() for measure in measured if measure.curves]
    if curves:
        steps.append(f"the {' and the '.join(curves)} curves")
    steps += [work for measure in measured if (work := measure.batched_phrase(manifest, explainers)) is not None]
    return sentence_list(steps)


def library_versions() -> dict[str, str]:
    """This package's version and those of the libraries every result depends on (the cache's own list)."""
    installed = {name: found for name, found in result_library_versions().items() if found is not None}
    return {"xai-report": __version__, **installed}
