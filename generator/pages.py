"""Markdown pages from Jinja2 templates; every manifest string is escaped for Markdown and HTML."""

import html
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import jinja2
from markupsafe import Markup

from generator import __version__
from generator.author_files import CONCLUSION, INTRODUCTION, case_discussion_path, model_note_path
from generator.case_figures import (
    GRADCAM,
    LIME_POSNEG,
    LIME_TOP,
    LIME_WEIGHTS,
    crop_path,
    curves_path,
    explanation_figure,
    faithfulness_curve_list,
    thumbnail_path,
)
from generator.devices import Inference
from generator.explain import method_title
from generator.metric_tables import case_tables, focus_heading, means_tables
from generator.observations import case_observations, report_findings
from generator.pages_format import num_cell, pct_cell
from generator.summary import disagreeing_pairs, largest_disagreements, own_top1_metrics, summarise

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def markdown_text(value):
    """Plain text that shows literally in Markdown: HTML-escaped, Markdown punctuation backslashed."""
    if value is None:
        return Markup("")
    text = " ".join(str(value).split())
    return Markup(MARKDOWN_SPECIALS.sub(r"\\\1", html.escape(text, quote=False)))


def template_environment(templates_dir=TEMPLATES_DIR):
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
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


@dataclass(frozen=True)
class ModelColumn:
    """What a page shows of one model on one case."""

    key: str
    label: str
    weights: str
    is_random: bool
    top_k: tuple
    targets: tuple  # (index, name)
    correct: bool | None
    lime_samples: int | None = None  # perturbed images LIME used (num_samples: auto decides per model)


@dataclass(frozen=True)
class MetricsRow:
    """One model and target on a case page's measurement tables."""

    model: str
    target: str
    metrics: object  # TargetMetrics


@dataclass(frozen=True)
class ComparisonRow:
    method: str
    target: str
    model_a: str
    model_b: str
    agreement: object


@dataclass(frozen=True)
class CasePage:
    case_id: str
    title: str
    image_path: str
    label_name: str | None
    columns: tuple  # ModelColumn
    agree: bool
    has_gradcam: bool
    has_lime: bool
    metrics_rows: tuple = ()
    faithfulness_table: object = None  # metric_tables.Table, None when nothing was measured
    focus_table: object = None
    comparisons: tuple = ()
    observations: tuple = ()
    has_curves: bool = False


def metrics_rows(case, models_by_key, categories):
    return tuple(
        MetricsRow(models_by_key[key].label, categories[target], result.metrics[target])
        for key, result in case.models.items()
        for target in result.targets
        if target in result.metrics
    )


def comparison_rows(case, models_by_key, categories):
    return tuple(
        ComparisonRow(
            method_title(p.method),
            categories[p.target],
            models_by_key[p.model_a].label,
            models_by_key[p.model_b].label,
            p.agreement,
        )
        for p in case.comparisons
    )


def case_page(case, models_by_key, categories, k):
    spec = case.spec
    rows = metrics_rows(case, models_by_key, categories)
    faithfulness_table, focus_table = case_tables(
        [((markdown_text(r.model), markdown_text(r.target)), r.metrics) for r in rows], k
    )
    label = spec.label_index
    columns = tuple(
        ModelColumn(
            key=key,
            label=models_by_key[key].label,
            weights=models_by_key[key].weights.short,
            is_random=models_by_key[key].is_random,
            top_k=result.top_k,
            targets=tuple((t, categories[t]) for t in result.targets),
            correct=None if label is None else result.top1.index == label,
            lime_samples=next((r.samples for r in result.lime.values()), None),
        )
        for key, result in case.models.items()
    )
    return CasePage(
        case_id=case.case_id,
        title=spec.title or case.case_id,
        image_path=quote(spec.image),  # a phone's "IMG (1) #2.jpg" must stay one valid link
        label_name=None if label is None else categories[label],
        columns=columns,
        agree=len({r.top1.index for r in case.models.values()}) == 1,
        has_gradcam=any(r.gradcam for r in case.models.values()),
        has_lime=any(r.lime for r in case.models.values()),
        metrics_rows=rows,
        faithfulness_table=faithfulness_table,
        focus_table=focus_table,
        comparisons=comparison_rows(case, models_by_key, categories),
        observations=tuple(case_observations(case, models_by_key, categories, k)),
        has_curves=bool(faithfulness_curve_list(case, models_by_key)),
    )


class PageRenderer:
    def __init__(self, manifest, models, inference=Inference(), templates_dir=TEMPLATES_DIR):
        self.manifest = manifest
        self.models = models
        self.inference = inference
        self.models_by_key = {m.key: m for m in models}
        self.env = template_environment(templates_dir)
        self.env.globals.update(
            figure=explanation_figure,
            thumbnail=thumbnail_path,
            crop=crop_path,
            curves=curves_path,
            GRADCAM=GRADCAM,
            LIME_TOP=LIME_TOP,
            LIME_POSNEG=LIME_POSNEG,
            LIME_WEIGHTS=LIME_WEIGHTS,
            focus_heading=focus_heading,
            INTRODUCTION=INTRODUCTION,
            CONCLUSION=CONCLUSION,
            model_note=model_note_path,
            discussion=case_discussion_path,
            PAIR_FIGURES={"gradcam": (GRADCAM, "Grad-CAM"), "lime": (LIME_TOP, "LIME top superpixels")},
            version=__version__,
        )

    def render(self, name, **context):
        return self.env.get_template(name).render(manifest=self.manifest, models=self.models, **context)

    def methods_page(self):
        return self.render(
            "methods.md.j2",
            versions=library_versions(),
            inference=self.inference,
            batched_steps=batched_steps(self.manifest),
            unbatched_steps=unbatched_steps(self.manifest),
            measured=measured_metrics(self.manifest, len(self.models)),
        )

    def pages(self, cases, failures, kept=()):
        categories = self.models[0].categories
        k = self.manifest.explainers.lime.num_features
        case_pages = [case_page(case, self.models_by_key, categories, k) for case in cases]
        means = means_tables([(markdown_text(label), own) for label, own in own_top1_metrics(cases, self.models)], k)
        disagreements = largest_disagreements(cases, self.models_by_key, categories)
        out = {
            "index.md": self.render(
                "index.md.j2",
                cases=case_pages,
                failures=failures,
                summary=summarise(case_pages),
                findings=report_findings(cases, self.models, k),
                means=means,
                disagreements=disagreements,
                kept=kept,
            ),
            "comparison.md": self.render(
                "comparison.md.j2",
                pairs=disagreeing_pairs(cases, case_pages),
                cases=case_pages,
                means=means,
                disagreements=disagreements,
                kept=kept,
            ),
            "methods.md": self.methods_page(),
        }
        for page in case_pages:
            out[f"cases/{page.case_id}.md"] = self.render("case.md.j2", page=page)
        return out


def measured_metrics(manifest, model_count):
    """The metrics a build with these settings measures (the methods page explains only those)."""
    gradcam, lime, settings = manifest.explainers.gradcam.enabled, manifest.explainers.lime.enabled, manifest.metrics
    wanted = {
        "faithfulness": settings.faithfulness and (gradcam or lime),
        "concentration": gradcam,
        "methods_agreement": gradcam and lime,
        "model_agreement": model_count > 1 and (gradcam or lime),
        "stability": lime and settings.stability_seeds > 1,
        "sanity": gradcam and settings.sanity,
    }
    return {name for name, on in wanted.items() if on}


def sentence_list(items):
    """["a", "b", "c"] -> "A, b and c": the project's own words and numbers, nothing to escape."""
    items = list(items)
    if len(items) > 1:
        items[-2:] = [f"{items[-2]} and {items[-1]}"]
    text = ", ".join(items)
    return Markup(text[:1].upper() + text[1:])


def unbatched_steps(manifest):
    steps = ["predictions"]
    if manifest.explainers.gradcam.enabled:
        steps.append("Grad-CAM")
        if manifest.metrics.sanity:
            steps.append("the sanity check")
    return sentence_list(steps)


def batched_steps(manifest):
    """What runs through the batched classifier (generator.inference.BatchClassifier), as the subject of a sentence."""
    measured, lime = measured_metrics(manifest, 1), manifest.explainers.lime
    steps = []
    if lime.enabled:
        count = "" if lime.num_samples == "auto" else f"{lime.num_samples} "
        steps.append(f"LIME's {count}perturbed images per model")
    if "faithfulness" in measured:
        steps.append("the deletion and insertion curves")
    if "stability" in measured and manifest.metrics.stability == "reruns":
        steps.append("the LIME stability re-runs")
    return sentence_list(steps)


def library_versions():
    from importlib.metadata import version

    import torch
    import torchvision

    return {
        "xai-report": __version__,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "lime": version("lime"),
    }
