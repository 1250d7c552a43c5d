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

import sys
import time

import numpy as np
from harness import TOP, cases_and_models, command_line, load_inputs, manifest_args, spearman, top_overlap, write_report

MIN_RHO = 0.95
MIN_OVERLAP = 4  # of the TOP highest-weighted superpixels


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
        f"- command: `{command_line(__file__, args.argv)}`",
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
    args = manifest_args(argv, description=__doc__)
    if not devices.bf16_supported("cpu"):
        sys.exit("this CPU has no native bf16: nothing to compare")
    manifest, models = load_inputs(args)
    started = time.perf_counter()
    rows = compare_cases(args, manifest, models)
    write_report(report(args, models, rows, time.perf_counter() - started), args.out)


if __name__ == "__main__":
    main()
