"""The whole report, cold: every default measurement on against every measurement off, per phase.

    python bench/bench_report.py --out bench/report.md                 # the 9 default cases, 1 round
    python bench/bench_report.py --cases 3 --rounds 2 --variants on,off,bootstrap --old 061e104

Each build is `python -m generator build -v` in a fresh process, on a fresh copy of the content
folder with an empty cache folder (cold), the ResNets' state dicts seeded and saved under
torchvision's own file names in a temporary TORCH_HOME (they cost what the trained weights cost,
which cannot be downloaded here). Variants run interleaved, round by round, so that load on the
machine falls on all of them alike:

- `on`: the manifest as it is (every default measurement);
- `off`: `metrics: {faithfulness: false, sanity: false, stability_seeds: 1}`;
- `bootstrap`: `on` with `metrics.stability: bootstrap` (stability from the build's own LIME images);
- `reruns`: `on` with `metrics.stability: reruns` (two more LIME runs per model and case).

After the first `on` build, the same project is rebuilt with nothing changed (the no-op rebuild).
`--old COMMIT` also builds the first `--old-cases` cases with that commit's code (checked out into a
temporary folder) and with this checkout's, both `--no-site`, and gives the ratio. Per-phase times
come from the build's own account (`generator/utils/phase_times.py`, printed by `build -v`); peak RSS is the
build process's own (`wait4`).
"""

import os
import platform
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import torch
import torchvision
import yaml
from harness import ROOT, add_out, code_env, command_line, old_checkout, parser_for, timed_build, write_report

PHASES = (
    "models",
    "predictions",
    "segmentation",
    "gradcam",
    "lime",
    "stability",
    "curves",
    "sanity",
    "figures",
    "pages",
    "mkdocs",
)
METRICS_OFF = {"faithfulness": False, "sanity": False, "stability_seeds": 1}
VARIANTS = {
    "on": lambda metrics: metrics,
    "off": lambda metrics: {**metrics, **METRICS_OFF},
    "bootstrap": lambda metrics: {**metrics, "stability": "bootstrap"},
    "reruns": lambda metrics: {**metrics, "stability": "reruns"},
}
ISSUE_START = "061e104"  # the code the speed issue (13) starts from


def seeded_weights(manifest, torch_home):
    """Seeded random state dicts under the file names torchvision downloads, for every named-weights model."""
    checkpoints = Path(torch_home) / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    for model in manifest["models"]:
        weights = model.get("weights", "DEFAULT")
        if model["name"] not in torchvision.models.list_models() or weights == "random" or weights.endswith(".pth"):
            continue
        enum = torchvision.models.get_model_weights(model["name"])[weights]
        target = checkpoints / Path(enum.url).name
        if not target.exists():
            torch.manual_seed(0)
            torch.save(torchvision.models.get_model(model["name"]).state_dict(), target)


def project_copy(content, folder, metrics_of, cases):
    """A copy of the content folder whose manifest keeps the first `cases` cases and has these metrics."""
    shutil.copytree(content, folder, ignore=shutil.ignore_patterns(".cache", "cases", "figures", "nav.yml"))
    manifest = yaml.safe_load((folder / "manifest.yaml").read_text())
    manifest["cases"] = manifest["cases"][:cases]
    manifest["metrics"] = metrics_of(dict(manifest.get("metrics") or {}))
    (folder / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True))
    return folder / "manifest.yaml"


def run_rounds(args, scratch, env):
    """Interleaved rounds of every variant (and of the old/new comparison); each build cold."""
    content = Path(args.manifest).resolve().parent
    runs = {name: [] for name in args.variants}
    noop = None
    old_code = old_checkout(args.old, scratch / "old-code") if args.old else None
    compare = {"old": [], "new": []}
    for round_number in range(args.rounds):
        for name in args.variants:
            work = scratch / f"{name}-{round_number}"
            manifest = project_copy(content, work / "content", VARIANTS[name], args.cases)
            runs[name].append(timed_build(ROOT, manifest, work, env))
            print(f"round {round_number + 1}, {name}: {runs[name][-1]['seconds']:.1f} s", flush=True)
            if name == "on" and noop is None:
                noop = timed_build(ROOT, manifest, work, env)
                print(f"no-op rebuild: {noop['seconds']:.1f} s", flush=True)
        if old_code is not None:
            for side, code in (("old", old_code), ("new", ROOT)):
                work = scratch / f"{side}-{round_number}"
                manifest = project_copy(content, work / "content", VARIANTS["on"], args.old_cases)
                compare[side].append(timed_build(code, manifest, work, env, site=False))
                print(f"round {round_number + 1}, {side} code: {compare[side][-1]['seconds']:.1f} s", flush=True)
    return runs, noop, compare


def median(runs, field="seconds"):
    return statistics.median(run[field] for run in runs)


def median_phase(runs, phase):
    return statistics.median(run["phases"].get(phase, 0.0) for run in runs)


def report(args, runs, noop, compare):
    lines = [
        "# The whole report, cold: measurements on and off",
        "",
        f"`{command_line(__file__, sys.argv[1:])}`",
        "",
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
        f"load average at the end {os.getloadavg()[0]:.1f}; {args.cases} case(s) of `{args.manifest}`, "
        f"{args.rounds} round(s), medians; seeded random ResNet weights under torchvision's file names.",
        "",
        "| build | wall s | vs `off` | peak RSS MiB |",
        "|---|--:|--:|--:|",
    ]
    base = median(runs["off"]) if "off" in runs else None
    for name, variant_runs in runs.items():
        ratio = f"{median(variant_runs) / base:.2f}x" if base else "—"
        lines.append(f"| `{name}` | {median(variant_runs):.1f} | {ratio} | {median(variant_runs, 'rss_mib'):.0f} |")
    if noop is not None:
        cold = median(runs["on"])
        lines.append(
            f"| no-op rebuild of `on` | {noop['seconds']:.1f} | {noop['seconds'] / cold:.1%} of cold | "
            f"{noop['rss_mib']:.0f} |"
        )
    lines += ["", "Seconds per phase (the build's own account; the rest is imports, decoding, cache I/O):", ""]
    lines.append("| build | " + " | ".join(PHASES) + " | rest |")
    lines.append("|---|" + "--:|" * (len(PHASES) + 1))
    for name, variant_runs in runs.items():
        cells = [median_phase(variant_runs, phase) for phase in PHASES]
        rest = median(variant_runs) - sum(cells)
        lines.append(f"| `{name}` | " + " | ".join(f"{c:.1f}" for c in cells) + f" | {rest:.1f} |")
    if compare["old"]:
        old, new = median(compare["old"]), median(compare["new"])
        lines += [
            "",
            f"First {args.old_cases} case(s), every default measurement, `--no-site`: the code at `{args.old}` "
            f"{old:.1f} s, this checkout {new:.1f} s: **{new / old:.2f}x** the time "
            f"(peak RSS {median(compare['old'], 'rss_mib'):.0f} and {median(compare['new'], 'rss_mib'):.0f} MiB).",
        ]
    return "\n".join(lines) + "\n"


def parse_args():
    parser = parser_for(__doc__)
    parser.add_argument("--manifest", default=str(ROOT / "content" / "manifest.yaml"))
    parser.add_argument("--cases", type=int, default=None, help="the first N cases (default: all)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--variants", default="on,off", help=f"comma-separated, of {', '.join(VARIANTS)}")
    parser.add_argument("--old", default=None, help=f"a commit to compare with (the issue's start: {ISSUE_START})")
    parser.add_argument("--old-cases", type=int, default=3)
    parser.add_argument("--torch-home", default=None, help="a TORCH_HOME to use (default: seeded, temporary)")
    add_out(parser)
    args = parser.parse_args()
    args.variants = [v for v in args.variants.split(",") if v]
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s) {unknown}; known: {', '.join(VARIANTS)}")
    manifest = yaml.safe_load(Path(args.manifest).read_text())
    args.cases = args.cases or len(manifest["cases"])
    return args, manifest


def main():
    args, manifest = parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-report-") as scratch:
        scratch = Path(scratch)
        torch_home = Path(args.torch_home) if args.torch_home else scratch / "torch"
        seeded_weights(manifest, torch_home)
        text = report(args, *run_rounds(args, scratch, code_env(TORCH_HOME=str(torch_home))))
    write_report(text, args.out)


if __name__ == "__main__":
    main()
