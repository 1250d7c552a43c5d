"""`lime.num_samples: auto` against the fixed 1000 on every case of a manifest. Not a test.

    python bench/bench_auto_samples.py --models efficientnet_lite0 --out bench/auto_samples.md

Per case and model, the build's own LIME explainer runs twice on the labels a case page shows (every model's
top-1 and the case's targets) and lime's other top labels: with `num_samples: auto` and with the fixed 1000.
Reported: the images each used, and the share of the shown labels whose top superpixels end stable by the
adaptive rule (mean Jaccard of at least 0.9 between the bootstrap refits of `bootstrap_stability`).
"""

import time

import numpy as np
from harness import collect_rows, command_line, write_report


def run(model, manifest, inputs, targets, num_samples):
    from generator.explain.lime import Lime, perturbation_set, stable_under_bootstrap

    settings = manifest.explainers.lime.model_copy(update={"num_samples": num_samples})
    started = time.perf_counter()
    results = Lime(settings, seed=manifest.seed).explain(model, inputs, targets)
    seconds = time.perf_counter() - started
    samples = results[0].samples
    data = perturbation_set(len(results[0].weights), samples, np.random.RandomState(manifest.seed))
    stable = [
        stable_under_bootstrap(data, r, settings.num_features, manifest.seed) for r in results if r.target in targets
    ]
    return {"samples": samples, "stable": float(np.mean(stable)), "labels": len(stable), "seconds": seconds}


def compare(model, manifest, inputs, targets):
    auto, fixed = (run(model, manifest, inputs, targets, n) for n in ("auto", 1000))
    print(f"{inputs.case_id} {model.label}: auto {auto} fixed {fixed}", flush=True)
    return [(inputs.case_id, model.label, auto, fixed)]


def main(argv=None):
    import torch

    args, models, rows, seconds = collect_rows(argv, compare, description=__doc__)
    autos, fixeds = [r[2] for r in rows], [r[3] for r in rows]
    lines = [
        "# `num_samples: auto` against the fixed 1000",
        "",
        f"- command: `{command_line(__file__, args.argv)}`",
        f"- models: {', '.join(f'{m.label} ({m.weights.short})' for m in models)}",
        f"- torch {torch.__version__}, {torch.get_num_threads()} threads; {seconds:.0f} s",
        "",
        "| case | model | images (auto) | stable labels (auto) | LIME s (auto) | stable labels (1000) | LIME s (1000) |",
        "|---|---|---:|---:|---:|---:|---:|",
        *(
            f"| {case} | {label} | {a['samples']} | {a['stable']:.0%} of {a['labels']} | {a['seconds']:.1f} | "
            f"{f['stable']:.0%} of {f['labels']} | {f['seconds']:.1f} |"
            for case, label, a, f in rows
        ),
        "",
        f"Median images with auto: {np.median([a['samples'] for a in autos]):.0f} (fixed: 1000). Labels that end "
        f"stable: auto {np.mean([a['stable'] for a in autos]):.0%}, fixed 1000 {np.mean([f['stable'] for f in fixeds]):.0%} "
        "(mean over case and model).",
    ]
    write_report(lines, args.out)


if __name__ == "__main__":
    main()
