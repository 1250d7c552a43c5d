"""LIME on timm models: the fused CPU forward (TorchScript, generator/run/fast_forward.py) against eager. Not a test.

    python bench/bench_timm_lime.py --samples 200 --out bench/timm_lime.md

One case (content/images/chelsea.png through generator.run.images.Preprocessor, 224 crop), one set of
superpixels and perturbations (seed 0), random weights (seed 0): timings equal a trained model's. Each path
runs in a fresh process; the eager path is the same BatchClassifier with the fast path switched off
(fast_forward.forward_for returning the eager module), so that only the forward differs. The fused path's
preparation (trace, freeze, warm-up, check against eager) is timed apart: a build pays it once per model.
"""

import argparse
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHELSEA = ROOT / "content" / "images" / "chelsea.png"


def lime_task(name, samples, batch_size, fused):
    """Seconds of explain_with_lime for one timm model, fused or eager; its weights for the agreement."""
    from PIL import Image

    import generator.run.inference as inference
    from generator.explain.lime import explain_with_lime, segment_image
    from generator.manifest.schema import LimeSpec, ModelSpec, PreprocessSpec
    from generator.run.fast_forward import eager_forward
    from generator.run.images import Preprocessor
    from generator.run.models import load_model, resolve_weights

    if not fused:  # the classifier asks fast_forward for its forward; here it always gets the eager module
        inference.forward_for = lambda module, precision, device, _shape: eager_forward(
            module, precision, inference.torch.device(device)
        )
    import lime.lime_base  # noqa: F401 - what fit_surrogates imports on first use, before the clock
    import sklearn.metrics  # noqa: F401

    crop = Preprocessor(PreprocessSpec()).prepare(Image.open(CHELSEA).convert("RGB")).crop_array
    settings = LimeSpec(num_samples=samples, batch_size=batch_size)
    segments = segment_image(crop, settings, seed=0)
    spec = ModelSpec(source="timm", name=name, weights="random")
    model = load_model(spec, resolve_weights(spec, ".", 0), 0)
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


def in_fresh_process(function, *args):
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def max_weight_difference(left, right):
    shared = [target for target in left["weights"] if target in right["weights"]]
    return max(float(np.max(np.abs(left["weights"][t] - right["weights"][t]))) for t in shared)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200, help="perturbed images per explanation (default 200)")
    parser.add_argument("--batch-size", type=int, default=16, help="the classifier's batch size (default 16)")
    parser.add_argument("--models", default="convnext_atto,vit_tiny_patch16_224", help="timm names, random weights")
    parser.add_argument("--out", type=Path, default=Path("bench/timm_lime.md"))
    return parser.parse_args(argv)


def main(argv=None):
    import torch

    args = parse_args(argv)
    started, load_at_start = time.perf_counter(), os.getloadavg()
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
    cpu = next(
        (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
        platform.processor(),
    )
    lines = [
        f"# LIME on timm models: fused against eager ({args.samples} perturbed images, chelsea 224 crop, "
        f"{segments} superpixels)",
        "",
        f"- command: `python bench/bench_timm_lime.py {' '.join(sys.argv[1:])}`",
        f"- CPU: {cpu}, {os.cpu_count()} logical cores, torch {torch.__version__} with {torch.get_num_threads()} "
        f"threads; batch size {args.batch_size}, fp32, random weights (seed 0)",
        f"- load average at start: {' '.join(f'{x:.2f}' for x in load_at_start)}, at the end: "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (other processes on the machine skew timings)",
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
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
