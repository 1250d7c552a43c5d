"""How far do the deletion/insertion AUCs move with fewer curve steps? Every case of a manifest. Not a test.

    python bench/bench_curve_steps.py --models efficientnet_lite0 --steps 32,16 --out bench/curve_steps.md

The speed issue lets the curves' protocol change (fewer steps) only after showing, on the default cases, how
much each AUC moves. Per case and model this script explains the labels a case page shows with the build's
own explainers, then computes every map's curves and the random baseline's with the build's own
`Measurer.faithfulness` once per `--steps` value, timing each. Reported: each AUC at every step count, the
largest and mean absolute change against the first, and how often a verdict a page draws from them flips
(a map beating the random baseline on insertion minus deletion; which method scores higher).
"""

import sys
import time

import numpy as np
from harness import cases_and_models, command_line, load_inputs, manifest_args, write_report


def explained_maps(model, manifest, inputs, targets):
    """{target: {method: H x W map}} from every enabled explainer, as a build computes them."""
    from generator.explain import enabled_explainers

    explainers = enabled_explainers(manifest.explainers, manifest.seed)
    for explainer in explainers:
        explainer.prepare_case(inputs, lambda kind, parts, compute: compute())
    maps = {target: {} for target in targets}
    for explainer in explainers:
        for result in explainer.explain(model, inputs, targets):
            if result.target in maps:
                maps[result.target][explainer.name] = explainer.saliency(result, inputs)
    return explainers, maps


def curves_per_steps(model, manifest, inputs, explainers, maps, steps_list):
    """{steps: ({target: {map: FaithfulnessResult}}, seconds)} through the build's Measurer."""
    from generator.measure.measurer import Measurer
    from generator.run.inference import probabilities

    original = probabilities(model, model.input_tensor(inputs.image))
    crop = inputs.image.crop_array
    found = {}
    for steps in steps_list:
        settings = manifest.metrics.model_copy(update={"steps": steps})
        measurer = Measurer(settings, explainers, manifest.seed)
        classify = measurer.classifier(model)
        classify(np.repeat(crop[None], 64, axis=0))  # the fused network is traced on first use: not in the timing
        started = time.perf_counter()
        curves = measurer.curves(classify, crop, maps, original)["faithfulness"]
        found[steps] = (curves, time.perf_counter() - started)
    return found


def compare_case(model, manifest, inputs, targets, steps_list):
    explainers, maps = explained_maps(model, manifest, inputs, targets)
    found = curves_per_steps(model, manifest, inputs, explainers, maps, steps_list)
    rows = []
    for target in targets:
        for name in found[steps_list[0]][0][target]:
            rows.append(
                {
                    "case": inputs.case_id,
                    "model": model.label,
                    "label": model.categories[target],
                    "map": name,
                    "auc": {s: found[s][0][target][name] for s in steps_list},
                }
            )
    seconds = {s: found[s][1] for s in steps_list}
    return rows, seconds


def score(curve):
    """Insertion minus deletion AUC: the pages' faithfulness headline."""
    return curve.insertion_auc - curve.deletion_auc


def verdict_flips(rows, first, other):
    """The verdicts that flip between two step counts: a map against the random baseline, and two methods'
    order; returns (flipped lines, maps compared, method pairs compared)."""
    by_label = {}
    for row in rows:
        by_label.setdefault((row["case"], row["model"], row["label"]), {})[row["map"]] = row["auc"]
    flipped, beats, orders = [], 0, 0
    for (case, model, label), maps in by_label.items():
        methods = [name for name in maps if name != "random"]
        pairs = [(name, "random") for name in methods]
        pairs += [(a, b) for i, a in enumerate(methods) for b in methods[i + 1 :]]
        for a, b in pairs:
            beats, orders = beats + (b == "random"), orders + (b != "random")
            margins = [score(maps[a][s]) - score(maps[b][s]) for s in (first, other)]
            if (margins[0] > 0) != (margins[1] > 0):
                flipped.append(
                    f"- {case}, {model}, {label}: {a} minus {b} (insertion minus deletion) "
                    f"{margins[0]:+.4f} at {first} steps, {margins[1]:+.4f} at {other}"
                )
    return flipped, beats, orders


def report(args, models, rows, seconds, steps_list, elapsed):
    import torch

    first = steps_list[0]
    lines = [
        "# Deletion/insertion AUCs against the number of curve steps",
        "",
        f"- command: `{command_line(__file__, args.argv)}`",
        f"- models: {', '.join(f'{m.label} ({m.weights.short})' for m in models)}",
        f"- torch {torch.__version__}, {torch.get_num_threads()} threads; {elapsed:.0f} s",
        "",
        "| case | model | label | map | " + " | ".join(f"deletion {s} | insertion {s}" for s in steps_list) + " |",
        "|---|---|---|---|" + "--:|" * (2 * len(steps_list)),
    ]
    for row in rows:
        cells = " | ".join(f"{row['auc'][s].deletion_auc:.3f} | {row['auc'][s].insertion_auc:.3f}" for s in steps_list)
        lines.append(f"| {row['case']} | {row['model']} | {row['label']} | {row['map']} | {cells} |")
    lines += ["", f"Change against {first} steps, over {len(rows)} curves (every map and the random baseline):", ""]
    lines += ["| steps | deletion: mean / largest abs change | insertion | insertion minus deletion | curves s |"]
    lines += ["|--:|--:|--:|--:|--:|"]
    for steps in steps_list:
        changes = {
            kind: np.array([abs(pick(r["auc"][steps]) - pick(r["auc"][first])) for r in rows])
            for kind, pick in (
                ("deletion", lambda c: c.deletion_auc),
                ("insertion", lambda c: c.insertion_auc),
                ("score", score),
            )
        }
        cells = " | ".join(f"{c.mean():.4f} / {c.max():.4f}" for c in changes.values())
        lines.append(f"| {steps} | {cells} | {sum(s[steps] for s in seconds):.1f} |")
    for steps in steps_list[1:]:
        flipped, beats, orders = verdict_flips(rows, first, steps)
        lines += [
            "",
            f"With {steps} steps, {len(flipped)} of {beats} verdicts of a map against the random baseline and of "
            f"{orders} orders of two methods flip:",
            "",
            *(flipped or ["- none"]),
        ]
    return lines


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = manifest_args(argv, extra=add_options, description=__doc__)
    steps_list = [int(s) for s in args.steps.split(",")]
    manifest, models = load_inputs(args)
    started, rows, seconds = time.perf_counter(), [], []
    for inputs, targets, model in cases_and_models(args, manifest, models):
        case_rows, case_seconds = compare_case(model, manifest, inputs, targets, steps_list)
        print(f"{inputs.case_id} {model.label}: {len(case_rows)} curves, {case_seconds}", flush=True)
        rows += case_rows
        seconds.append(case_seconds)
    write_report(report(args, models, rows, seconds, steps_list, time.perf_counter() - started), args.out)


def add_options(parser):
    parser.add_argument("--steps", default="32,16", help="comma-separated step counts, the first the reference")


if __name__ == "__main__":
    main()
