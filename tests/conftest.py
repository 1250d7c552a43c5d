"""Session fixtures shared by several test modules, the Hypothesis profiles, and CI's rule on skips.

Registered here once: a session fixture imported into two modules would be two fixtures, built twice
(the offline example's site) or started twice (Playwright refuses a second sync instance in one process).
A fixture only runs when a test asks for it, so modules that need no browser pay nothing.

Hypothesis: under CI=true the "ci" profile (20 examples per property test) and seed 0, so that every CI
run draws the same examples; elsewhere the "dev" profile (6 examples) and a fresh seed. The seed is
printed at the end of the run; `--hypothesis-seed=N` or XAI_REPORT_HYPOTHESIS_SEED=N replays it, and
XAI_REPORT_HYPOTHESIS_EXAMPLES=N draws N examples in either profile.

Skips: under CI=true a skip whose reason tests/allowed_skips.txt does not list makes the run fail.
"""

import os
import random
import re
from pathlib import Path

import pytest
from browser_site import browser, built_site, served_site  # noqa: F401
from hypothesis import HealthCheck, settings

from tests.requires import IN_CI

ALLOWED_SKIPS = Path(__file__).with_name("allowed_skips.txt")
EXAMPLES_ENV = "XAI_REPORT_HYPOTHESIS_EXAMPLES"
SEED_ENV = "XAI_REPORT_HYPOTHESIS_SEED"
CI_SEED = 0


def register_hypothesis_profiles():
    """No example database in either profile: a failure is replayed from the printed seed, then kept as @example."""
    common = {"database": None, "deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
    examples = os.environ.get(EXAMPLES_ENV)
    settings.register_profile("ci", max_examples=int(examples or 20), print_blob=True, **common)
    settings.register_profile("dev", max_examples=int(examples or 6), **common)
    settings.load_profile("ci" if IN_CI else "dev")


register_hypothesis_profiles()


def share_the_cores():
    """Under xdist each worker takes its share of the cores for torch (and the builds it starts as processes).

    Two workers of two torch threads each on two cores run a ResNet18 three times slower than two of one thread
    each (bench/bench_threads_per_worker.py); a test that pins its own count (the golden build) keeps it."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        import torch

        threads = max(1, (os.cpu_count() or 1) // workers)
        torch.set_num_threads(threads)
        os.environ["OMP_NUM_THREADS"] = str(threads)


share_the_cores()


SKIPS = []  # (node id, reason) of every skipped test and module of this run
PROPERTY_TESTS = []  # the node ids of the Hypothesis tests collected


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    """One seed for every Hypothesis test of the run, handed to Hypothesis' own --hypothesis-seed."""
    if config.getoption("hypothesis_seed", None) is None:
        chosen = os.environ.get(SEED_ENV) or (CI_SEED if IN_CI else random.SystemRandom().randrange(2**32))
        config.option.hypothesis_seed = str(chosen)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    PROPERTY_TESTS.extend(item.nodeid for item in items if item.get_closest_marker("hypothesis"))
    # Every test that reads the built offline example runs in one process (pyproject's `--dist loadgroup`), so
    # that it is built once per run, not once per worker, while the other worker runs the rest.
    for item in items:
        if "built_site" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("built_site"))


def allowed_skip_patterns():
    lines = ALLOWED_SKIPS.read_text(encoding="utf-8").splitlines()
    return [re.compile(line.strip()) for line in lines if line.strip() and not line.lstrip().startswith("#")]


def record_skip(report):
    """Keep the reason of a skipped test or module ("Skipped: " dropped); an xfail is no skip."""
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        SKIPS.append((report.nodeid, reason.removeprefix("Skipped: ")))


def pytest_runtest_logreport(report):
    record_skip(report)


def pytest_collectreport(report):
    record_skip(report)


def unlisted_skips():
    patterns = allowed_skip_patterns()
    return [(nodeid, reason) for nodeid, reason in SKIPS if not any(p.search(reason) for p in patterns)]


def pytest_sessionfinish(session, exitstatus):
    """Under CI=true an unlisted skip fails a run that would otherwise pass (any other exit status stands)."""
    if IN_CI and exitstatus == pytest.ExitCode.OK and unlisted_skips():
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, config):
    if PROPERTY_TESTS:
        seed = config.getoption("hypothesis_seed")
        terminalreporter.write_line(
            f"hypothesis: profile {settings.get_current_profile_name()!r}, {settings.default.max_examples} examples "
            f"per property test, seed {seed} (replay: {SEED_ENV}={seed}; more examples: {EXAMPLES_ENV}=N)"
        )
    unlisted = unlisted_skips()
    if IN_CI and unlisted:
        terminalreporter.write_sep("=", f"CI=true: {len(unlisted)} skip(s) that {ALLOWED_SKIPS.name} does not allow")
        for nodeid, reason in unlisted:
            terminalreporter.write_line(f"{nodeid}: {reason}")
