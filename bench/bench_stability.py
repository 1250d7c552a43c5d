"""LIME stability by bootstrap against true re-runs, on every case of a manifest. Not a test.

    python bench/bench_stability.py --models efficientnet_lite0 --out bench/stability.md      # default cases
    python bench/bench_stability.py --manifest examples/offline/manifest.yaml --out bench/stability-offline.md

For each case and model, the build's own LIME run (generator.explain.lime.Lime) explains the labels the case
page shows; generator.measure.measurer.Measurer then estimates their stability both ways, with the manifest's
`stability_seeds`: "reruns" (LIME again with further seeds: new perturbed images, classified) and "bootstrap"
(the surrogate refitted on resamples of the images already classified). The speed issue's rule for making
bootstrap the default: the unstable flags agree on at least 90% of the explained targets, and the two mean
Jaccard figures correlate (Pearson) at least 0.8.
"""

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_bf16_agreement import collect_rows, write_report  # noqa: E402

MIN_FLAG_AGREEMENT = 0.9
MIN_PEARSON = 0.8


def classifier(manifest, model):
    from generator.run.inference import batch_classifier

    return batch_classifier(model.module, manifest.preprocess, manifest.metrics.batch_size)


def compare_case(model, manifest, inputs, targets):
    from generator.explain.lime import Lime

    lime = Lime(manifest.explainers.lime, seed=manifest.seed)
    results = {r.target: r for r in lime.explain(model, inputs, targets) if r.target in targets}
    timings, found = {}, {}
    for method in ("reruns", "bootstrap"):
        settings = manifest.metrics.model_copy(update={"stability": method})
        started = time.perf_counter()
        found[method] = lime.stability(classifier(manifest, model), inputs, results, settings)
        timings[method] = time.perf_counter() - started
    return [
        {
            "case": inputs.case_id,
            "model": model.label,
            "label": model.categories[target],
            "reruns": found["reruns"][target],
            "bootstrap": found["bootstrap"][target],
            "seconds": timings,
        }
        for target in targets
    ]


def report(args, models, rows, seconds):
    import torch

    reruns = np.array([r["reruns"].mean_jaccard for r in rows])
    bootstrap = np.array([r["bootstrap"].mean_jaccard for r in rows])
    flags = np.mean([r["reruns"].stable == r["bootstrap"].stable for r in rows])
    pearson = float(np.corrcoef(reruns, bootstrap)[0, 1]) if reruns.std() > 0 and bootstrap.std() > 0 else float("nan")
    passes = flags >= MIN_FLAG_AGREEMENT and pearson >= MIN_PEARSON
    lines = [
        "# LIME stability: bootstrap against re-runs",
        "",
        f"- command: `{' '.join(['python bench/bench_stability.py', *args.argv])}`",
        f"- models: {', '.join(f'{m.label} ({m.weights.short})' for m in models)}",
        f"- torch {torch.__version__}, {torch.get_num_threads()} threads; {seconds:.0f} s",
        "",
        "| case | model | label | Jaccard (re-runs) | Jaccard (bootstrap) | unstable (re-runs) | unstable (bootstrap) |",
        "|---|---|---|---:|---:|---|---|",
        *(
            f"| {r['case']} | {r['model']} | {r['label']} | {r['reruns'].mean_jaccard:.2f} | "
            f"{r['bootstrap'].mean_jaccard:.2f} | {'yes' if not r['reruns'].stable else 'no'} | "
            f"{'yes' if not r['bootstrap'].stable else 'no'} |"
            for r in rows
        ),
        "",
        f"Explained targets: {len(rows)}. Unstable flags agree on {flags:.0%} (rule: at least "
        f"{MIN_FLAG_AGREEMENT:.0%}); Pearson of the Jaccard figures {pearson:.2f} (rule: at least {MIN_PEARSON}).",
        f"Mean Jaccard: re-runs {reruns.mean():.2f}, bootstrap {bootstrap.mean():.2f}. "
        f"Time per model and case: re-runs {np.mean([r['seconds']['reruns'] for r in rows]):.2f} s, "
        f"bootstrap {np.mean([r['seconds']['bootstrap'] for r in rows]):.2f} s.",
        f"Verdict: {'passes' if passes else 'does not pass'} the rule.",
    ]
    return lines


def compare_and_print(model, manifest, inputs, targets):
    rows = compare_case(model, manifest, inputs, targets)
    pairs = (f"{r['label']} {r['reruns'].mean_jaccard:.2f}/{r['bootstrap'].mean_jaccard:.2f}" for r in rows)
    print(f"{inputs.case_id} {model.label}: {', '.join(pairs)}", flush=True)
    return rows


def main(argv=None):
    args, models, rows, seconds = collect_rows(argv, compare_and_print)
    write_report(args, report(args, models, rows, seconds))


if __name__ == "__main__":
    main()
