"""LIME on timm models: the fused CPU forward (TorchScript, generator/run/fast_forward.py) against eager. Not a test.

    python bench/bench_timm_lime.py --samples 200 --out bench/timm_lime.md

One case (content/images/chelsea.png through generator.run.images.Preprocessor, 224 crop), one set of
superpixels and perturbations (seed 0), random weights (seed 0): timings equal a trained model's. Each path
runs in a fresh process; the eager path is the same BatchClassifier with the fast path switched off
(fast_forward.forward_for returning the eager module), so that only the forward differs. The fused path's
preparation (trace, freeze, warm-up, check against eager) is timed apart: a build pays it once per model.
"""

import os
import sys
import time

import numpy as np
from harness import (
    add_out,
    chelsea_case,
    command_line,
    cpu_name,
    in_fresh_process,
    load_average,
    load_named_model,
    parser_for,
    write_report,
)


def lime_task(name, samples, batch_size, fused):
    """Seconds of explain_with_lime for one timm model, fused or eager; its weights for the agreement."""
    import generator.run.inference as inference
    from generator.explain.lime import LimeSpec, explain_with_lime, segment_image
    from generator.run.fast_forward import eager_forward

    if not fused:  # the classifier asks fast_forward for its forward; here it always gets the eager module
        inference.forward_for = lambda module, precision, device, _shape: eager_forward(
            module, precision, inference.torch.device(device)
        )
    import lime.lime_base  # noqa: F401 - what fit_surrogates imports on first use, before the clock
    import sklearn.metrics  # noqa: F401

    crop = chelsea_case().image.crop_array
    settings = LimeSpec(num_samples=samples, batch_size=batch_size)
    segments = segment_image(crop, settings, seed=0)
    model = load_named_model(name, source="timm")
    classifier = inference.BatchClassifier(model.module, model.normalisation.mean, model.normalisation.std, batch_size)
    started = time.perf_counter()
    classifier(np.repeat(crop[None], batch_size, axis=0))  # fused: trace, freeze, warm up, check
    prepare = time.perf_counter() - started
    started, cpu = time.perf_counter(), time.process_time()
    explained = explain_with_lime(classifier, crop, segments, (), settings, seed=0)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "seconds": seconds,
        "cpu": cpu,
        "prepare": prepare,
        "weights": {r.target: r.weights for r in explained},
        "segments": int(segments.max()) + 1,
    }


def max_weight_difference(left, right):
    shared = [target for target in left["weights"] if target in right["weights"]]
    return max(float(np.max(np.abs(left["weights"][t] - right["weights"][t]))) for t in shared)


def parse_args(argv=None):
    parser = parser_for(__doc__)
    parser.add_argument("--samples", type=int, default=200, help="perturbed images per explanation (default 200)")
    parser.add_argument("--batch-size", type=int, default=16, help="the classifier's batch size (default 16)")
    parser.add_argument("--models", default="convnext_atto,vit_tiny_patch16_224", help="timm names, random weights")
    add_out(parser)
    args = parser.parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else argv
    return args


def main(argv=None):
    import torch

    args = parse_args(argv)
    started, load_at_start = time.perf_counter(), load_average()
    rows, segments = [], 0
    for name in args.models.split(","):
        eager = in_fresh_process(lime_task, name, args.samples, args.batch_size, False)
        fused = in_fresh_process(lime_task, name, args.samples, args.batch_size, True)
        segments = fused["segments"]
        print(f"{name}: eager {eager['seconds']:.1f} s, fused {fused['seconds']:.1f} s", file=sys.stderr)
        rows.append(
            f"| {name} | {eager['seconds']:.1f} | {fused['seconds']:.1f} | **{eager['seconds'] / fused['seconds']:.2f}x** "
            f"| {eager['cpu']:.1f} | {fused['cpu']:.1f} | {eager['cpu'] / fused['cpu']:.2f}x | {fused['prepare']:.1f} "
            f"| {max_weight_difference(eager, fused):.1e} |"
        )
    lines = [
        f"# LIME on timm models: fused against eager ({args.samples} perturbed images, chelsea 224 crop, "
        f"{segments} superpixels)",
        "",
        f"- command: `{command_line(__file__, args.argv)}`",
        f"- CPU: {cpu_name()}, {os.cpu_count()} logical cores, torch {torch.__version__} with {torch.get_num_threads()} "
        f"threads; batch size {args.batch_size}, fp32, random weights (seed 0)",
        f"- load average at start: {load_at_start}, at the end: {load_average()} (other processes on the machine skew timings)",
        "",
        "| model | eager wall s | fused wall s | speed-up | eager CPU s | fused CPU s | CPU speed-up "
        "| fused preparation s | max abs LIME weight diff |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        "- wall s: explain_with_lime (classifying every perturbation, fitting the surrogates); preparation, the "
        "first call of the fused classifier (trace, freeze, two warm-up calls, the check against eager), apart.",
        "- eager: the same BatchClassifier with fast_forward's fused path replaced by the eager module.",
        "- CPU s: user + system time of the path's threads (time.process_time); on a shared machine it is less "
        "skewed than wall time by other processes competing for the cores.",
        f"- total wall time {time.perf_counter() - started:.0f} s.",
    ]
    write_report(lines, args.out)


if __name__ == "__main__":
    main()
