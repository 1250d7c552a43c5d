"""Past one process: sharded builds merged by copying caches, figures drawn in a pool, cases on Ray workers.

Each gives the same site as one serial build, byte for byte.
"""

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from generator.build import BuildOptions, build_report, shard_cases
from generator.run.results import CaseResult, ModelResult, without_pixels
from tests import requires
from tests.helpers import REPO, make_project, random_resnet_manifest, run_cli

IMAGES = ["chelsea.png", "coffee.png", "rocket.jpg"]  # four shards of three cases: one shard is empty
GENERATED = ("cases", "figures", "index.md", "methods.md", "nav.yml")


def options_for(folder, **changes):
    options = BuildOptions(
        manifest=folder / "content" / "manifest.yaml",
        site_dir=folder / "site",
        show_progress=False,
        cache_dir=folder / "cache",
        figure_workers=0,
    )
    return replace(options, **changes)


def new_project(folder):
    cases = [{"id": Path(name).stem, "image": f"images/{name}"} for name in IMAGES]
    # the reference's 224x224 crop: on 64x64 crops the eager forward of a 1-thread Ray worker and of the 2-thread
    # build round the sixth digit of a curve differently, and these tests compare the pages byte for byte
    manifest = random_resnet_manifest(cases=cases, preprocess={"resize": [256, 256], "crop": 224})
    make_project(folder, manifest, images=[REPO / "content" / "images" / n for n in IMAGES])
    return folder


def generated_files(folder):
    """Every generated file of the content folder and every HTML page of the site: {relative path: bytes}."""
    content, site = folder / "content", folder / "site"
    files = {}
    for name in GENERATED:
        root = content / name
        for path in [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()):
            files[str(path.relative_to(folder))] = path.read_bytes()
    for path in sorted(site.rglob("*.html")):
        files[str(path.relative_to(folder))] = path.read_bytes()
    return files


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    """One serial build, figures drawn in the build's own process: what every other way must equal."""
    folder = new_project(tmp_path_factory.mktemp("serial"))
    build_report(options_for(folder))
    return generated_files(folder)


def forbid_models(monkeypatch):
    import generator.run.inference as inference

    def forbidden(*args, **kwargs):
        raise AssertionError("a model ran in the build that should only read the merged caches")

    monkeypatch.setattr(inference.BatchClassifier, "classify_batches", forbidden)
    monkeypatch.setattr("generator.compute.probabilities", forbidden)


def test_shards_cover_every_case_once():
    cases = list(range(10))
    parts = [shard_cases(cases, k, 4) for k in range(1, 5)]
    assert sorted(c for part in parts for c in part) == cases
    assert [len(p) for p in parts] == [3, 3, 2, 2]
    assert shard_cases(cases, 1, 1) == cases


@pytest.mark.slow
def test_four_shards_merged_by_copying_build_the_serial_site(serial, tmp_path, monkeypatch):
    folder = new_project(tmp_path)
    computed = []
    for k in range(1, 5):
        summary = build_report(options_for(folder, shard=(k, 4), cache_dir=folder / f"shard-{k}"))
        computed += summary.rebuilt
        assert summary.written == 0 and not (folder / "content" / "cases").exists()  # nothing rendered
    assert sorted(computed) == sorted(Path(n).stem for n in IMAGES)
    assert not (folder / "shard-4").exists()  # three cases in four shards: the last computes nothing, writes nothing
    for k in range(1, 4):  # the merge: copy every shard's folder into one
        shutil.copytree(folder / f"shard-{k}", folder / "cache", dirs_exist_ok=True)
    forbid_models(monkeypatch)
    summary = build_report(options_for(folder, figure_workers=2))  # the figures drawn by a pool of two
    assert summary.cache_misses == 0 and summary.cache_hits > 0
    assert generated_files(folder) == serial


@pytest.mark.slow
def test_a_half_copied_entry_is_computed_again(serial, tmp_path):
    folder = new_project(tmp_path)
    build_report(options_for(folder, shard=(1, 1)))
    entries = sorted((folder / "cache").rglob("*.npz"))
    victim = entries[len(entries) // 2]
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])  # a copy cut off half-way
    summary = build_report(options_for(folder))
    assert summary.cache_misses >= 1
    assert generated_files(folder) == serial


@pytest.mark.slow
def test_shard_on_the_command_line(tmp_path):
    folder = new_project(tmp_path)
    manifest = folder / "content" / "manifest.yaml"
    bad = run_cli("build", "--manifest", manifest, "--shard", "5/4", "--cache-dir", folder / "cache")
    assert bad.returncode == 2 and "expected K/N with 1 <= K <= N" in bad.stderr
    done = run_cli(
        "build", "--manifest", manifest, "--shard", "2/4", "--cache-dir", folder / "cache", "--only", "coffee"
    )
    assert done.returncode == 0, done.stderr
    assert "Shard 2/4: 0 case(s) computed" in done.stderr  # --only coffee is the first of one: not in part 2
    pdf = run_cli("build", "--manifest", manifest, "--shard", "1/2", "--pdf", "--cache-dir", folder / "cache")
    assert pdf.returncode == 2 and "--shard renders nothing" in pdf.stderr


def test_pages_keep_numbers_not_pixels():
    import numpy as np

    from generator.explain.gradcam import GradCamResult
    from generator.explain.lime import LimeResult

    cam = GradCamResult(3, np.ones((7, 7)), np.ones((8, 8)), np.ones((8, 8)))
    lime = LimeResult(3, np.arange(5.0), 0.1, 0.5, 0.2, neighbourhood=np.linspace(0, 1, 40))
    assert without_pixels(cam) == GradCamResult(3, None, None, None)
    assert without_pixels(lime) is lime  # weights and the neighbourhood are 1-D: the pages read them
    model = ModelResult("m", top_k=(), targets=(3,), explanations={"gradcam": {3: cam}, "lime": {3: lime}})
    case = CaseResult(
        spec=None, original=object(), crop_array=np.zeros((8, 8, 3)), segments=np.ones((8, 8), int), models={"m": model}
    )
    slim = case.for_pages()
    assert slim.original is None and slim.crop_array is None and slim.segmented and slim.segments.size == 0
    assert slim.models["m"].explained("gradcam", 3).heatmap is None
    assert slim.models["m"].explained("lime", 3).samples == 40


@pytest.mark.slow
def test_ray_executor_builds_the_serial_site(serial, tmp_path, monkeypatch):
    ray = requires.module("ray", "Ray")
    folder = new_project(tmp_path)
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        forbid_models(monkeypatch)  # in this process: the models run on the Ray workers only
        summary = build_report(options_for(folder, executor="ray"))
    finally:
        ray.shutdown()
    assert summary.cache_misses == 0 and "ray" in summary.phases
    assert generated_files(folder) == serial


@pytest.mark.slow
def test_figure_jobs_carry_plain_data_only(tmp_path):
    """A drawing process needs only numpy, Pillow and matplotlib: no job hands it a result object."""
    import numpy as np
    from PIL import Image

    from generator.compute import CaseContext, case_computers, compute_case
    from generator.manifest.loader import load_manifest
    from generator.render.case_figures import case_figures
    from generator.run.models import load_models
    from generator.utils import figures, plots

    folder = new_project(tmp_path)
    options = options_for(folder)
    manifest = load_manifest(options.manifest)
    models = load_models(manifest, folder / "content")
    explainers, measurer = case_computers(manifest, options)
    case = compute_case(CaseContext(manifest, folder / "content", models, explainers, measurer), manifest.cases[0])
    jobs = case_figures(case, {m.key: m for m in models}, explainers)

    def plain(value):
        if isinstance(value, (list, tuple)):
            return all(plain(item) for item in value)
        return isinstance(value, (np.ndarray, Image.Image, int, float, str, bool, np.generic))

    assert len(jobs) > 5
    for path, (function, args) in jobs.items():
        assert function.__module__ in (figures.__name__, plots.__name__), path
        assert plain(args), path


def test_ray_executor_without_ray_says_how_to_install_it(monkeypatch):
    import sys

    from generator.ray_executor import import_ray
    from generator.utils.errors import UsageError

    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    with pytest.raises(UsageError, match=r"pip install 'xai-report\[ray\]'"):
        import_ray()


def test_jobs_must_be_a_count(tmp_path):
    folder = new_project(tmp_path)
    done = run_cli("build", "--manifest", folder / "content" / "manifest.yaml", "--jobs", "-1")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines()[-1] == "Error: Invalid value for '--jobs': -1 is not in the range x>=0."
    assert not (folder / "content" / "cases").exists()


def test_a_drawing_process_stays_light():
    """Starting a worker and drawing a figure in it imports neither torch nor lime."""
    import numpy as np

    from generator.cache.figure_cache import FigureCache
    from generator.render.figure_drawer import FigureDrawer
    from generator.utils import figures

    with FigureDrawer(FigureCache(None), workers=1) as drawer:
        drawer.submit({"a.png": (figures.heatmap_overlay, (np.zeros((16, 16, 3), np.uint8), np.ones((16, 16))))})
        assert [path for path, _ in drawer.finish()] == ["a.png"]
        loaded = drawer.executor.submit(eval, "[m in __import__('sys').modules for m in ('torch', 'lime')]")
        assert loaded.result() == [False, False]


def test_the_build_waits_for_a_pool_that_falls_behind(monkeypatch):
    """More figures waiting than MAX_PENDING: `ready()` hands out every one, so their arguments are let go."""
    import numpy as np

    from generator.cache.figure_cache import FigureCache
    from generator.render import figure_drawer
    from generator.utils import figures

    monkeypatch.setattr(figure_drawer, "MAX_PENDING", 1)
    crop = np.zeros((8, 8, 3), np.uint8)
    jobs = {f"{i}.png": (figures.heatmap_overlay, (crop, np.full((8, 8), i / 4))) for i in range(3)}
    with figure_drawer.FigureDrawer(FigureCache(None), workers=1) as drawer:
        drawer.submit(jobs)  # three waiting, more than one
        assert sorted(path for path, _ in drawer.ready()) == sorted(jobs) and not drawer.pending
