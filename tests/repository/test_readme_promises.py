"""What README.md (and the bad-input table of docs/manifest.md it links) promises about the command line, each
checked through it: the whole message and the exit code.

The kinds of photo the README says work are built in tests/run/test_image_kinds.py.
"""

import fcntl
import os
import pty
import re
import select
import socket
import struct
import subprocess
import sys
import termios
import time
import urllib.request

import pytest
import torch
import torchvision
from click.testing import CliRunner

from generator.build import BuildSummary
from generator.cli import main
from tests import requires
from tests.helpers import CHELSEA, COFFEE, REPO, build, make_project, random_resnet_manifest, run_cli

NO_MEASUREMENTS = {"faithfulness": False, "sanity": False, "stability_seeds": 1}
TWO_CASES = [{"id": "one", "image": "images/chelsea.png"}, {"id": "two", "image": "images/coffee.png"}]
CLOSING_LINE = re.compile(r"Built (\d+) case\(s\) in \d+\.\d s(; (\d+) of (\d+) results from the cache)?( -> .*/)?")


def tiny_manifest(cases=None, **extra):
    """One random ResNet18, Grad-CAM only, no measurements: the cheapest whole build."""
    manifest = random_resnet_manifest(cases, explainers={"lime": {"enabled": False}}, metrics=dict(NO_MEASUREMENTS))
    manifest.update(extra)
    return manifest


def invoke(*args):
    """The command line in this process (CliRunner: not a terminal); it ends in SystemExit or nothing."""
    result = CliRunner().invoke(main, [str(arg) for arg in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def closing_line(output):
    line = output.strip().splitlines()[-1]
    match = CLOSING_LINE.fullmatch(line)
    assert match, line
    return match


# --device and --precision -------------------------------------------------------------------------------------


def gpus_visible(monkeypatch, cuda, mps):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)


@pytest.fixture
def devices_chosen(monkeypatch):
    """The device and precision each build was handed once the command line resolved them; no model runs."""
    chosen = []

    def record(manifest, content_dir, options, site, started):
        chosen.append((options.device, options.precision))
        return BuildSummary()

    monkeypatch.setattr("generator.build.run_phases", record)
    return chosen


@pytest.mark.parametrize(
    ("cuda", "mps", "requested", "expected"),
    [
        (True, True, "auto", "cuda"),
        (False, True, "auto", "mps"),
        (False, False, "auto", "cpu"),
        (True, True, "cpu", "cpu"),
        (True, False, "cuda", "cuda"),
        (False, True, "mps", "mps"),
    ],
)
def test_device_auto_picks_cuda_then_mps_then_cpu(
    tmp_path, monkeypatch, devices_chosen, cuda, mps, requested, expected
):
    gpus_visible(monkeypatch, cuda, mps)
    path = make_project(tmp_path, tiny_manifest())
    site = tmp_path / "site"
    result = invoke("build", "--manifest", path, "--site-dir", site, "--device", requested)
    assert result.exit_code == 0, result.output
    assert devices_chosen == [(expected, "fp32")]
    assert result.output == f"Built 0 case(s) in 0.0 s -> {site}/\n"


def test_device_default_is_cpu_even_with_a_gpu(tmp_path, monkeypatch, devices_chosen):
    gpus_visible(monkeypatch, cuda=True, mps=True)
    path = make_project(tmp_path, tiny_manifest())
    assert invoke("build", "--manifest", path, "--site-dir", tmp_path / "site").exit_code == 0
    assert devices_chosen == [("cpu", "fp32")]


@pytest.mark.parametrize(
    ("device", "message"),
    [
        ("cuda", "Error: --device cuda: no CUDA GPU is visible to torch; use --device cpu or auto"),
        ("mps", "Error: --device mps: Apple's MPS backend is not available here; use --device cpu or auto"),
    ],
)
def test_device_that_is_not_there_exit_2(tmp_path, monkeypatch, device, message):
    gpus_visible(monkeypatch, cuda=False, mps=False)
    path = make_project(tmp_path, tiny_manifest())
    result = invoke("build", "--manifest", path, "--no-site", "--cache-dir", tmp_path / "cache", "--device", device)
    assert result.exit_code == 2
    assert result.output == message + "\n"
    assert not (path.parent / "index.md").exists()


def test_unknown_device_is_a_usage_error_exit_2():
    result = invoke("build", "--device", "tpu")
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        "Error: Invalid value for '--device': 'tpu' is not one of 'auto', 'cpu', 'cuda', 'mps'."
    )


@pytest.mark.parametrize(
    ("command", "device", "cuda", "mps"),
    [
        ("build", "cpu", False, False),
        ("build", "auto", False, False),
        ("build", "cuda", True, False),
        ("build", "mps", False, True),
        ("check", "cpu", False, False),  # check runs no model (no --device): a bf16 build's check is refused too
    ],
)
def test_bf16_refused_where_the_device_has_none_exit_2(tmp_path, monkeypatch, command, device, cuda, mps):
    gpus_visible(monkeypatch, cuda, mps)
    monkeypatch.setattr("generator.run.devices.cpu_has_bf16", lambda: False)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: False)
    path = make_project(tmp_path, tiny_manifest())
    args = ["--manifest", path, "--cache-dir", tmp_path / "cache", "--precision", "bf16"]
    args += ["--no-site", "--device", device] if command == "build" else []
    result = invoke(command, *args)
    assert result.exit_code == 2
    resolved = {"auto": "cpu"}.get(device, device)
    assert result.output == (
        f"Error: --precision bf16 is not supported on {resolved} here (no native bfloat16); use --precision fp32\n"
    )
    assert not (path.parent / "index.md").exists() and not (tmp_path / "cache").exists()


def test_bf16_accepted_where_the_device_has_it(tmp_path, monkeypatch, devices_chosen):
    monkeypatch.setattr("generator.run.devices.cpu_has_bf16", lambda: True)
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: True)
    path = make_project(tmp_path, tiny_manifest())
    args = ["--site-dir", tmp_path / "site", "--precision", "bf16"]
    assert invoke("build", "--manifest", path, *args).exit_code == 0
    assert devices_chosen == [("cpu", "bf16")]


CURVES_ONLY = dict(NO_MEASUREMENTS, faithfulness=True, steps=4)  # batched: the methods page names the processor
ON_A_GPU = pytest.mark.skipif(not torch.cuda.is_available(), reason=requires.NO_CUDA_GPU)


@pytest.mark.slow
@pytest.mark.parametrize("device", ["cpu", "auto", pytest.param("cuda", marks=ON_A_GPU)])
def test_build_runs_on_the_device_asked_for(tmp_path, device):
    """On the real machine, no monkeypatch: the methods page records where the curves ran."""
    path = make_project(tmp_path, tiny_manifest(metrics=CURVES_ONLY))
    result = invoke(
        "build", "--manifest", path, "--no-site", "--cache-dir", tmp_path / "cache", "--device", device, "-q"
    )
    assert (result.exit_code, result.output) == (0, "")
    on_gpu = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    batch, processor = (250, "GPU (CUDA)") if on_gpu else (8, "CPU")
    methods = (path.parent / "methods.md").read_text(encoding="utf-8")
    assert (
        f"The deletion and insertion curves run in batches of {batch} (`batch_size: auto`) on the {processor}"
        in methods
    )


# --executor ray ---------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_executor_ray_from_the_command_line(tmp_path, monkeypatch):
    """The workers compute every result into the empty cache; the build here reads them all back."""
    requires.module("ray", "Ray")  # the test extra installs it: missing, the test skips, and fails under CI=true
    monkeypatch.delenv("RAY_ADDRESS", raising=False)  # a local instance on this machine's cores
    path = make_project(tmp_path, tiny_manifest(cases=TWO_CASES), images=(CHELSEA, COFFEE))
    result = run_cli("build", "--manifest", path, "--no-site", "--cache-dir", tmp_path / "cache", "--executor", "ray")
    assert result.returncode == 0, result.stderr
    built, _, hits, looked_up, site = closing_line(result.stderr).groups()
    assert built == "2" and hits == looked_up and int(hits) > 0 and site is None
    assert sorted(p.name for p in (path.parent / "cases").glob("*.md")) == ["one.md", "two.md"]


# progress bars: only on a terminal, and -q silences them ------------------------------------------------------------


def run_on_a_terminal(*args, timeout=300):
    """`python -m generator ARGS` with stdout and stderr on an 80-column pseudo-terminal; (exit code, output)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    command = [sys.executable, "-m", "generator", *map(str, args)]
    process = subprocess.Popen(command, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower)
    os.close(follower)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not select.select([leader], [], [], 1)[0]:
                continue
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the command closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        code = process.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        if process.poll() is None:
            process.kill()
        os.close(leader)
    return code, b"".join(chunks).decode(errors="replace").replace("\r\n", "\n")


def progress_build_args(tmp_path):
    path = make_project(tmp_path, tiny_manifest(cases=TWO_CASES), images=(CHELSEA, COFFEE))
    return ["build", "--manifest", path, "--no-site", "--cache-dir", tmp_path / "cache"]


@pytest.mark.slow
def test_no_progress_bar_when_not_on_a_terminal(tmp_path):
    result = invoke(*progress_build_args(tmp_path))
    assert result.exit_code == 0, result.output
    built, _, hits, looked_up, site = closing_line(result.output).groups()
    assert result.output.count("\n") == 1 and "\r" not in result.output  # the closing line alone, no bar
    assert (built, hits, site) == ("2", "0", None) and int(looked_up) > 0


@pytest.mark.slow
def test_progress_bar_on_a_terminal(tmp_path):
    code, output = run_on_a_terminal(*progress_build_args(tmp_path))
    assert code == 0, output
    *bars, closing = output.split("\r")  # tqdm redraws its one line with carriage returns
    assert any(re.fullmatch(r"one · R18:\s+0%\|\s+\| 0/2 \[.*\]", bar) for bar in bars), bars
    assert any(re.fullmatch(r"two · R18: 100%\|█+\| 2/2 \[.*\]", bar) for bar in bars), bars
    assert bars[-1].strip() == ""  # and clears it at the end
    assert closing_line(closing).group(1) == "2" and closing.count("\n") == 1


@pytest.mark.slow
def test_quiet_on_a_terminal_prints_nothing(tmp_path):
    code, output = run_on_a_terminal(*progress_build_args(tmp_path), "-q")
    assert code == 0
    assert output == ""
    assert (tmp_path / "content" / "cases" / "two.md").is_file()


# check --force ----------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_check_says_what_a_build_and_a_force_build_would_compute(tmp_path):
    path = make_project(tmp_path, tiny_manifest())
    cache = ["--cache-dir", tmp_path / "cache"]
    result = invoke("check", "--manifest", path, *cache)
    assert (result.exit_code, result.stdout) == (
        0,
        "chelsea: would compute probabilities (R18), then every explanation and metric (the targets depend on the "
        "predictions)\n1 case(s) checked, 0 with errors.\n",
    )
    assert invoke("build", "--manifest", path, "--no-site", "--device", "cpu", *cache).exit_code == 0
    result = invoke("check", "--manifest", path, *cache)
    assert (result.exit_code, result.stdout) == (
        0,
        "chelsea: up to date (every result is in the cache)\n1 case(s) checked, 0 with errors.\n",
    )
    result = invoke("check", "--manifest", path, "--force", *cache)
    assert (result.exit_code, result.stdout) == (
        0,
        "chelsea: would compute everything (--force or no cache)\n1 case(s) checked, 0 with errors.\n",
    )


# serve ------------------------------------------------------------------------------------------------------------


def test_serve_hands_the_manifests_folder_to_mkdocs_serve(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr("mkdocs.commands.serve.serve", lambda **kwargs: calls.append(kwargs))
    path = make_project(tmp_path, tiny_manifest())
    result = invoke("serve", "--manifest", path)
    assert (result.exit_code, result.output) == (0, "")
    [call] = calls
    assert (call["docs_dir"], call["dev_addr"], call["site_name"]) == (
        str(path.parent.resolve()),
        "127.0.0.1:8000",
        "Test report",
    )
    assert call["config_file_path"] is None  # no mkdocs.yml in the report folder: the tool's configuration alone
    assert "offline" in str(call["plugins"]) and call["hooks"]


def free_loopback_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url, timeout):
    """The page at `url` once the server answers (it builds the site first), or None at the timeout."""
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # the loopback, never a proxy
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with direct.open(url, timeout=5) as response:
                return response.read().decode("utf-8")
        except OSError:
            time.sleep(0.5)
    return None


@pytest.mark.slow
def test_serve_previews_a_built_report_on_the_loopback(tmp_path):
    path = make_project(tmp_path, tiny_manifest(title="Served report"))
    assert build(path, site=False).returncode == 0
    port = free_loopback_port()
    command = [sys.executable, "-m", "generator", "serve", "--manifest", path]
    server = subprocess.Popen(
        [*map(str, command), "--dev-addr", f"127.0.0.1:{port}"],
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        page = fetch(f"http://127.0.0.1:{port}/cases/chelsea.html", timeout=120)
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    assert page is not None, errors
    assert "<title>chelsea - Served report</title>" in page


# --pdf without Playwright -----------------------------------------------------------------------------------------


def test_pdf_without_playwright_stops_before_any_model_runs(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "playwright", None)  # as if not installed: importing it raises ImportError
    monkeypatch.setitem(sys.modules, "playwright.sync_api", None)
    path = make_project(tmp_path, tiny_manifest())
    result = invoke(
        "build", "--manifest", path, "--site-dir", tmp_path / "site", "--pdf",
        "--cache-dir", tmp_path / "cache",
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.output == "Error: --pdf needs Playwright for Python: pip install -e '.[pdf]'\n"
    assert not (path.parent / "index.md").exists() and not (tmp_path / "cache").exists(), "a model ran"


# weights and target layers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["build", "check"])
def test_pickled_model_file_refused_exit_1(tmp_path, command):
    """A whole pickled model (torch.save(model)) would run code when unpickled: only weights_only loading."""
    manifest = tiny_manifest()
    manifest["models"] = [{"name": "resnet18", "weights": "mine.pth", "display_name": "Mine"}]
    path = make_project(tmp_path, manifest)
    weights = path.parent / "mine.pth"
    torch.save(torchvision.models.resnet18(), weights)
    extra = ["--no-site", "--cache-dir", tmp_path / "cache"] if command == "build" else []
    result = invoke(command, "--manifest", path, *extra)
    assert result.exit_code == 1
    assert result.output == (
        f"Error: model 'Mine': cannot load {weights} as a state dict (UnpicklingError: Unsupported global: "
        "GLOBAL torchvision.models.resnet.ResNet). Only plain state dicts saved with "
        "torch.save(model.state_dict(), ...) or safetensors are accepted.\n"
    )  # one line: not torch's advice to set weights_only=False, which this tool never does


TARGET_LAYER_ERRORS = {
    "does not exist": (
        "resnet18",
        "layer9",
        "target_layer 'layer9' does not exist; top-level modules are: conv1, bn1, relu, maxpool, layer1, layer2, "
        "layer3, layer4, avgpool, fc",
    ),
    "not a map (fc)": (
        "resnet18",
        "fc",
        "target_layer 'fc' cannot be used for Grad-CAM: its output of shape (1, 1000) is not a spatial map; "
        "choose a convolutional block or a transformer block",
    ),
    "one position (avgpool)": (
        "resnet18",
        "avgpool",
        "target_layer 'avgpool' cannot be used for Grad-CAM: its output of shape (1, 512, 1, 1) is a single "
        "position, no map; choose a convolutional block or a transformer block",
    ),
    "does not run (auxiliary head)": (
        "googlenet",
        "aux1",
        "target_layer 'aux1' does not run when the model classifies (an auxiliary head?); choose a layer on the "
        "path to the output",
    ),
}


@pytest.mark.parametrize("name", sorted(TARGET_LAYER_ERRORS))
def test_target_layer_errors_exit_1_with_what_to_choose(tmp_path, name):
    builder, layer, message = TARGET_LAYER_ERRORS[name]
    manifest = tiny_manifest()
    manifest["models"] = [{"name": builder, "weights": "random", "display_name": "Mine", "target_layer": layer}]
    path = make_project(tmp_path, manifest)
    result = invoke("build", "--manifest", path, "--no-site", "--cache-dir", tmp_path / "cache")
    assert result.exit_code == 1
    assert result.output == f"Error: model 'Mine': {message}\n"
    assert not (path.parent / "index.md").exists()


# the manifest: an empty cases list, a link out of the content folder ----------------------------------------------


@pytest.mark.parametrize("command", ["build", "check"])
def test_empty_cases_exit_2(tmp_path, command):
    manifest = tiny_manifest()
    manifest["cases"] = []
    path = make_project(tmp_path, manifest)
    extra = ["--no-site"] if command == "build" else []
    result = invoke(command, "--manifest", path, *extra)
    assert result.exit_code == 2
    assert result.output == f"Error: {path}: 1 problem(s):\n  cases: must list at least 1 item(s)\n"


@pytest.mark.parametrize("command", ["build", "check"])
@pytest.mark.parametrize("linked", ["file", "folder"])
def test_link_out_of_the_content_folder_exit_2(tmp_path, command, linked):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "chelsea.png").write_bytes(CHELSEA.read_bytes())
    path = make_project(tmp_path, tiny_manifest(cases=[{"id": "linked", "image": "images/linked/chelsea.png"}]))
    if linked == "file":
        (path.parent / "images" / "linked").mkdir()
        (path.parent / "images" / "linked" / "chelsea.png").symlink_to(outside / "chelsea.png")
    else:
        (path.parent / "images" / "linked").symlink_to(outside)
    extra = ["--no-site"] if command == "build" else []
    result = invoke(command, "--manifest", path, *extra)
    assert result.exit_code == 2
    assert result.output == (
        f"Error: {path}: 1 problem(s):\n  cases[0].image: 'images/linked/chelsea.png' is a link that points outside "
        f"the content folder ({outside.resolve() / 'chelsea.png'}): copy the file in instead\n"
    )


def test_link_inside_the_content_folder_is_fine(tmp_path):
    path = make_project(tmp_path, tiny_manifest(cases=[{"id": "linked", "image": "images/link.png"}]))
    (path.parent / "images" / "link.png").symlink_to(path.parent / "images" / "chelsea.png")
    result = invoke("check", "--manifest", path, "--cache-dir", tmp_path / "cache")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "1 case(s) checked, 0 with errors."
