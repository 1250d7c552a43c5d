"""Forward pass only: what each step of the project's classifier path buys, on the machine at hand. Not a test.

    python bench/bench_forward.py --model resnet50 --out bench/forward.md
    python bench/bench_forward.py --model resnet50 --compile     # adds torch.compile (slow to compile)

One process, one random-weight network, the variants measured in interleaved rounds (so that other load on
the machine hits all of them alike); the table gives the median ms per image and the ratio to the reference
forward (plain fp32 NCHW eager at lime's batch size of 10). Preparation is the one-time cost of a variant
(tracing, freezing, compiling, warm-up calls).
"""

import copy
import os
import statistics
import sys
import time
import warnings

import torch
import torchvision
from harness import add_out, command_line, cpu_name, load_average, parser_for, write_report

from generator.run.devices import bf16_supported
from generator.run.fast_forward import eager_forward, forward_for


def variants(model, batch_size, include_compile):
    """name -> (batch size, preparation function returning a forward callable)."""
    channels_last = copy.deepcopy(model).to(memory_format=torch.channels_last)
    cpu = torch.device("cpu")
    shape = (batch_size, 3, 224, 224)
    found = {
        "reference: eager fp32 NCHW": (10, lambda: model),
        "eager fp32 channels_last": (batch_size, lambda: eager_forward(channels_last, "fp32", cpu)),
        "project fp32 (fused)": (batch_size, lambda: forward_for(channels_last, "fp32", cpu, shape)),
    }
    if bf16_supported("cpu"):
        found["eager bf16 autocast channels_last"] = (
            batch_size,
            lambda: eager_forward(channels_last, "bf16", cpu),
        )
        found["project bf16 (fused)"] = (batch_size, lambda: forward_for(channels_last, "bf16", cpu, shape))
    if include_compile:
        found["torch.compile fp32 (inductor, freezing)"] = (batch_size, lambda: compiled(channels_last))
    return found


def compiled(module):
    import torch._inductor.config as inductor_config

    inductor_config.freezing = True
    return torch.compile(module)


def batch_of(size, nchw):
    batch = torch.randn(size, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    return batch if nchw else batch.contiguous(memory_format=torch.channels_last)


def measure(args):
    torch.manual_seed(0)
    model = torchvision.models.get_model(args.model, weights=None).eval()
    prepared, timings = {}, {}
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, (size, prepare) in variants(model, args.batch_size, args.compile).items():
            inputs = batch_of(size, nchw=name.startswith("reference"))
            started = time.perf_counter()
            forward = prepare()
            forward(inputs)
            forward(inputs)
            prepared[name] = (forward, inputs, time.perf_counter() - started)
            timings[name] = []
        for _ in range(args.rounds):
            for name, (forward, inputs, _) in prepared.items():
                started, done = time.perf_counter(), 0
                while done < args.images:
                    forward(inputs)
                    done += len(inputs)
                timings[name].append(1000 * (time.perf_counter() - started) / done)
    return {name: (statistics.median(times), prepared[name][2]) for name, times in timings.items()}


def report(args, results):
    reference = next(iter(results.values()))[0]
    lines = [
        f"# Forward pass, {args.model} (random weights), 224x224",
        "",
        f"- command: `{command_line(__file__, args.argv)}`",
        f"- CPU: {cpu_name()}, {os.cpu_count()} logical cores, torch {torch.__version__}, {torch.get_num_threads()} "
        f"threads; load average at the end: {load_average()}",
        f"- median of {args.rounds} interleaved rounds of at least {args.images} images per variant",
        "",
        "| variant | batch | ms / image | speed-up vs reference | preparation s |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, (ms, prepare) in results.items():
        size = 10 if name.startswith("reference") else args.batch_size
        lines.append(f"| {name} | {size} | {ms:.1f} | {reference / ms:.2f}x | {prepare:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = parser_for(__doc__)
    parser.add_argument("--model", default="resnet50", help="torchvision builder (default resnet50)")
    parser.add_argument("--batch-size", type=int, default=8, help="the project's batch size (default 8)")
    parser.add_argument("--images", type=int, default=40, help="images per variant and round (default 40)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--compile", action="store_true", help="also torch.compile (inductor, freezing)")
    add_out(parser)
    args = parser.parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else argv
    write_report(report(args, measure(args)), args.out)


if __name__ == "__main__":
    main()
