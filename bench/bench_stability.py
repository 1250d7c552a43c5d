"""LIME's seed stability: the bootstrap estimate and the build's re-runs, against many re-runs. Not a test.

    python bench/bench_stability.py --models efficientnet_lite0 --out bench/stability.md      # default cases
    python bench/bench_stability.py --manifest examples/offline/manifest.yaml --out bench/stability-offline.md

What a stability figure estimates: how far LIME's top-k superpixels move between two runs with different
seeds, the expected Jaccard of two independent runs. This script measures that quantity directly: LIME runs
`--runs` times (default 10) per case and model on the build's segments, with the seeds a build would use
(run 0 is the build's own, run r the r-th re-run), and the mean Jaccard over all pairs of runs is the
reference. Both estimates a build can make are then computed once for every run r as the build's own, and
each is compared with the reference from the runs it did not use:

- `bootstrap`: `generator.explain.lime.bootstrap_stability` on run r alone (no model runs);
- `re-runs`: the build's re-run figure, runs r .. r + stability_seeds - 1 (`seed_stability`).

The speed issue's rule for making bootstrap the default: its unstable flags agree with the reference's on at
least 90% of the explained targets, and its Jaccard figures correlate (Pearson) at least 0.8 with the
reference. The explained targets (`--targets explained`, the default) are every class the build's LIME fits:
the classes the pages show and the model's other top `top_labels`; `--targets shown` takes the first only. Every estimate is taken over all (target, own run) pairs, so a lucky own run cannot decide it;
the table's figures are run 0's. `--store DIR` keeps the classified runs (one .npz per case and model) and
reuses them, so the analysis can be repeated without running the models.

Targets whose probability does not move over the perturbed images (`generator.explain.lime.is_constant`: a
model that ignores its input, like the offline example's random twin) are left out and listed: every run gives
them zero weights, so the reference and both estimates are exactly 1.0 and would agree by construction.

What limits the agreement: each figure is measured from a few runs, so each carries noise of its own. The
script measures how far two estimates of the same target from disjoint runs agree (their reliability), how far
two references of half the runs agree, and the Pearson of each estimate with a half-size reference from runs
it did not use. Divided by the square root of both reliabilities (Spearman's correction for attenuation), that
Pearson says how closely the estimate follows the quantity itself: near 1, the estimate measures what the
re-runs measure, and only its noise (how much one run can say) keeps the plain Pearson lower.
"""

import re
import sys
import time
from pathlib import Path

import numpy as np
from harness import cases_and_models, command_line, load_inputs, manifest_args, write_report

MIN_FLAG_AGREEMENT = 0.9
MIN_PEARSON = 0.8
HALF_DRAWS = 20  # random half-size references per target (reliability) and per own run (Pearson)
TARGET_RESAMPLES = 1000  # bootstrap over targets: the 95% intervals of the pooled figures


def stored_name(case_id, model_label):
    return re.sub(r"[^\w-]+", "_", f"{case_id}--{model_label}") + ".npz"


def classified_runs(model, manifest, inputs, runs, store):
    """(data, labels, seconds per run) of `runs` LIME perturbation sets (seeds seed, seed + 1, ...): rows and
    probabilities, and how long classifying one set took (as measured when they were first classified)."""
    from generator.explain.lime import Lime, classify_perturbations, perturbation_set

    path = store / stored_name(inputs.case_id, model.label) if store else None
    if path and path.exists():
        saved = np.load(path)
        if len(saved["data"]) >= runs and saved["data"].shape[1] == manifest.explainers.lime.num_samples:
            return saved["data"][:runs], saved["labels"][:runs], float(saved.get("seconds", np.nan))
    settings = manifest.explainers.lime
    lime = Lime(settings, seed=manifest.seed)
    lime.prepare_case(inputs, lambda kind, parts, compute: compute())
    classifier = lime.classifier(model, inputs)
    image, segments = inputs.image.crop_array, inputs.segments
    datas, labels, started = [], [], time.perf_counter()
    for offset in range(runs):
        random_state = np.random.RandomState(manifest.seed + offset)
        data = perturbation_set(int(segments.max()) + 1, settings.num_samples, random_state)
        datas.append(data)
        labels.append(classify_perturbations(classifier, image, segments, data, settings.hide_color))
    datas, labels = np.array(datas), np.array(labels, dtype=np.float32)
    seconds = (time.perf_counter() - started) / runs
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, data=datas, labels=labels, seconds=seconds)
    return datas, labels, seconds


def target_runs(datas, labels, target, seed):
    """The target's LimeResult in every run (lime's surrogate on that run's rows)."""
    from generator.explain.lime import fit_surrogates

    return [
        fit_surrogates(data, label.astype(np.float64), (target,), np.random.RandomState(seed + r))[0]
        for r, (data, label) in enumerate(zip(datas, labels))
    ]


def mean_jaccard(weight_runs, k):
    from generator.explain.stability import seed_stability

    return seed_stability(weight_runs, k=k).mean_jaccard


def leave_out_reference(results, used, k):
    """The mean pairwise Jaccard of the runs not in `used`: the quantity, measured without the estimate's runs."""
    return mean_jaccard([r.weights for i, r in enumerate(results) if i not in used], k)


def used_runs(r, count, seeds):
    """The runs each estimate reads when run r is the build's own: {method: set of run indices}."""
    return {"bootstrap": {r}, "reruns": {(r + i) % count for i in range(seeds)}}


def estimates(results, datas, seed, seeds, k):
    """For every own run r: (bootstrap, its reference), (re-runs, its reference)."""
    from generator.explain.lime import bootstrap_stability

    rows = []
    for r, result in enumerate(results):
        used = used_runs(r, len(results), seeds)
        figures = {
            "bootstrap": bootstrap_stability(datas[r], result, k, seed + r + 1).mean_jaccard,
            "reruns": mean_jaccard([results[i].weights for i in sorted(used["reruns"])], k),
        }
        rows.append({method: (figures[method], leave_out_reference(results, used[method], k)) for method in figures})
    return rows


def noise(results, per_run, seeds, k, random_state):
    """The figures that say how noisy each estimate and the reference are (see the module's docstring)."""
    count, half = len(results), len(results) // 2
    weights = np.array([r.weights for r in results])
    retest = {
        "bootstrap": [(per_run[r]["bootstrap"][0], per_run[r + half]["bootstrap"][0]) for r in range(half)],
        "reruns": [(per_run[r]["reruns"][0], per_run[(r + seeds) % count]["reruns"][0]) for r in range(count)],
    }
    halves = []
    for _ in range(HALF_DRAWS):
        order = random_state.permutation(count)
        halves.append((mean_jaccard(weights[order[:half]], k), mean_jaccard(weights[order[half:]], k)))
    against_half = {"bootstrap": [], "reruns": []}
    for r in range(count):
        for method, used in used_runs(r, count, seeds).items():
            others = [i for i in range(count) if i not in used]
            for _ in range(HALF_DRAWS // 5):
                reference = mean_jaccard(weights[random_state.choice(others, half, replace=False)], k)
                against_half[method].append((per_run[r][method][0], reference))
    return {"retest": retest, "halves": halves, "against_half": against_half}


def compare_case(model, manifest, inputs, targets, args):
    from generator.explain.lime import is_constant

    datas, labels, run_seconds = classified_runs(model, manifest, inputs, args.runs, args.store)
    k, seed, seeds = manifest.explainers.lime.num_features, manifest.seed, manifest.metrics.stability_seeds
    rows = []
    if args.targets == "explained":  # lime's other top labels too, as the build's LIME fits them
        top = np.argsort(-labels[0][0], kind="stable")[: manifest.explainers.lime.top_labels]
        targets = list(dict.fromkeys([*targets, *(int(t) for t in top)]))
    for target in targets:
        row = {"case": inputs.case_id, "model": model.label, "label": model.categories[target]}
        if all(is_constant(run[:, target]) for run in labels):
            rows.append({**row, "constant": True})
            continue
        results = target_runs(datas, labels, target, seed)
        started = time.perf_counter()
        per_run = estimates(results, datas, seed, seeds, k)
        seconds = (time.perf_counter() - started) / args.runs
        rows.append(
            {
                **row,
                "reference": mean_jaccard([r.weights for r in results], k),
                "per_run": per_run,
                "noise": noise(results, per_run, seeds, k, np.random.RandomState(target)),
                "seconds": {"run": run_seconds, "estimates": seconds},
            }
        )
    return rows


def agreement(rows, method, threshold):
    """Over every (target, own run): share of agreeing unstable flags, and Pearson of estimate and reference."""
    pairs = np.array([run[method] for row in rows for run in row["per_run"]])
    spread = pairs[:, 0].std() > 0 and pairs[:, 1].std() > 0
    return flags_agree(pairs, threshold), pair_pearson(pairs) if spread else float("nan"), len(pairs)


def over_targets(rows, figure):
    """The 95% interval of figure(rows) when the targets are resampled with replacement (a few targets make
    a wide one)."""
    random_state = np.random.RandomState(0)
    values = [figure([rows[i] for i in random_state.randint(0, len(rows), len(rows))]) for _ in range(TARGET_RESAMPLES)]
    low, high = np.nanpercentile(values, [2.5, 97.5])
    return f"[{low:.2f}, {high:.2f}]"


def pair_pearson(pairs):
    pairs = np.asarray(pairs)
    return float(np.corrcoef(pairs[:, 0], pairs[:, 1])[0, 1])


def pooled(rows, figure, method=None):
    """Every target's (estimate, reference) pairs of one noise figure, in one list."""
    return [pair for row in rows for pair in (row["noise"][figure] if method is None else row["noise"][figure][method])]


def noise_figures(rows, method):
    """(reliability of the estimate, of a half-size reference, Pearson with one, that Pearson corrected)."""
    estimate = pair_pearson(pooled(rows, "retest", method))
    reference = pair_pearson(pooled(rows, "halves"))
    plain = pair_pearson(pooled(rows, "against_half", method))
    corrected = plain / np.sqrt(estimate * reference) if estimate > 0 and reference > 0 else float("nan")
    return estimate, reference, plain, corrected


def flags_agree(pairs, threshold):
    pairs = np.asarray(pairs)
    return float(np.mean((pairs[:, 0] >= threshold) == (pairs[:, 1] >= threshold)))


def noise_lines(rows, runs, seeds, threshold):
    found = {method: noise_figures(rows, method) for method in ("bootstrap", "reruns")}
    half = runs // 2
    half_flags = flags_agree(pooled(rows, "halves"), threshold)
    flags = {method: flags_agree(pooled(rows, "against_half", method), threshold) for method in found}
    return [
        "What limits the agreement: the noise of each figure, the references' too. Each estimate against a "
        f"{half}-run reference from runs it did not use, beside a second {half}-run reference from the other "
        "runs; reliability is the Pearson of two estimates of the same target from disjoint runs; the last "
        "columns correct the Pearson for the noise of both figures (Spearman's correction for attenuation):",
        "",
        f"| estimate | flags agree with a {half}-run reference | reliability | Pearson with a {half}-run reference "
        "| corrected for both figures' noise | 95% interval (targets resampled) |",
        "|---|--:|--:|--:|--:|--:|",
        f"| another {half}-run reference | {half_flags:.0%} | {found['bootstrap'][1]:.2f} | {found['bootstrap'][1]:.2f} "
        "| 1 by definition | |",
        *(
            f"| {name} | {flags[method]:.0%} | {found[method][0]:.2f} | {found[method][2]:.2f} | {found[method][3]:.2f} "
            f"| {over_targets(rows, lambda some, m=method: noise_figures(some, m)[3])} |"
            for method, name in (("bootstrap", "bootstrap (one run)"), ("reruns", f"re-runs ({seeds} runs)"))
        ),
        "",
        "A corrected Pearson near 1 says the estimate follows the same quantity as the reference; the plain "
        "Pearson is then as high as the estimate's and the reference's reliability allow.",
    ]


def constant_lines(rows):
    if not rows:
        return []
    names = ", ".join(f"{r['case']} {r['model']} {r['label']}" for r in rows)
    return [
        "",
        f"Left out ({len(rows)}): targets whose probability is the same on every perturbed image, so every run "
        f"gives zero weights and every figure is exactly 1.0: {names}.",
    ]


def flag(value, threshold):
    return "yes" if value < threshold else "no"


def report(args, manifest, models, rows, seconds):
    import torch

    from generator.explain.stability import STABILITY_THRESHOLD as limit

    seeds = manifest.metrics.stability_seeds
    constant = [row for row in rows if row.get("constant")]
    rows = [row for row in rows if not row.get("constant")]
    found = {method: agreement(rows, method, limit) for method in ("bootstrap", "reruns")}
    flags, pearson, pairs = found["bootstrap"]
    passes = flags >= MIN_FLAG_AGREEMENT and pearson >= MIN_PEARSON
    bias = {m: np.mean([run[m][0] - run[m][1] for row in rows for run in row["per_run"]]) for m in found}
    per_run = {m: np.nanmean([row["seconds"][m] for row in rows]) for m in ("run", "estimates")}
    return [
        "# LIME stability: the bootstrap estimate and the build's re-runs, against many re-runs",
        "",
        f"- command: `{command_line(__file__, args.argv)}`",
        f"- models: {', '.join(f'{m.label} ({m.weights.short})' for m in models)}; "
        f"LIME {manifest.explainers.lime.num_samples} samples, top {manifest.explainers.lime.num_features}",
        f"- torch {torch.__version__}, {torch.get_num_threads()} threads; {seconds:.0f} s",
        "",
        f"Reference: the mean pairwise Jaccard of {args.runs} LIME runs per case and model (seeds "
        f"{manifest.seed} to {manifest.seed + args.runs - 1}). Run 0's estimates, flagged unstable below {limit}:",
        "",
        f"| case | model | label | reference ({args.runs} runs) | bootstrap | re-runs ({seeds} runs) "
        "| unstable (reference) | unstable (bootstrap) | unstable (re-runs) |",
        "|---|---|---|---:|---:|---:|---|---|---|",
        *(
            f"| {r['case']} | {r['model']} | {r['label']} | {r['reference']:.2f} | "
            f"{r['per_run'][0]['bootstrap'][0]:.2f} | {r['per_run'][0]['reruns'][0]:.2f} | "
            f"{flag(r['reference'], limit)} | {flag(r['per_run'][0]['bootstrap'][0], limit)} | "
            f"{flag(r['per_run'][0]['reruns'][0], limit)} |"
            for r in rows
        ),
        *constant_lines(constant),
        "",
        f"Over every {args.targets} label ({len(rows)}) and every run as the build's own ({pairs} estimates each), "
        "against the reference from the runs the estimate did not use:",
        "",
        "| estimate | unstable flags agree | Pearson | 95% interval (targets resampled) | mean bias |",
        "|---|--:|--:|--:|--:|",
        *(
            f"| {name} | {found[method][0]:.0%} | {found[method][1]:.2f} "
            f"| {over_targets(rows, lambda some, m=method: agreement(some, m, limit)[1])} | {bias[method]:+.3f} |"
            for method, name in (("bootstrap", "bootstrap (one run)"), ("reruns", f"re-runs ({seeds} runs)"))
        ),
        "",
        f"Rule for bootstrap: flags agree on at least {MIN_FLAG_AGREEMENT:.0%}, Pearson at least {MIN_PEARSON}. "
        f"Verdict: **{'passes' if passes else 'does not pass'}** ({flags:.0%}, {pearson:.2f}).",
        "",
        *noise_lines(rows, args.runs, seeds, limit),
        "",
        f"Time per model and case: one LIME run classified {per_run['run']:.1f} s (re-runs: "
        f"{seeds - 1} more), the bootstrap estimate {per_run['estimates']:.2f} s per target.",
    ]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = manifest_args(argv, extra=add_options, description=__doc__)
    manifest, models = load_inputs(args)
    started, rows = time.perf_counter(), []
    for inputs, targets, model in cases_and_models(args, manifest, models):
        case_rows = compare_case(model, manifest, inputs, targets, args)
        print(
            f"{inputs.case_id} {model.label}: "
            + ", ".join(
                f"{r['label']} constant"
                if r.get("constant")
                else f"{r['label']} {r['reference']:.2f}/{r['per_run'][0]['bootstrap'][0]:.2f}"
                for r in case_rows
            ),
            flush=True,
        )
        rows += case_rows
    write_report(report(args, manifest, models, rows, time.perf_counter() - started), args.out)


def add_options(parser):
    parser.add_argument("--runs", type=int, default=10, help="LIME runs per case and model (the reference)")
    parser.add_argument("--store", type=Path, help="keep the classified runs here and reuse them")
    parser.add_argument(
        "--targets",
        choices=("shown", "explained"),
        default="explained",
        help="the classes the pages show, or every class LIME explains (those and the model's top labels)",
    )


if __name__ == "__main__":
    main()
