"""Does bf16 change the LIME explanations? fp32 against bf16 on every case of a manifest. Not a test.

    python bench/bench_bf16_agreement.py --manifest content/manifest.yaml --out bench/bf16_agreement.md
    python bench/bench_bf16_agreement.py --models efficientnet_lite0 --out bench/bf16_agreement.md  # offline

The speed issue's rule: bf16 may be a default only if, on every default case, the LIME weights of bf16 and
fp32 have a Spearman rho of at least 0.95 and at least 4 of their 5 highest-weighted superpixels in common.
This script applies that rule to each case and model, the way a build computes them: the case's image
through the manifest's preprocessing, lime's segmentation and perturbation set from the manifest's seed,
the labels a case page shows (every model's top-1 and the case's `targets`, see generator/compute.py),
and lime's other top labels as well. The models are the manifest's unless `--models` names others: the
ResNets' trained weights need a download (or a TORCH_HOME that holds them), EfficientNet-Lite0's ship
with the offline package.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from weights_agreement import TOP, spearman, top_overlap  # noqa: E402  (bench/, the script's folder)

MIN_RHO = 0.95
MIN_OVERLAP = 4  # of the TOP highest-weighted superpixels


def load_models(manifest, manifest_dir, names):
    from generator.manifest.schema import ModelSpec
    from generator.run.models import load_model, resolve_weights

    specs = manifest.models if not names else [ModelSpec(name=name) for name in names]
    return [load_model(spec, resolve_weights(spec, manifest_dir, manifest.seed), manifest.seed) for spec in specs]


def case_inputs(manifest, manifest_dir, spec):
    """What a build hands the explainers for this case (generator.compute.compute_case)."""
    from generator.explain import CaseInputs
    from generator.run.images import Preprocessor, decode_image

    original = decode_image(manifest_dir / spec.image, spec.case_id, manifest.preprocess.background)
    prepared = Preprocessor(manifest.preprocess).prepare(original)
    return CaseInputs(spec.case_id, prepared)


def shown_targets(spec, models, inputs):
    """The labels each model's part of a case page explains: every model's top-1 and the case's targets."""
    from generator.run.class_names import model_targets
    from generator.run.inference import probabilities, top_k

    top1 = [top_k(probabilities(model, model.input_tensor(inputs.image)), model.categories, 1) for model in models]
    return {model.key: model_targets(model, spec, models, top1) for model in models}


def explain(model, manifest, inputs, targets, precision):
    """The build's own LIME explainer (segments computed on the first call and shared by the later ones)."""
    from generator.explain.lime import Lime

    explainer = Lime(manifest.explainers.lime, seed=manifest.seed, precision=precision)
    return {result.target: result.weights for result in explainer.explain(model, inputs, targets)}


def compare_case(model, manifest, inputs, targets):
    """One row per label explained: rho, overlap and whether the label is shown on the case page."""
    fp32 = explain(model, manifest, inputs, targets, "fp32")
    bf16 = explain(model, manifest, inputs, tuple(fp32), "bf16")  # every label fp32 explained
    rows = []
    for label, weights in fp32.items():
        rows.append(
            {
                "case": inputs.case_id,
                "model": model.label,
                "label": label,
                "name": model.categories[label],
                "shown": label in targets,
                "rho": spearman(weights, bf16[label]),
                "overlap": top_overlap(weights, bf16[label]),
            }
        )
    return rows


def passes(row):
    return row["rho"] >= MIN_RHO and row["overlap"] >= MIN_OVERLAP


def case_lines(rows):
    """Per case and model: the worst shown label and the worst of all explained labels."""
    lines = []
    for key in dict.fromkeys((row["case"], row["model"]) for row in rows):
        group = [row for row in rows if (row["case"], row["model"]) == key]
        shown = [row for row in group if row["shown"]]
        worst_shown = min(shown, key=lambda row: (passes(row), row["rho"]))
        lines.append(
            f"| {key[0]} | {key[1]} | {len(shown)} | {min(r['rho'] for r in shown):.4f} "
            f"| {min(r['overlap'] for r in shown)}/{TOP} | {min(r['rho'] for r in group):.4f} "
            f"| {min(r['overlap'] for r in group)}/{TOP} | {'yes' if all(map(passes, shown)) else 'no'} "
            f"({worst_shown['name']}) |"
        )
    return lines


def report(args, models, rows, seconds):
    import torch

    shown = [row for row in rows if row["shown"]]
    failing = sorted({row["case"] for row in shown if not passes(row)})
    verdict = (
        f"**Every case passes** (rho >= {MIN_RHO} and >= {MIN_OVERLAP}/{TOP} top superpixels on every shown label)."
        if not failing
        else f"**Failing cases**: {', '.join(failing)}."
    )
    return [
        f"# bf16 vs fp32 LIME weights on every case of `{args.manifest}`",
        "",
        f"- command: `{' '.join(['python bench/bench_bf16_agreement.py', *args.argv])}`",
        f"- models: {', '.join(f'{m.label} ({m.weights.short})' for m in models)}",
        f"- torch {torch.__version__}, {torch.get_num_threads()} threads; {seconds:.0f} s",
        "",
        "Per case and model: the labels its page shows (every model's top-1 and the case's targets), the lowest",
        f"Spearman rho and top-{TOP} overlap among them, the same over every label LIME explained (the model's",
        "top 5 as well), and whether every shown label meets the rule (in brackets: the worst shown label).",
        "",
        "| case | model | shown labels | rho min (shown) | overlap min (shown) | rho min (all) | overlap min (all) "
        "| passes |",
        "|---|---|---:|---:|---:|---:|---:|---|",
        *case_lines(rows),
        "",
        verdict,
        f"Over all {len(rows)} explained labels: rho mean {np.mean([r['rho'] for r in rows]):.4f}, "
        f"min {min(r['rho'] for r in rows):.4f}; overlap mean {np.mean([r['overlap'] for r in rows]):.2f}/{TOP}.",
    ]


def parse_args(argv, extra=None, description=__doc__):
    """The options every agreement benchmark shares; `extra(parser)` adds a script's own."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", default="content/manifest.yaml")
    parser.add_argument("--models", default="", help="comma-separated builder names instead of the manifest's models")
    parser.add_argument("--samples", type=int, help="LIME samples (default: the manifest's)")
    parser.add_argument("--cases", default="", help="comma-separated case ids (default: every case)")
    parser.add_argument("--out", help="also write the Markdown report here")
    if extra:
        extra(parser)
    args = parser.parse_args(argv)
    args.argv = argv
    return args


def load_inputs(args):
    """The manifest (with --samples applied) and its models, or exit with the project's own error message."""
    from generator.manifest.loader import load_manifest
    from generator.utils.errors import ReportError

    try:
        manifest = load_manifest(args.manifest)
        if args.samples:
            lime = manifest.explainers.lime.model_copy(update={"num_samples": args.samples})
            explainers = manifest.explainers.model_copy(update={"lime": lime})
            manifest = manifest.model_copy(update={"explainers": explainers})
        names = [name for name in args.models.split(",") if name]
        return manifest, load_models(manifest, Path(args.manifest).parent, names)
    except ReportError as error:
        sys.exit(f"{error}\n(offline, --models efficientnet_lite0 has trained weights: those of the offline package)")


def cases_and_models(args, manifest, models):
    """(case inputs, the labels its page shows, model) for every selected case (--cases) and every model."""
    wanted = {case for case in args.cases.split(",") if case}
    for spec in manifest.cases:
        if wanted and spec.case_id not in wanted:
            continue
        inputs = case_inputs(manifest, Path(args.manifest).parent, spec)
        targets = shown_targets(spec, models, inputs)
        for model in models:
            yield inputs, targets[model.key], model


def collect_rows(argv, per_case):
    """Parse the command line, load the manifest and models, and gather per_case(model, manifest, inputs,
    targets) -> rows over every case and model; returns (args, models, rows, seconds)."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    manifest, models = load_inputs(args)
    started, rows = time.perf_counter(), []
    for inputs, targets, model in cases_and_models(args, manifest, models):
        rows += per_case(model, manifest, inputs, targets)
    return args, models, rows, time.perf_counter() - started


def write_report(args, lines):
    print("\n".join(lines))
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")


def compare_cases(args, manifest, models):
    rows = []
    for inputs, targets, model in cases_and_models(args, manifest, models):
        case_rows = compare_case(model, manifest, inputs, targets)
        print(case_lines(case_rows)[0], flush=True)
        rows += case_rows
    return rows


def main(argv=None):
    from generator.run import devices

    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if not devices.bf16_supported("cpu"):
        sys.exit("this CPU has no native bf16: nothing to compare")
    manifest, models = load_inputs(args)
    started = time.perf_counter()
    rows = compare_cases(args, manifest, models)
    write_report(args, report(args, models, rows, time.perf_counter() - started))


if __name__ == "__main__":
    main()
