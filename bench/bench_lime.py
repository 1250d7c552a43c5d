"""LIME on CPU: the reference recipe against the project's batched path (fp32 and bf16). Not a test.

    python bench/bench_lime.py --samples 1000 --models resnet18,resnet50 --out bench/results.md
    python bench/bench_lime.py --quick                       # 200 samples, a smoke run
    python bench/bench_lime.py --build content/manifest.yaml # also: cold build vs no-op rebuild

Every path explains the same crop (the chelsea photo, skimage's, through generator.run.images.Preprocessor) on the
same superpixels (generator.explain.lime.segment_image) and the same perturbation set (seed 0).
Each timed path runs in its own fresh process, so its peak RSS (getrusage ru_maxrss) is its own.
See bench/README.md for how to read the table.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from harness import (
    TOP,
    add_out,
    chelsea_case,
    code_env,
    command_line,
    cpu_name,
    in_fresh_process,
    load_average,
    load_named_model,
    parser_for,
    peak_rss_mib,
    spearman,
    top_overlap,
    write_report,
)

TOP_LABELS = 5  # labels the reference explains (top_labels=5)


def chelsea_inputs():
    from generator.explain.lime import LimeSpec, segment_image

    crop = chelsea_case().image.crop_array
    return crop, segment_image(crop, LimeSpec(), seed=0)


# --- timed paths, each in a fresh process ------------------------------------------------------


def baseline_task(name, weights):
    """Imports, one loaded model and a warm-up forward: the floor under every path's peak RSS."""
    from generator.run.inference import BatchClassifier

    model = load_named_model(name, weights)
    BatchClassifier(model.module, *mean_std())(np.zeros((10, 224, 224, 3), np.uint8))
    return {"rss": peak_rss_mib()}


def reference_task(name, crop, segments, samples):
    """The reference notebook: per-image PIL -> ToTensor -> Normalize, plain fp32 NCHW, lime's batch size 10."""
    import torch
    import torchvision
    from lime import lime_image
    from PIL import Image
    from torchvision import transforms

    torch.manual_seed(0)
    model = torchvision.models.get_model(name, weights=None).eval()
    normalise = transforms.Compose([transforms.ToTensor(), transforms.Normalize(*mean_std())])

    def batch_predict(images):
        batch = torch.stack([normalise(Image.fromarray(image)) for image in images])
        with torch.no_grad():
            logits = model(batch)
        return torch.softmax(logits, dim=1).numpy()

    batch_predict(np.repeat(crop[None], 10, axis=0))  # warm-up, as for the other paths
    started, cpu = time.perf_counter(), time.process_time()
    explanation = lime_image.LimeImageExplainer(random_state=0).explain_instance(
        crop, batch_predict, top_labels=5, hide_color=0, num_samples=samples,
        segmentation_fn=lambda x: segments, random_seed=0,
    )  # fmt: skip
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    weights = {}
    for label in explanation.top_labels:
        vector = np.zeros(int(segments.max()) + 1)
        for segment, weight in explanation.local_exp[label]:
            vector[segment] = weight
        weights[int(label)] = vector
    return {
        "seconds": seconds,
        "cpu": cpu,
        "weights": weights,
        "labels": [int(x) for x in explanation.top_labels],
        "rss": peak_rss_mib(),
    }


def sweep_task(name, crop, segments, args):
    """ms per image of the project's fp32 classifier for each batch size, on the first `sweep_samples` perturbations.

    A process of its own: each batch size holds its own fused copy of the network, which must not count in the
    memory of the timed runs.
    """
    from generator.explain.lime import classify_perturbations, perturbation_set
    from generator.run.inference import BatchClassifier

    model = load_named_model(name, "random")
    data = perturbation_set(int(segments.max()) + 1, args.samples, np.random.RandomState(0))[: args.sweep_samples]
    sweep = {}
    for batch_size in args.batch_sizes:
        classifier = BatchClassifier(model.module, *mean_std(), batch_size=batch_size)
        classifier(np.repeat(crop[None], batch_size, axis=0))  # warm-up: traces, warms and checks the fused forward
        started = time.perf_counter()
        classify_perturbations(classifier, crop, segments, data, hide_color=0)
        sweep[batch_size] = 1000 * (time.perf_counter() - started) / len(data)
    return sweep


def fast_task(name, weights, crop, segments, args, batch_size, precision, targets=()):
    """generator.explain.lime.explain_with_lime with BatchClassifier, model prepared by load_model."""
    from generator.explain.lime import LimeSpec, explain_with_lime
    from generator.run.inference import BatchClassifier

    import_surrogate_modules()
    model = load_named_model(name, weights)
    classifier = BatchClassifier(model.module, *mean_std(), batch_size=batch_size, precision=precision)
    started = time.perf_counter()
    classifier(np.repeat(crop[None], batch_size, axis=0))  # warm-up: traces, warms and checks the fused forward
    prepare = time.perf_counter() - started
    settings = LimeSpec(num_samples=args.samples, batch_size=batch_size)
    started, cpu = time.perf_counter(), time.process_time()
    explained = explain_with_lime(classifier, crop, segments, targets, settings, seed=0)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "seconds": seconds,
        "cpu": cpu,
        "best": batch_size,
        "prepare": prepare,
        "weights": {r.target: r.weights for r in explained},
        "labels": list(targets) or [r.target for r in explained][:TOP_LABELS],
        "rss": peak_rss_mib(),
    }


def import_surrogate_modules():
    """What fit_surrogates imports on first use (about 1 s), imported before the clock starts.

    The reference imports lime_image, which imports the same modules, before its timed region; a build
    pays the import once per process, not once per explanation.
    """
    import lime.lime_base  # noqa: F401
    import sklearn.metrics  # noqa: F401


def mean_std():
    """torchvision's models' input mean and std (ImageNet's), what the reference recipe normalises with."""
    from generator.run.model_source import Normalisation

    normalisation = Normalisation()
    return normalisation.mean, normalisation.std


# --- comparisons -------------------------------------------------------------------------------


def agreement(left, right, labels):
    """Spearman rho of the superpixel weights and overlap (fraction) of the TOP highest-weighted superpixels, per label."""
    rhos, overlaps, deltas = [], [], []
    for label in labels:
        a, b = left["weights"][label], right["weights"][label]
        rhos.append(spearman(a, b))
        overlaps.append(top_overlap(a, b) / TOP)
        deltas.append(float(np.max(np.abs(a - b))))
    return {
        "rho": rhos,
        "overlap": overlaps,
        "delta": max(deltas),
        "scale": max(np.abs(left["weights"][x]).max() for x in labels),
    }


def agreement_row(model, comparison, left, right, labels):
    stats = agreement(left, right, labels)
    return (
        f"| {model} | {comparison} | {len(labels)} | {np.mean(stats['rho']):.4f} (min {min(stats['rho']):.4f}) "
        f"| {np.mean(stats['overlap']):.2f} (min {min(stats['overlap']):.2f}) "
        f"| {stats['delta']:.2e} (of max weight {stats['scale']:.2e}) |"
    )


# --- the run -----------------------------------------------------------------------------------


def bench_model(name, crop, segments, args, report, log):
    """(a), (b) and (c) in `args.repeat` interleaved rounds; the table gives medians and per-round ratios."""
    import generator.run.devices as devices

    base = in_fresh_process(baseline_task, name, "random")
    log(f"{name}: baseline {base['rss']:.0f} MiB")
    paths = {"(a) reference: PIL per image, fp32 NCHW": [], "(b) project fp32, fused": []}
    if devices.bf16_supported("cpu"):
        paths["(c) project bf16, fused"] = []
    else:
        report["notes"].append(f"{name}: (c) bf16 not run, this CPU has no native bf16.")
    batch_size, labels = args.batch_sizes[0], ()
    if len(args.batch_sizes) > 1:
        sweep = in_fresh_process(sweep_task, name, crop, segments, args)
        report["sweep"] += [f"| {name} | {b} | {ms:.1f} |" for b, ms in sorted(sweep.items())]
        batch_size = min(sweep, key=sweep.get)
        log(f"{name}: batch-size sweep {sweep}: batch {batch_size}")
    for round_number in range(args.repeat):
        for path, runs in paths.items():
            if path.startswith("(a)"):
                result = in_fresh_process(reference_task, name, crop, segments, args.samples)
            else:
                precision = "fp32" if path.startswith("(b)") else "bf16"
                result = in_fresh_process(
                    fast_task, name, "random", crop, segments, args, batch_size, precision, labels
                )
                labels = labels or tuple(result["labels"])  # the first fp32 run's labels, for every later run
            runs.append(result)
            log(f"{name}: round {round_number + 1} {path}: {result['seconds']:.1f} s")
    ref, fast = (runs[0] for runs in list(paths.values())[:2])
    shared = [label for label in ref["labels"] if label in fast["weights"]]
    report["agree"].append(agreement_row(f"{name} (random)", "(a) reference vs (b) fp32", ref, fast, shared))
    if len(paths) == 3:
        bf16 = paths["(c) project bf16, fused"][0]
        report["agree"].append(agreement_row(f"{name} (random)", "(b) fp32 vs (c) bf16", fast, bf16, fast["labels"]))
    references = list(paths.values())[0]
    for path, runs in paths.items():
        report["speed"].append(speed_row(name, path, runs, references, args.samples, base["rss"]))


def speed_row(name, path, runs, references, samples, baseline_rss):
    """Medians over the rounds; the speed-up's range is over rounds (each round's (a) / this path)."""
    seconds = float(np.median([run["seconds"] for run in runs]))
    cpu = float(np.median([run["cpu"] for run in runs]))
    prepare = float(np.median([run.get("prepare", 0.0) for run in runs]))
    reference, reference_cpu = (float(np.median([run[key] for run in references])) for key in ("seconds", "cpu"))
    ratios = [ref["seconds"] / run["seconds"] for ref, run in zip(references, runs)]
    spread = f" ({min(ratios):.2f}-{max(ratios):.2f})" if len(runs) > 1 and runs is not references else ""
    rss = max(run["rss"] for run in runs)
    batch = runs[0].get("best", 10)
    return (
        f"| {name} | {path} | {batch} | {seconds:.1f} | {1000 * seconds / samples:.1f} "
        f"| **{reference / seconds:.2f}x**{spread} | {prepare:.1f} | {reference / (seconds + prepare):.2f}x "
        f"| {cpu:.1f} | {reference_cpu / cpu:.2f}x | {rss:.0f} (+{rss - baseline_rss:.0f}) |"
    )


def trained_agreement(name, crop, segments, args, report, log):
    import generator.run.devices as devices
    from generator.manifest.imagenet import imagenet_categories

    if not devices.bf16_supported("cpu"):
        return
    fast = in_fresh_process(fast_task, name, "IMAGENET1K_V1", crop, segments, args, 8, "fp32")
    bf16 = in_fresh_process(fast_task, name, "IMAGENET1K_V1", crop, segments, args, 8, "bf16", tuple(fast["labels"]))
    log(f"{name}: fp32 {fast['seconds']:.1f} s, bf16 {bf16['seconds']:.1f} s")
    report["agree"].append(agreement_row(f"{name} (trained)", "(b) fp32 vs (c) bf16", fast, bf16, fast["labels"]))
    names = ", ".join(f"{imagenet_categories()[x]} ({x})" for x in fast["labels"])
    report["notes"].append(
        f"{name} (trained, IMAGENET1K_V1 from the offline package): fp32 {fast['seconds']:.1f} s, "
        f"bf16 {bf16['seconds']:.1f} s at batch 8; its top labels: {names}."
    )


# Runs the command as its only child and prints that child's peak RSS (KiB) last.
PEAK_RSS_WRAPPER = [
    sys.executable,
    "-c",
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)",
]


def bench_build(manifest, log):
    """Cold build vs an immediate no-op rebuild of a copy of the manifest's folder (cache inside the copy)."""
    source = Path(manifest).resolve().parent
    with tempfile.TemporaryDirectory(prefix="bench-build-") as temp:
        content = Path(temp) / "content"
        shutil.copytree(source, content)
        command = [
            sys.executable,
            "-m",
            "generator",
            "build",
            "--manifest",
            str(content / Path(manifest).name),
            "--no-site",
            "-q",
        ]
        env = code_env()
        times, peaks = [], []
        for label in ("cold", "no-op rebuild"):
            started = time.perf_counter()
            peak = subprocess.run(
                PEAK_RSS_WRAPPER + command, cwd=temp, env=env, check=True, capture_output=True, text=True
            )
            times.append(time.perf_counter() - started)
            peaks.append(int(peak.stdout.strip().splitlines()[-1]) / 1024)
            log(f"build {label}: {times[-1]:.1f} s, peak RSS {peaks[-1]:.0f} MiB")
    return [
        "",
        f"Build of a copy of `{manifest}` (`python -m generator build --no-site -q`, run in the copy's parent):",
        "",
        "| build | seconds |",
        "|---|---:|",
        f"| cold (empty cache) | {times[0]:.1f} |",
        f"| no-op rebuild | {times[1]:.1f} |",
        f"| no-op / cold | {100 * times[1] / times[0]:.1f}% |",
        "",
        f"Peak RSS of the build process: cold {peaks[0]:.0f} MiB, no-op {peaks[1]:.0f} MiB.",
    ]


def environment_lines(args, n_segments, load_at_start):
    import torch

    import generator.run.devices as devices

    return [
        f"# LIME benchmark: {args.samples} perturbed images, chelsea crop 224x224, {n_segments} superpixels",
        "",
        f"- command: `{command_line(__file__, args.argv)}`",
        f"- CPU: {cpu_name()}, {os.cpu_count()} logical cores, torch {torch.__version__} with {torch.get_num_threads()} threads, "
        f"native bf16: {devices.bf16_supported('cpu')}",
        f"- load average at start: {load_at_start} (other processes on the machine skew timings)",
        "- ResNet weights are **random** (torch.manual_seed(0), weights=None): timings equal a trained model's; "
        "the agreement rows for them only show numerical stability.",
    ]


def parse_args(argv=None):
    parser = parser_for(__doc__)
    parser.add_argument("--samples", type=int, default=1000, help="perturbed images per explanation (default 1000)")
    parser.add_argument("--quick", action="store_true", help="200 samples, batch size 8 only: a smoke run")
    parser.add_argument("--models", default="resnet18,resnet50", help="torchvision builders, random weights")
    parser.add_argument("--batch-sizes", default="8,16,32", help="batch sizes tried for the project's fp32 path")
    parser.add_argument(
        "--sweep-samples", type=int, default=256, help="perturbations classified per batch size in the sweep"
    )
    parser.add_argument(
        "--trained",
        default="efficientnet_lite0",
        help="offline trained model for the fp32/bf16 agreement ('none': skip)",
    )
    parser.add_argument(
        "--build", metavar="MANIFEST", help="also time a cold build and a no-op rebuild of this manifest"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="interleaved rounds of (a), (b), (c); medians are reported (default 1)"
    )
    add_out(parser)
    args = parser.parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else argv
    args.batch_sizes = [int(x) for x in args.batch_sizes.split(",")]
    if args.quick:
        args.samples, args.batch_sizes = 200, [8]
    return args


def main(argv=None):
    args = parse_args(argv)
    started, load_at_start = time.perf_counter(), load_average()
    log = lambda text: print(f"[{time.perf_counter() - started:6.1f} s] {text}", file=sys.stderr, flush=True)  # noqa: E731
    crop, segments = chelsea_inputs()
    report = {"speed": [], "sweep": [], "agree": [], "notes": []}
    for name in args.models.split(","):
        bench_model(name.strip(), crop, segments, args, report, log)
    if args.trained != "none":
        trained_agreement(args.trained, crop, segments, args, report, log)
    lines = environment_lines(args, int(segments.max()) + 1, load_at_start) + [
        "",
        f"Medians over {args.repeat} interleaved round(s) of (a), (b), (c), each path in a fresh process; "
        "in brackets the lowest and highest speed-up of a single round.",
        "",
        "| model | path | batch | wall s | wall ms / image | speed-up vs (a) | preparation s | speed-up incl. preparation "
        "| CPU s | CPU speed-up | peak RSS MiB (+ over baseline) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *report["speed"],
    ]
    if report["sweep"]:
        lines += [
            "",
            f"Batch-size sweep of (b), in a process of its own: classifier only, first {args.sweep_samples} perturbations, fp32 (the fastest is used above for (b) and (c)):",
            "",
            "| model | batch | ms / image |",
            "|---|---:|---:|",
            *report["sweep"],
        ]
    lines += [
        "",
        f"Agreement of the LIME weights on the left path's top {TOP_LABELS} labels (Spearman rho over superpixels; "
        f"overlap of the {TOP} highest-weighted superpixels; largest absolute weight difference):",
        "",
        "| model | comparison | labels | Spearman rho mean | top-5 overlap mean | max abs weight diff |",
        "|---|---|---:|---:|---:|---:|",
        *report["agree"],
        "",
        *[f"- {note}" for note in report["notes"]],
        "- preparation s: the first call of the project's classifier in the process, once per model, precision "
        "and batch size (trace, freeze, two warm-up calls and the check against the eager network, "
        "generator/run/fast_forward.py); a build pays it once per model for all its cases.",
        "- CPU s: user + system time of all the path's threads (time.process_time); less sensitive than wall time "
        "to other processes competing for the cores.",
        "- Peak RSS: ru_maxrss of the path's own process; baseline: a process that imported everything, "
        "loaded the model and ran one forward pass.",
        f"- Total wall time: {time.perf_counter() - started:.0f} s; load average at the end: {load_average()}.",
    ]
    if args.build:
        lines += bench_build(args.build, log)
    write_report(lines, args.out)


if __name__ == "__main__":
    main()
