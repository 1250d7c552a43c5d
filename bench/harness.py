"""What the benchmarks under bench/ share: the checkout they measure, timing, the report, inputs and builds.

Every benchmark runs from the repository root as `python bench/NAME.py`. Python puts the script's folder first
on sys.path, so `import harness` finds this module; `generator` is the package `pip install -e .` installed.
A benchmark measures the code beside it, so importing this module stops with a message when `generator` would
come from another checkout (an editable install made elsewhere).
"""

import argparse
import contextlib
import functools
import http.server
import importlib.util
import os
import re
import resource
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CHELSEA = ROOT / "content" / "images" / "chelsea.png"  # skimage's chelsea, pixel for pixel
TOP = 5  # the superpixels a figure highlights (num_features) and the speed issue's rule counts


# --- the checkout --------------------------------------------------------------------------------------------


def package_checkout():
    """The folder whose `generator` package an import would load (None: not installed)."""
    spec = importlib.util.find_spec("generator")
    return Path(spec.origin).resolve().parent.parent if spec and spec.origin else None


def require_this_checkout():
    found = package_checkout()
    if found != ROOT:
        sys.exit(
            f"bench/ measures the code beside it ({ROOT}), but `import generator` finds {found or 'nothing'}: "
            f"run `pip install -e .` in {ROOT}, or `PYTHONPATH={ROOT} python bench/...`"
        )


def code_env(code_dir=ROOT, **extra):
    """The environment of a child process that runs the package of `code_dir` (this checkout, or an old one)."""
    return dict(os.environ, PYTHONPATH=str(code_dir), **extra)


require_this_checkout()


# --- timing and the machine ------------------------------------------------------------------------------------


def timed(function):
    """(function's value, wall seconds it took)."""
    started = time.perf_counter()
    value = function()
    return value, time.perf_counter() - started


def peak_rss_mib():
    """This process's peak resident memory (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_fresh_process(function, *args):
    """function(*args) in a freshly spawned process: its imports, caches and peak RSS are its own."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def cpu_name():
    with open("/proc/cpuinfo") as cpuinfo:
        found = (line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
        return next(found, None) or "?"


def load_average():
    """The 1, 5 and 15 minute load averages, as a report prints them (other processes skew timings)."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --- the command line and the report ---------------------------------------------------------------------------


def parser_for(doc):
    """An argument parser whose --help shows the script's whole docstring (its example commands included)."""
    return argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)


def add_out(parser):
    parser.add_argument("--out", type=Path, help="also write the Markdown report here (a bench/*.md to commit)")


def command_line(script, argv):
    """The command a report names as its source: `python bench/NAME.py ARGS`."""
    return " ".join(["python", f"bench/{Path(script).name}", *map(str, argv)])


def write_report(text_or_lines, out=None):
    """Print the report, and write it to `out` when one is given."""
    text = text_or_lines if isinstance(text_or_lines, str) else "\n".join(text_or_lines) + "\n"
    print(text, end="")
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text, encoding="utf-8")


# --- inputs: one photo, one model ------------------------------------------------------------------------------


def chelsea_case():
    """The chelsea photo through the default recipe (224 crop), as the explainers receive a case."""
    from PIL import Image

    from generator.explain import CaseInputs
    from generator.manifest.schema import PreprocessSpec
    from generator.run.images import Preprocessor

    return CaseInputs("chelsea", Preprocessor(PreprocessSpec()).prepare(Image.open(CHELSEA).convert("RGB")))


def load_named_model(name, weights="random", source="torchvision"):
    """A model as a build loads it; random weights are seeded (0) and cost what trained ones cost."""
    from generator.manifest.schema import ModelSpec
    from generator.run.models import load_model, resolve_weights

    spec = ModelSpec(source=source, name=name, weights=weights)
    return load_model(spec, resolve_weights(spec, ".", 0), 0)


# --- how far two LIME explanations of one label agree ----------------------------------------------------------


def spearman(a, b):
    """Spearman rank correlation of two weight vectors over the same superpixels."""
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def top_overlap(a, b, k=TOP):
    """How many of the k highest-weighted superpixels the two vectors share."""
    return len(set(np.argsort(-a, kind="stable")[:k]) & set(np.argsort(-b, kind="stable")[:k]))


# --- every case of a manifest, the way a build sees it ---------------------------------------------------------


def manifest_args(argv, extra=None, description=None):
    """The options of the benchmarks that walk a manifest's cases; `extra(parser)` adds a script's own."""
    parser = parser_for(description)
    parser.add_argument("--manifest", default="content/manifest.yaml")
    parser.add_argument("--models", default="", help="comma-separated builder names instead of the manifest's models")
    parser.add_argument("--samples", type=int, help="LIME samples (default: the manifest's)")
    parser.add_argument("--cases", default="", help="comma-separated case ids (default: every case)")
    add_out(parser)
    if extra:
        extra(parser)
    args = parser.parse_args(argv)
    args.argv = argv
    return args


def load_models(manifest, manifest_dir, names):
    from generator.manifest.schema import ModelSpec
    from generator.run.models import load_model, resolve_weights

    specs = manifest.models if not names else [ModelSpec(name=name) for name in names]
    return [load_model(spec, resolve_weights(spec, manifest_dir, manifest.seed), manifest.seed) for spec in specs]


def load_inputs(args):
    """The manifest (with --samples applied) and its models, or exit with the project's own error message."""
    from generator.manifest.loader import load_manifest
    from generator.utils.errors import ReportError

    try:
        manifest = load_manifest(args.manifest)
        if args.samples:
            lime = manifest.explainers.lime.model_copy(update={"num_samples": args.samples})
            explainers = manifest.explainers.model_copy(update={"lime": lime})
            manifest = manifest.model_copy(update={"explainers": explainers})
        names = [name for name in args.models.split(",") if name]
        return manifest, load_models(manifest, Path(args.manifest).parent, names)
    except ReportError as error:
        sys.exit(f"{error}\n(offline, --models efficientnet_lite0 has trained weights: those of the offline package)")


def case_inputs(manifest, manifest_dir, spec):
    """What a build hands the explainers for this case (generator.compute.compute_case)."""
    from generator.explain import CaseInputs
    from generator.run.images import Preprocessor, decode_image

    original = decode_image(manifest_dir / spec.image, spec.case_id, manifest.preprocess.background)
    prepared = Preprocessor(manifest.preprocess).prepare(original)
    return CaseInputs(spec.case_id, prepared)


def shown_targets(spec, models, inputs):
    """The labels each model's part of a case page explains: every model's top-1 and the case's targets."""
    from generator.run.class_names import model_targets
    from generator.run.inference import probabilities, top_k

    top1 = [top_k(probabilities(model, model.input_tensor(inputs.image)), model.categories, 1) for model in models]
    return {model.key: model_targets(model, spec, models, top1) for model in models}


def cases_and_models(args, manifest, models):
    """(case inputs, the labels its page shows, model) for every selected case (--cases) and every model."""
    wanted = {case for case in args.cases.split(",") if case}
    for spec in manifest.cases:
        if wanted and spec.case_id not in wanted:
            continue
        inputs = case_inputs(manifest, Path(args.manifest).parent, spec)
        targets = shown_targets(spec, models, inputs)
        for model in models:
            yield inputs, targets[model.key], model


def collect_rows(argv, per_case, description=None):
    """Parse the command line, load the manifest and models, and gather per_case(model, manifest, inputs,
    targets) -> rows over every case and model; returns (args, models, rows, seconds)."""
    args = manifest_args(sys.argv[1:] if argv is None else argv, description=description)
    manifest, models = load_inputs(args)
    started, rows = time.perf_counter(), []
    for inputs, targets, model in cases_and_models(args, manifest, models):
        rows += per_case(model, manifest, inputs, targets)
    return args, models, rows, time.perf_counter() - started


# --- builds, each in its own process ---------------------------------------------------------------------------

PHASE_LINE = re.compile(r"^Time per phase: (.*)$", re.MULTILINE)


def timed_build(code_dir, manifest, work, env=None, site=True):
    """Wall seconds, peak RSS (MiB: the build's own and its process tree's) and per-phase seconds of one
    `python -m generator build -v` of `code_dir`'s package, its cache and site under `work`."""
    command = [sys.executable, "-m", "generator", "build", "--manifest", str(manifest), "-v"]
    command += ["--cache-dir", str(work / "cache"), "--config", str(Path(code_dir) / "mkdocs.yml")]
    command += ["--site-dir", str(work / "site")] if site else ["--no-site"]
    env = dict(env or os.environ, PYTHONPATH=str(code_dir))
    started = time.perf_counter()
    with open(work / "build.log", "w") as log:
        process = subprocess.Popen(command, cwd=code_dir, env=env, stdout=log, stderr=subprocess.STDOUT)
        with TreeMemory(process.pid) as tree:
            _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    text = (work / "build.log").read_text()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"build failed ({' '.join(command)}):\n{text[-3000:]}")
    rss = usage.ru_maxrss / 1024
    return {"seconds": seconds, "rss_mib": rss, "tree_rss_mib": max(tree.peak_mib, rss), "phases": phases_of(text)}


def phases_of(log_text):
    """{phase: seconds} from the line `build -v` prints (generator/utils/phase_times.py)."""
    found = PHASE_LINE.search(log_text)
    if not found:
        return {}
    pairs = (part.rsplit(" ", 2) for part in found.group(1).split(", "))
    return {name: float(seconds) for name, seconds, _ in pairs}


class TreeMemory:
    """The peak of the summed RSS of a process and all its descendants (figure workers too), sampled from /proc."""

    def __init__(self, pid, interval=0.1):
        self.pid, self.interval, self.peak_mib = pid, interval, 0.0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()

    def sample(self):
        while not self.stop.wait(self.interval):
            self.peak_mib = max(self.peak_mib, sum(rss_kib(pid) for pid in descendants(self.pid)) / 1024)


def descendants(pid):
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                queue += [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                pass
    return found


def rss_kib(pid):
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) if match else 0


def old_checkout(commit, folder):
    """The project's code at `commit`, extracted into `folder` (no git worktree left behind)."""
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, check=True, capture_output=True).stdout
    folder.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


# --- a built site in a browser ---------------------------------------------------------------------------------


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@contextlib.contextmanager
def served(site):
    """Serve a built site on 127.0.0.1 (a free port) while the block runs; yields its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
