"""KernelSHAP's spread across seeds, beside LIME's on the same images. Not a test.

    python bench/bench_kernel_shap.py --manifest examples/offline/manifest.yaml --models efficientnet_lite0 \
        --out bench/kernel_shap_spread.md

A build's KernelSHAP fits the Shapley-kernel-weighted linear model on the perturbed images LIME classified
(`generator.explain.kernel_shap`), so its answer moves with the seed exactly as LIME's does: a new seed draws new
images. This script measures by how much. For every case, model and target its page shows, `--runs` seeds
(manifest seed, seed + 1, ...) each draw `--samples` perturbed images (default: the manifest's LIME count) on the
build's superpixels; each set is classified once, and both LIME's surrogate and KernelSHAP are fitted on it, as
in a build. For each method:

- Jaccard: the mean pairwise Jaccard of the top-5 positive superpixels across the runs (`seed_stability`, the
  figure a build's LIME stability gives);
- spread: the mean per-superpixel standard deviation across the runs over the mean |value| (the same function);
- r to ref.: the mean Pearson correlation of each run's values with a reference, KernelSHAP fitted on
  `--reference-samples` images of another seed (an estimate of the exact Shapley values, whose 2^M coalitions
  cannot be enumerated for M of about 50 superpixels). For LIME the same Pearson says how far its weights are
  from the Shapley values at all.

Targets whose probability does not move over the images (a model that ignores its input) are left out and
listed, as in `bench_stability.py`.
"""

import sys
import time

import numpy as np
from harness import cases_and_models, command_line, load_inputs, manifest_args, write_report

REFERENCE_SEED_OFFSET = 1000
TOP_K = 5


def extra_options(parser):
    parser.add_argument("--runs", type=int, default=5, help="seeds per case, model and target")
    parser.add_argument("--reference-samples", type=int, default=5000)


def classified(model, inputs, count, seed, hide_color, batch_size):
    """(rows, every class's probability on them) of one seed's perturbation set, classified once."""
    from generator.explain.lime import classify_perturbations, perturbation_set
    from generator.run.inference import batch_classifier

    segments = inputs.segments
    rows = perturbation_set(int(segments.max()) + 1, count, np.random.RandomState(seed))
    classifier = batch_classifier(model, batch_size, "cpu", "fp32")
    return rows, classify_perturbations(classifier, inputs.image.crop_array, segments, rows, hide_color)


def hidden_probabilities(model, inputs, hide_color, batch_size):
    from generator.run.inference import batch_classifier

    blank = np.full((1, *inputs.image.crop_array.shape), hide_color, dtype=np.uint8)
    return batch_classifier(model, batch_size, "cpu", "fp32")(blank)[0]


def shapley(rows, probabilities, hidden, target):
    from generator.explain.kernel_shap import kernel_shap_values

    return kernel_shap_values(rows, probabilities[:, target], probabilities[0, target], hidden[target])


def lime_weights(rows, probabilities, target, seed):
    from generator.explain.lime import fit_surrogates

    return fit_surrogates(rows, probabilities.astype(np.float64), (target,), np.random.RandomState(seed))[0].weights


def mean_pearson(runs, reference):
    return float(np.mean([np.corrcoef(run, reference)[0, 1] for run in runs]))


def case_rows(model, manifest, inputs, targets, args):
    """One row per shown target: each method's Jaccard, spread and Pearson with the reference."""
    from generator.explain.lime import Lime, is_constant
    from generator.explain.stability import seed_stability

    settings = manifest.explainers.lime
    Lime(settings, seed=manifest.seed).prepare_case(inputs, lambda kind, parts, compute: compute())
    count = args.samples or settings.num_samples
    hidden = hidden_probabilities(model, inputs, settings.hide_color, settings.batch_size)
    started = time.perf_counter()
    runs = [
        classified(model, inputs, count, manifest.seed + r, settings.hide_color, settings.batch_size)
        for r in range(args.runs)
    ]
    seconds = (time.perf_counter() - started) / args.runs
    reference_seed = manifest.seed + REFERENCE_SEED_OFFSET
    reference = classified(
        model, inputs, args.reference_samples, reference_seed, settings.hide_color, settings.batch_size
    )
    rows = []
    for target in targets:
        name = model.categories[target]
        if is_constant(reference[1][:, target]):
            rows.append({"case": inputs.case_id, "model": model.label, "target": name, "constant": True})
            continue
        exact = shapley(*reference, hidden, target)
        values = {
            "KernelSHAP": [shapley(r, p, hidden, target) for r, p in runs],
            "LIME": [lime_weights(r, p, target, manifest.seed + i) for i, (r, p) in enumerate(runs)],
        }
        row = {"case": inputs.case_id, "model": model.label, "target": name, "constant": False}
        row["superpixels"] = len(exact)
        row["seconds"] = seconds
        for method, weights in values.items():
            stability = seed_stability(weights, k=TOP_K)
            row[method] = (stability.mean_jaccard, stability.weight_spread, mean_pearson(weights, exact))
        rows.append(row)
        print(row, flush=True)
    return rows


def report(args, rows, seconds):
    measured = [row for row in rows if not row["constant"]]
    lines = [
        "# KernelSHAP's spread across seeds, beside LIME's",
        "",
        f"`{command_line(__file__, args.argv)}` ({seconds:.0f} s). {args.runs} seeds per case, "
        f"model and target; each seed's perturbed images classified once and fitted by both methods; reference: "
        f"KernelSHAP on {args.reference_samples} images of another seed. Jaccard: top-{TOP_K} positive superpixels, "
        "mean over pairs of runs (higher: steadier); spread: per-superpixel std over the mean |value| (lower: "
        "steadier); r to ref.: mean Pearson of a run's values with the reference.",
        "",
        "| Case | Model | Target | Superpixels | KernelSHAP Jaccard | KernelSHAP spread | KernelSHAP r to ref. "
        "| LIME Jaccard | LIME spread | LIME r to ref. |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in measured:
        shap, lime = row["KernelSHAP"], row["LIME"]
        lines.append(
            f"| {row['case']} | {row['model']} | {row['target']} | {row['superpixels']} | {shap[0]:.2f} | "
            f"{shap[1]:.2f} | {shap[2]:.3f} | {lime[0]:.2f} | {lime[1]:.2f} | {lime[2]:.3f} |"
        )
    if measured:
        means = {m: np.mean([row[m] for row in measured], axis=0) for m in ("KernelSHAP", "LIME")}
        shap, lime = means["KernelSHAP"], means["LIME"]
        lines.append(
            f"| **mean** | | | | **{shap[0]:.2f}** | **{shap[1]:.2f}** | **{shap[2]:.3f}** | **{lime[0]:.2f}** | "
            f"**{lime[1]:.2f}** | **{lime[2]:.3f}** |"
        )
    constant = [f"{row['case']} / {row['model']} / {row['target']}" for row in rows if row["constant"]]
    if constant:
        lines += ["", f"Left out (the probability does not move over the images): {', '.join(constant)}."]
    return lines


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = manifest_args(argv, extra=extra_options, description=__doc__)
    manifest, models = load_inputs(args)
    started, rows = time.perf_counter(), []
    for inputs, targets, model in cases_and_models(args, manifest, models):
        rows += case_rows(model, manifest, inputs, targets, args)
    write_report(report(args, rows, time.perf_counter() - started), args.out)


if __name__ == "__main__":
    main()
