"""How the build's cost grows with the number of cases: N distinct images, a small model, cold and no-op builds.

    python bench/bench_scale.py --out bench/scale.md                  # N = 10 and 100
    python bench/bench_scale.py --sizes 10,100,1000 --old 1770b79     # and 1000; the older code at 100
    python bench/bench_scale.py --sizes 1000 --old fcee09e --overview --out bench/scale-overview.md

Images: N distinct crops of the shipped photos (seeded offsets and sizes), 256 px JPEGs. Model: one
random ResNet18, LIME 16 samples, curves of 4 steps, no stability re-runs, no sanity check, so that
the model work is small and what does not grow with the models shows. Each build is
`python -m generator build -v` in its own process with an empty cache (cold), then again with nothing
changed (no-op). Peak RSS is the build's and its figure-drawing processes' together (sampled). The non-model overhead per case is the cold wall time minus the build's model phases
(loading, predictions, segmentation, the explainers, the curves), divided by N. `--old COMMIT` builds
the middle size with that commit's code too (git archive into a temporary folder). `--overview` also loads each
built overview in Chromium (Debian's, through Playwright): its size, what it fetches and its load time; its
builds leave LIME out and skip the no-op rebuild (the table's build columns then describe those builds).
"""

import os
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import yaml
from harness import ROOT, add_out, code_env, command_line, old_checkout, parser_for, served, timed_build, write_report
from PIL import Image

PHOTOS = sorted(p for p in (ROOT / "content" / "images").iterdir() if p.suffix in (".png", ".jpg"))
MODEL_PHASES = (
    "models",
    "predictions",
    "segmentation",
    "gradcam",
    "lime",
    "integrated_gradients",
    "stability",
    "curves",
    "sanity",
    "ray",
)
MANIFEST = {
    "title": "Scale benchmark",
    "models": [{"name": "resnet18", "display_name": "ResNet18", "weights": "random"}],
    "explainers": {"lime": {"num_samples": 16, "batch_size": 16}},
    "metrics": {"steps": 4, "stability_seeds": 1, "sanity": False},
}


def distinct_images(count, folder, seed=0):
    """`count` crops of the shipped photos, each its own offset and size, as 256 px JPEGs."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    photos = [Image.open(p).convert("RGB") for p in PHOTOS]
    names = []
    for i in range(count):
        photo = photos[i % len(photos)]
        side = int(min(photo.size) * rng.uniform(0.5, 0.95))
        left, top = (int(rng.integers(0, extent - side + 1)) for extent in photo.size)
        name = f"crop-{i:04d}.jpg"
        photo.crop((left, top, left + side, top + side)).resize((256, 256)).save(folder / name, quality=90)
        names.append(name)
    return names


# --overview: the overview's size and load time depend on the pages, not on how long the maps took, so these
# builds leave LIME out (Grad-CAM, its curves and the random baseline stay: every overview section but LIME's)
OVERVIEW_MANIFEST = {**MANIFEST, "explainers": {"lime": {"enabled": False}}}


def project(count, folder, overview=False):
    content = folder / "content"
    names = distinct_images(count, content / "images")
    base = OVERVIEW_MANIFEST if overview else MANIFEST
    manifest = {**base, "cases": [{"id": Path(n).stem, "image": f"images/{n}"} for n in names]}
    (content / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    return content / "manifest.yaml"


OVERVIEW_LOADS = 3


def overview_cost(site):
    """The overview's HTML bytes, the bytes a browser fetches until its load event, and the median time from
    navigation to that event (Chromium, headless, from a local server), over OVERVIEW_LOADS fresh loads."""
    import statistics

    from playwright.sync_api import sync_playwright

    from generator.publish.pdf import CHROMIUM_ARGS, chromium_path

    times, fetched, parts = [], [], []
    with served(site) as base:
        url = f"{base}/index.html"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_path(), args=list(CHROMIUM_ARGS))
            for _ in range(OVERVIEW_LOADS):
                page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
                page.goto(url, wait_until="load")
                timing = page.evaluate("() => performance.getEntriesByType('navigation')[0].toJSON()")
                resources = page.evaluate(
                    "() => performance.getEntriesByType('resource').filter(r => r.responseEnd <= "
                    "performance.getEntriesByType('navigation')[0].loadEventStart).map(r => [r.name, r.encodedBodySize])"
                )
                times.append(timing["loadEventStart"])
                fetched.append(timing["encodedBodySize"] + sum(size for _, size in resources))
                parts.append(fetched_parts(resources))
                page.context.close()
            browser.close()
    return {
        "html_kib": (Path(site) / "index.html").stat().st_size / 1024,
        "fetched_kib": statistics.median(fetched) / 1024,
        "load_ms": statistics.median(times),
        "parts": parts[times.index(statistics.median_low(times))],  # those of the median load
    }


FETCHED_KINDS = (("thumbnails", "/thumbnail."), ("plots", "/figures/_overview/"), ("search index", "search_index"))


def fetched_parts(resources):
    """(count, KiB) of the resources fetched before the load event, by kind: thumbnails, the overview's plots,
    the search index, everything else (the theme's scripts and styles)."""
    parts = {kind: [0, 0.0] for kind, _ in FETCHED_KINDS} | {"other": [0, 0.0]}
    for url, size in resources:
        kind = next((kind for kind, mark in FETCHED_KINDS if mark in url), "other")
        parts[kind][0] += 1
        parts[kind][1] += size / 1024
    return parts


def measure(code, count, scratch, env, overview=False):
    work = scratch / f"{code.name}-{count}"
    manifest = project(count, work, overview)
    cold = timed_build(code, manifest, work, env)
    print(f"{code.name}, {count} cases: cold {cold['seconds']:.1f} s", flush=True)
    noop = None  # --overview: no no-op build
    if not overview:
        noop = timed_build(code, manifest, work, env)
        print(f"{code.name}, {count} cases: no-op {noop['seconds']:.1f} s", flush=True)
    model = sum(cold["phases"].get(phase, 0.0) for phase in MODEL_PHASES)
    shown = overview_cost(work / "site") if overview else {}
    return {
        **shown,
        "cases": count,
        "cold": cold["seconds"],
        "model": model,
        "overhead_ms": (cold["seconds"] - model) / count * 1000,
        "figures": cold["phases"].get("figures", 0.0),
        "pages": cold["phases"].get("pages", 0.0),
        "mkdocs": cold["phases"].get("mkdocs", 0.0),
        "noop": None if noop is None else noop["seconds"],
        "rss_mib": cold["tree_rss_mib"],
    }


def row(label, run):
    return (
        f"| {label} | {run['cases']} | {run['cold']:.1f} | {run['model']:.1f} | {run['figures']:.1f} | "
        f"{run['pages']:.1f} | {run['mkdocs']:.1f} | **{run['overhead_ms']:.0f}** | "
        f"{'—' if run['noop'] is None else format(run['noop'], '.1f')} | "
        f"{run['rss_mib']:.0f} |"
    )


def report(args, runs, old):
    lines = [
        "# Scale: cost against the number of cases",
        "",
        f"`{command_line(__file__, sys.argv[1:])}`",
        "",
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
        f"load average at the end {os.getloadavg()[0]:.1f}. One random ResNet18, "
        f"{'LIME off' if args.overview else 'LIME 16 samples'}, curves of 4 steps, no re-runs, no sanity check; "
        f"one round each{', no no-op rebuild' if args.overview else ''}.",
        "",
        "| code | cases | cold s | model phases s | figures s | pages s | MkDocs s | overhead ms per case | "
        "no-op s | peak RSS MiB |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    lines += [row("this checkout", run) for run in runs]
    if old:
        lines.append(row(f"`{args.old}`", old))
    measured = [("this checkout", run) for run in runs if "load_ms" in run]
    measured += [(f"`{args.old}`", old)] if old and "load_ms" in old else []
    if measured:
        lines += [
            "",
            f"The overview in Chromium (headless, local server, median of {OVERVIEW_LOADS} fresh loads): its HTML, "
            "what is fetched until the load event (lazy thumbnails below the fold wait; KiB (count) per kind, as "
            "served, uncompressed), and the time to that event.",
            "",
        ]
        lines += load_table([(label, run["cases"], run) for label, run in measured])
    if len(runs) > 1 and not args.overview:
        first, last = runs[0], runs[-1]
        fixed, per_case = np.polyfit([r["cases"] for r in runs], [r["cold"] - r["model"] for r in runs], 1)[::-1]
        noop_fixed, noop_per_case = np.polyfit([r["cases"] for r in runs], [r["noop"] for r in runs], 1)[::-1]
        lines += [
            "",
            f"From {first['cases']} to {last['cases']} cases: non-model time = {fixed:.1f} s + "
            f"**{per_case * 1000:.0f} ms per case** (least squares over the sizes; the fixed part is Python's "
            f"imports, model loading and MkDocs' start), no-op rebuild = {noop_fixed:.1f} s + "
            f"{noop_per_case * 1000:.0f} ms per case; peak RSS from {first['rss_mib']:.0f} to "
            f"{last['rss_mib']:.0f} MiB.",
        ]
    return "\n".join(lines) + "\n"


def load_table(rows):
    """The overview's load in Chromium: (label, cases, overview_cost's answer) per row."""
    kinds = [kind for kind, _ in FETCHED_KINDS] + ["other"]
    lines = [
        "| code | cases | index.html KiB | fetched until load KiB | of which " + " | ".join(kinds) + " | load ms |",
        "|---|--:|--:|--:|" + "--:|" * len(kinds) + "--:|",
    ]
    for label, cases, run in rows:
        parts = " | ".join(f"{run['parts'][k][1]:.0f} ({run['parts'][k][0]})" for k in kinds)
        lines.append(
            f"| {label} | {cases} | {run['html_kib']:.0f} | {run['fetched_kib']:.0f} | {parts} | {run['load_ms']:.0f} |"
        )
    return lines


def main():
    parser = parser_for(__doc__)
    parser.add_argument("--sizes", default="10,100", help="comma-separated case counts")
    parser.add_argument("--old", default=None, help="a commit whose code also builds the middle size")
    add_out(parser)
    parser.add_argument("--overview", action="store_true", help="also load each overview in Chromium")
    parser.add_argument("--keep", default=None, help="build in this folder and keep the projects and sites")
    parser.add_argument("--load", nargs="+", default=None, metavar="SITE", help="only load these built overviews")
    args = parser.parse_args()
    if args.load:  # sites an earlier run kept (--keep): their overviews' load, nothing built
        print("\n".join(load_table([(f"`{site}`", "", overview_cost(site)) for site in args.load])))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    env = code_env()
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as temporary:
        scratch = Path(args.keep or temporary)
        runs = [measure(ROOT, count, scratch, env, args.overview) for count in sizes]
        old = None
        if args.old:
            code = old_checkout(args.old, scratch / "old")
            old = measure(code, sizes[len(sizes) // 2], scratch, env, args.overview)
    write_report(report(args, runs, old), args.out)


if __name__ == "__main__":
    main()
