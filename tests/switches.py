"""Building a tiny report with any manifest settings, and what its pages must (not) show for those settings."""

import re
import tempfile
from pathlib import Path
from urllib.parse import unquote

from generator.build import BuildOptions, build_report
from generator.explain import EXPLAINERS
from generator.explain.cam import CamExplainer
from generator.measure import MEASURES
from tests.helpers import CHELSEA, COFFEE, make_project

GENERATED_PAGES = ("index.md", "comparison.md", "methods.md")
IMAGE_LINK = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
# regions on chelsea (451x300): one named object, several shapes (a mask image that build_tiny paints), none an object
REGIONS = {
    "object": {"regions": {"cat": [0, 0, 400, 300]}, "object": "cat"},
    "shapes": {
        "regions": {
            "eyes": [133, 83, 345, 165],
            "nose": [[232, 222], [295, 222], [263, 267]],
            "ear": "masks/ear.png",
            "tiny": [200.1, 150.1, 200.2, 150.2],
        },
        "object": "eyes",
    },
    "no object": {"regions": {"desk": [300, 200, 451, 300]}},
}
COFFEE_REGIONS = {"regions": {"cup": [172, 18, 410, 308], "espresso": [205, 95, 370, 193]}}  # the label's region
# the CAM family beyond Grad-CAM, as the registry has it (a new member is drawn and switched without an edit here)
CAM_VARIANTS = tuple(name for name, cls in EXPLAINERS.items() if issubclass(cls, CamExplainer) and name != "gradcam")
SECOND_MODEL = {"name": "mobilenet_v3_small", "display_name": "MNv3", "weights": "random"}


def tiny_manifest(
    gradcam=True,
    lime=True,
    faithfulness=True,
    sanity=True,
    stability_seeds=2,
    stability="reruns",
    two_models=False,
    top_k=5,
    num_features=5,
    top_labels=5,
    targets=(),
    label=None,
    two_cases=False,
    num_samples=12,
    model="resnet18",
    integrated_gradients=False,
    models=None,
    crop=None,
    batch_size=None,
    output=None,
    mean_std=None,
    cases_from=False,
    regions=None,
    cams=(),
    kernel_shap=False,
    road=False,
    explain=None,
):
    """A manifest of random-weight models on chelsea (and coffee), every switch a keyword.

        `models` (builder names) replaces `model` and `two_models`; `crop` shrinks the images the models see
        (resized to crop x crop); a `batch_size` (LIME's and the metrics') above every batch's length runs the
        models eagerly, so that none is traced (fast_forward: seconds per model and batch shape). `regions` (a key
        of REGIONS) marks regions on chelsea (and coffee); `cams` names the members of the CAM family to turn on
        (CAM_VARIANTS, off by default); `kernel_shap` and `road` turn KernelSHAP and the ROAD curves on; `explain` (the
    manifest's section: select and max) explains only the cases its rules choose."""
    case = {"id": "chelsea", "image": "images/chelsea.png"}
    if label is not None:
        case["label"] = label
    if targets:
        case["targets"] = list(targets)
    coffee = {"id": "coffee", "image": "images/coffee.png", "label": "espresso"}
    if regions is not None:
        case.update(REGIONS[regions])
        coffee.update(COFFEE_REGIONS)
    cases = [case] + ([coffee] if two_cases else [])
    if models is None:
        models = [{"name": model, "display_name": "R18" if model == "resnet18" else model, "weights": "random"}]
        models += [SECOND_MODEL] if two_models else []
    else:
        models = [model_entry(name) for name in models]
    if output is not None:
        models = [{**entry, "output": output} for entry in models]
    if mean_std is not None:  # every model normalises with these instead of its source's
        models = [{**entry, "mean": list(mean_std[0]), "std": list(mean_std[1])} for entry in models]
    manifest = {
        "title": "Switches",
        "models": models,
        "top_k": top_k,
        "explainers": {
            "gradcam": {"enabled": gradcam},
            "lime": {
                "enabled": lime,
                "num_samples": num_samples,
                "batch_size": batch_size or 12,
                "num_features": num_features,
                "top_labels": top_labels,
            },
            "integrated_gradients": {"enabled": integrated_gradients, "steps": 4, "internal_batch_size": 4},
            **{name: {"enabled": True} for name in cams},
            "kernel_shap": {"enabled": kernel_shap},
        },
        "metrics": {
            "faithfulness": faithfulness,
            "steps": 4,
            "sanity": sanity,
            "stability_seeds": stability_seeds,
            "stability": stability,
            "road": road,
        },
        "cases": cases,
    }
    if batch_size is not None:
        manifest["metrics"]["batch_size"] = batch_size
    if cases_from:  # every image of the folder (chelsea and coffee); the first entry overrides chelsea's keys
        manifest["cases_from"] = [{"folder": "images"}]
        manifest["cases"] = [{key: value for key, value in case.items() if key != "image"}]
    if crop is not None:
        manifest["preprocess"] = {"resize": [crop, crop], "crop": crop}
    if explain is not None:
        manifest["explain"] = explain
    return manifest


def model_entry(name):
    """A `models:` entry of a random model: a torchvision builder, or "source:builder" for another source."""
    source, _, builder = name.rpartition(":")
    if source == "torchscript":  # the file build_tiny writes: a traced random torchvision model
        return {"source": "torchscript", "name": f"models/{builder}.pt", "display_name": f"TS {builder}"}
    if source:
        return {"source": source, "name": builder, "weights": "random", "display_name": f"{source} {builder}"}
    return {"name": builder, "weights": "random"}


def write_model_files(manifest, content):
    """The TorchScript files the manifest names, traced from seeded random torchvision models."""
    import torch
    import torchvision

    for entry in manifest["models"]:
        if entry.get("source") == "torchscript" and not (content / entry["name"]).exists():
            torch.manual_seed(0)
            builder = Path(entry["name"]).stem
            module = torchvision.models.get_model(builder, weights=None).eval()
            (content / entry["name"]).parent.mkdir(parents=True, exist_ok=True)
            with torch.no_grad():
                torch.jit.save(torch.jit.trace(module, torch.zeros(1, 3, 64, 64)), content / entry["name"])


def write_masks(manifest, content):
    """The mask images the manifest's regions name: a white rectangle on black, at half the photo's size."""
    from PIL import Image, ImageDraw

    for case in manifest["cases"]:
        for shape in case.get("regions", {}).values():
            if isinstance(shape, str) and not (content / shape).exists():
                (content / shape).parent.mkdir(parents=True, exist_ok=True)
                mask = Image.new("L", (225, 150))
                ImageDraw.Draw(mask).rectangle((40, 0, 90, 40), fill=255)
                mask.save(content / shape)


def build_tiny(manifest, folder=None, site=True):
    """Build `manifest` in its own folder and cache; returns the content folder."""
    folder = Path(folder or tempfile.mkdtemp(prefix="xai-switches-"))
    path = make_project(folder, manifest, images=(CHELSEA, COFFEE))
    write_model_files(manifest, path.parent)
    write_masks(manifest, path.parent)
    options = BuildOptions(
        manifest=path,
        site_dir=folder / "site",
        site=site,
        show_progress=False,
        cache_dir=folder / "cache",
    )
    build_report(options)
    return path.parent


def generated_pages(content_dir):
    pages = [content_dir / name for name in GENERATED_PAGES] + sorted((content_dir / "cases").glob("*.md"))
    pages += [content_dir / "set.md"] if (content_dir / "set.md").is_file() else []  # with explain:
    pages += sorted((content_dir / "set").glob("*.md"))  # the whole set's confusion cells
    return {page.relative_to(content_dir).as_posix(): page.read_text(encoding="utf-8") for page in pages}


def table_columns(text):
    """Every Markdown table of a page as a list of columns (header cell, body cells)."""
    tables, block = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|") and line.rstrip().endswith("|"):
            block.append([cell.strip() for cell in line.strip()[1:-1].split(" | ")])
            continue
        if len(block) > 2:
            header, body = block[0], block[2:]
            tables.append([(header[i], [row[i] for row in body if i < len(row)]) for i in range(len(header))])
        block = []
    return tables


def methods_on(manifest):
    """{method: whether it is on}, for every registered explainer (the schema's defaults where the manifest is silent)."""
    from generator.manifest.schema import ExplainersSpec

    spec = ExplainersSpec.model_validate(manifest.get("explainers", {}))
    return {name: getattr(spec, name).enabled for name in EXPLAINERS}


def methods_run(manifest):
    """{method: whether it makes a map for some model}: a gradient method needs a model that is not opaque."""
    layered = any(entry.get("source") not in ("torchscript", "onnx") for entry in manifest["models"])
    return {name: on and (layered or not EXPLAINERS[name].needs_gradients) for name, on in methods_on(manifest).items()}


def title_spellings(title):
    """A method's title as pages write it: plain, and Markdown-escaped (observations escape '-', '+', '.')."""
    return [title, re.sub(r"([\\`*_{}\[\]()#+\-.!|~>])", r"\\\1", title)]


def switched_off_titles(manifest):
    """The titles of the methods that are off, as pages would spell them: none may be mentioned (`mentions`)."""
    return [t for name, on in methods_on(manifest).items() if not on for t in title_spellings(EXPLAINERS[name].title)]


def switched_off_words(manifest):
    """Text that must appear on no generated page: each names a measure or a part of a page that did not run."""
    metrics = manifest.get("metrics", {})
    on = methods_on(manifest)
    words = []
    if not any(on[name] and MEASURES["concentration"].applies_to(EXPLAINERS[name]) for name in on):
        words += ["concentration", "Concentration", "Sanity", "sanity ρ"]
    if not any(on[name] and EXPLAINERS[name].segments_case for name in on):
        words += ["superpixel"]  # without LIME or KernelSHAP no case is segmented: maps compare pixel by pixel
    if not (metrics.get("faithfulness", True) and any(on.values())):
        words += ["deletion", "insertion", "Deletion", "Faithfulness", "Least faithful"]
    if not (metrics.get("road", False) and any(on.values())):
        words += ["ROAD", "MoRF", "LeRF"]
    if not metrics.get("sanity", True):
        words += ["Sanity", "sanity check"]
    if not on["lime"] or metrics.get("stability_seeds", 3) < 2:
        words += ["stability", "stable", "Unstable", "unstable"]
    if len(manifest["models"]) < 2:  # "Agreement" alone may head one model's methods compared (LIME vs KernelSHAP)
        words += ["agree on", "Model against model", "disagree most"]
    if not any(case.get("regions") for case in manifest["cases"]):
        words += ["## Regions", "mass on", "Pointing game", "pointing game", "the author marks", "miss the object"]
    return words


def mentions(text, word):
    """`word` in `text` as a word of its own: "Grad-CAM" is not mentioned by "Grad-CAM++" or "XGrad-CAM"."""
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w+-]|\\[+-])", text) is not None


def expected_overview_sections(manifest):
    """The overview's worst-case headings that must appear: each one whose measurement ran."""
    metrics = manifest.get("metrics", {})
    run = methods_run(manifest)
    sections = []
    if len(manifest["models"]) > 1:
        sections.append("## Where the models disagree most")
    if metrics.get("faithfulness", True) and any(run.values()):
        sections.append("## Least faithful explanations")
    if metrics.get("road", False) and any(run.values()):
        sections.append("## Lowest ROAD scores")
    if run["lime"] and metrics.get("stability_seeds", 3) > 1:
        sections.append("## Least stable LIME")
    return sections


def case_pages_with_regions(manifest):
    """The case pages that must have a Regions section: those of the cases that mark regions."""
    return [f"cases/{case['id']}.md" for case in manifest["cases"] if case.get("regions")]


def expected_case_sections(manifest):
    """The headings every case page must have: each method that makes a map, and ROAD's part where it ran."""
    run = methods_run(manifest)
    headings = [f"## {EXPLAINERS[name].title}\n" for name, ran in run.items() if ran]
    if manifest.get("metrics", {}).get("road", False) and any(
        ran and MEASURES["road"].applies_to(EXPLAINERS[name]) for name, ran in run.items()
    ):
        headings.append("### ROAD")
    return headings


def check_pages(content_dir, manifest):
    """The pages show only what was computed (and all of it): no trace of what is off, no empty column, every
    figure present, each method's section on every case page."""
    pages = generated_pages(content_dir)
    problems = [
        f"index.md: no {heading!r}"
        for heading in expected_overview_sections(manifest)
        if heading not in pages["index.md"]
    ]
    problems += [
        f"{name}: no {heading.strip()!r}"
        for name in pages
        if name.startswith("cases/")
        for heading in expected_case_sections(manifest)
        if heading not in pages[name]
    ]
    problems += [
        f"{name}: no '## Regions'" for name in case_pages_with_regions(manifest) if "## Regions" not in pages[name]
    ]
    for name, text in pages.items():
        for word in switched_off_words(manifest):
            if word in text:
                problems.append(f"{name}: mentions {word!r}, which is off")
        for title in switched_off_titles(manifest):
            if mentions(text, title):
                problems.append(f"{name}: mentions the method {title!r}, which is off")
        lines = text.splitlines()
        for number, line in enumerate(lines):
            body = next((later for later in lines[number + 1 :] if later.strip()), "")
            if line.startswith("!!! ") and not body.startswith("    "):
                problems.append(f"{name}: admonition {line!r} has no indented body (it renders as plain text)")
        if re.search(r"\bnan\b", text, re.IGNORECASE):
            problems.append(f"{name}: shows nan")
        for table in table_columns(text):
            for header, cells in table:
                if cells and all(re.sub(r"<[^>]+>", "", cell) == "—" for cell in cells):
                    problems.append(f"{name}: column {header!r} has no value")
        base = (content_dir / name).parent
        for link in IMAGE_LINK.findall(text):
            if not (base / unquote(link)).resolve().is_file():
                problems.append(f"{name}: image {link} does not exist")
    if "explain" in manifest:  # two tiers: the whole set's page, and every explained case says why
        problems += [] if "set.md" in pages else ["no set.md: the whole set's page is missing"]
        problems += [
            f"{name}: does not say why it is explained"
            for name in pages
            if name.startswith("cases/") and "Why this case is explained" not in pages[name]
        ]
    assert not problems, "\n".join(problems)
