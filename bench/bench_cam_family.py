"""What each member of the CAM family costs per case, against Grad-CAM, on one model: the build's own explainers.

    python bench/bench_cam_family.py --model resnet50 --targets 1,3 --out bench/cam_family.md

The model is torchvision's, with seeded random weights (the trained ones cost the same and cannot be downloaded
here), on chelsea through the default recipe (224 crop). Each method explains the model's top classes
(`--targets`: how many) through `Explainer.explain`, as a build does; methods run interleaved, round by round
(`--rounds`), so that load on the machine falls on all alike; the table gives the median seconds and the ratio
to Grad-CAM's in the same rounds. Score-CAM and Ablation-CAM run one forward pass per channel of the layer, in
batches of `--batch-size` (default: the build's `auto`, 8 on a CPU).
"""

import os
import platform
import statistics
import time

import torch
from harness import add_out, chelsea_case, load_named_model, parser_for, write_report

from generator.explain import EXPLAINERS
from generator.manifest.schema import ExplainersSpec


def cam_methods():
    return [name for name, cls in EXPLAINERS.items() if cls.uses_target_layer]


def explainer(name, batch_size):
    settings = ExplainersSpec().section(name)
    if batch_size and "batch_size" in type(settings).model_fields:
        settings = settings.model_copy(update={"batch_size": batch_size})
    return EXPLAINERS[name](settings, seed=0)


def main():
    parser = parser_for(__doc__)
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--targets", default="1,3", help="comma-separated counts of top classes explained")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--methods", default=",".join(cam_methods()))
    add_out(parser)
    args = parser.parse_args()

    model = load_named_model(args.model)
    inputs = chelsea_case()
    with torch.inference_mode():
        ranked = torch.argsort(model.module(model.input_tensor(inputs.image))[0], descending=True)
    counts = [int(c) for c in args.targets.split(",")]
    methods = args.methods.split(",")
    seconds = {(m, c): [] for m in methods for c in counts}
    explainers = {m: explainer(m, args.batch_size) for m in methods}
    for _ in range(args.rounds):
        for count in counts:
            targets = tuple(int(t) for t in ranked[:count])
            for method in methods:
                started = time.perf_counter()
                explainers[method].explain(model, inputs, targets)
                seconds[(method, count)].append(time.perf_counter() - started)

    channels = {"resnet18": 512, "resnet50": 2048}.get(args.model, "?")
    lines = [
        f"# The CAM family's cost per case: {args.model} ({channels} channels at the layer), 224 crop",
        "",
        f"`python bench/bench_cam_family.py --model {args.model} --targets {args.targets} --rounds {args.rounds}`"
        f" on {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__},"
        f" on the CPU; median of {args.rounds} round(s), seconds per case and model.",
        "",
        "| Method | " + " | ".join(f"{c} target{'s' if c > 1 else ''}" for c in counts) + " | per target ("
        + f"{counts[-1]}) | vs Grad-CAM ({counts[-1]}) |",
        "|---|" + "--:|" * (len(counts) + 2),
    ]
    base = statistics.median(seconds[("gradcam", counts[-1])]) if "gradcam" in methods else None
    for method in methods:
        medians = [statistics.median(seconds[(method, c)]) for c in counts]
        ratio = f"{medians[-1] / base:.1f}x" if base else "—"
        cells = " | ".join(f"{m:.2f}" for m in medians)
        lines.append(f"| {EXPLAINERS[method].title} | {cells} | {medians[-1] / counts[-1]:.2f} | {ratio} |")
    write_report(lines, args.out)


if __name__ == "__main__":
    main()
