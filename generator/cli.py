"""The command line: the only place that prints and picks exit codes (see generator/utils/errors.py)."""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from generator.utils.errors import EXIT_BUILD_FAILED, EXIT_INTERRUPTED, ReportError
from generator.utils.version import __version__

if TYPE_CHECKING:
    from generator.build import BuildSummary

log = logging.getLogger("generator")
T = TypeVar("T")
NOISY_LOGGERS = ("mkdocs", "matplotlib", "PIL", "material")  # libraries that log at INFO: quietened unless -v


def configure_logging(verbose: bool, quiet: bool) -> None:
    level = logging.DEBUG if verbose else logging.ERROR if quiet else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s", stream=sys.stderr, force=True)
    if not verbose:
        for noisy in NOISY_LOGGERS:
            logging.getLogger(noisy).setLevel(logging.WARNING if not quiet else logging.ERROR)


def raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt


def run_reporting_errors(verbose: bool, action: Callable[[], T]) -> T:
    """Run `action`; turn ReportError into one message and its exit code, tracebacks only with -v.

    SIGTERM is handled like Ctrl-C: the build stops where it is; every file written so far was written
    atomically, the site is only swapped in at the end, so the previous site stays intact.
    """
    previous = signal.signal(signal.SIGTERM, raise_keyboard_interrupt)
    try:
        return action()
    except ReportError as error:
        if verbose:
            raise
        click.echo(f"Error: {error}", err=True)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted: the previous site and every discussion file are intact.", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as error:  # an unexpected failure still gets one line without -v
        if verbose:
            raise
        click.echo(f"Error: unexpected {type(error).__name__}: {error} (run with -v for the traceback)", err=True)
        sys.exit(EXIT_BUILD_FAILED)
    finally:  # the caller's handler back (a library caller, or a test runner calling the command in-process)
        signal.signal(signal.SIGTERM, previous)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="xai-report")
def main() -> None:
    """xai-report: build a static site that explains what image classifiers look at.

    Exit codes: 0 success, 1 build failure, 2 bad manifest or usage, 130 interrupted.
    """


manifest_option = click.option(
    "--manifest",
    type=click.Path(path_type=Path),
    default=None,
    help="The report's manifest; its folder is the MkDocs docs_dir. Default: manifest.yaml here (or, in the "
    "repository, content/manifest.yaml).",
)

config_option = click.option(
    "--config",
    type=click.Path(path_type=Path),
    default=None,
    help="MkDocs settings merged over the tool's. Default: mkdocs.yml in the report folder, where there is one.",
)
precision_option = click.option(
    "--precision",
    type=click.Choice(["fp32", "bf16"]),
    default="fp32",
    show_default=True,
    help="Inference precision for LIME's perturbed images and the metrics.",
)
cache_dir_option = click.option(
    "--cache-dir",
    type=click.Path(path_type=Path),
    default=None,
    envvar="XAI_REPORT_CACHE_DIR",
    help="Where computed results are kept between builds (or $XAI_REPORT_CACHE_DIR). Default: .cache/results in "
    "the report folder.",
)
verbose_option = click.option("-v", "--verbose", is_flag=True, help="Debug logging and full tracebacks.")


@main.command()
@manifest_option
@config_option
@click.option(
    "--site-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where the HTML goes. Default: site/ in the report folder.",
)
@click.option("--only", multiple=True, metavar="CASE_ID", help="Build only this case (repeatable).")
@click.option("--no-site", is_flag=True, help="Write the Markdown pages and figures, skip the MkDocs build.")
@click.option("--pdf", is_flag=True, help="Also print the whole report to SITE_DIR/report.pdf (needs Chromium).")
@click.option(
    "--keep-going", is_flag=True, help="Build the other cases when one fails; list failures at the end (exit 1)."
)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), default="cpu", show_default=True)
@precision_option
@click.option("--force", is_flag=True, help="Recompute everything, ignoring the result cache.")
@cache_dir_option
@click.option(
    "--shard",
    callback=lambda ctx, param, value: parse_shard(value),
    metavar="K/N",
    help="Compute only the K-th of N parts of the cases into the cache; render nothing. A final build over the "
    "merged caches renders the whole site.",
)
@click.option(
    "--executor",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="Where the cases are computed: here, or on Ray workers (pip install 'xai-report[ray]'; RAY_ADDRESS).",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=0),
    default=None,
    help="Processes drawing figures (default: one per core beyond the first for 8 cases or more; 0: none).",
)
@verbose_option
@click.option("-q", "--quiet", is_flag=True, help="Errors only, no progress bars.")
def build(
    manifest: Path | None,
    config: Path | None,
    site_dir: Path | None,
    only: tuple[str, ...],
    no_site: bool,
    pdf: bool,
    keep_going: bool,
    device: str,
    precision: str,
    force: bool,
    cache_dir: Path | None,
    shard: tuple[int, int] | None,  # parsed by parse_shard
    executor: str,
    jobs: int | None,
    verbose: bool,
    quiet: bool,
) -> None:
    """Run every model and explainer on every case and build the site.

    Run it in a report folder (its manifest.yaml), or name the manifest with --manifest.
    """
    from generator.api import report_options
    from generator.build import build_report

    configure_logging(verbose, quiet)
    options = run_reporting_errors(
        verbose,
        lambda: report_options(
            manifest,
            config=config,
            site_dir=site_dir,
            cache_dir=cache_dir,
            only=only,
            site=not no_site,
            keep_going=keep_going,
            device=device,
            precision=precision,
            show_progress=not quiet,
            force=force,
            pdf=pdf,
            shard=shard,
            executor=executor,
            figure_workers=jobs,
        ),
    )
    summary = run_reporting_errors(verbose, lambda: build_report(options))
    if shard and not quiet:
        click.echo(
            f"Shard {shard[0]}/{shard[1]}: {summary.cases} case(s) computed into {options.cache_dir} in "
            f"{summary.seconds:.1f} s; nothing rendered (merge the caches, then build)",
            err=True,
        )
    elif not quiet:
        where = f" -> {options.site_dir}/" if not no_site else ""
        looked_up = summary.cache_hits + summary.cache_misses
        cached = f"; {summary.cache_hits} of {looked_up} results from the cache" if looked_up else ""
        click.echo(
            f"Built {summary.cases} case(s) in {summary.seconds:.1f} s{only_details(summary)}{cached}{where}", err=True
        )
        if summary.pdf:
            click.echo(f"The whole report as one PDF: {summary.pdf}", err=True)
        if verbose and summary.phases:
            click.echo(f"Time per phase: {phase_line(summary.phases)}", err=True)
    if summary.failures:
        click.echo(f"{len(summary.failures)} case(s) failed:", err=True)
        for failure in summary.failures:
            click.echo(f"  {failure.message}", err=True)
        sys.exit(EXIT_BUILD_FAILED)


def parse_shard(value: str | None) -> tuple[int, int] | None:
    """ "K/N" -> (K, N) with 1 <= K <= N; None stays None."""
    if value is None:
        return None
    k, slash, n = value.partition("/")
    if not (slash and k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
        raise click.BadParameter(f"{value!r}: expected K/N with 1 <= K <= N, e.g. --shard 2/4")
    return int(k), int(n)


def phase_line(phases: Mapping[str, float]) -> str:
    return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in phases.items())


def only_details(summary: BuildSummary) -> str:
    """For a build with --only: which cases were rebuilt, which read from the cache, which kept as they were."""
    if not (summary.from_cache or summary.kept):
        return ""
    parts = [f"rebuilt: {', '.join(summary.rebuilt) or 'none'}"]
    if summary.from_cache:
        parts.append(f"from the cache: {', '.join(summary.from_cache)}")
    if summary.kept:
        parts.append(f"pages kept as they were: {', '.join(summary.kept)}")
    return f" ({'; '.join(parts)})"


@main.command()
@manifest_option
@cache_dir_option
@click.option("--force", is_flag=True, help="Report what a --force build would recompute.")
@precision_option
@verbose_option
def check(manifest: Path | None, cache_dir: Path | None, force: bool, precision: str, verbose: bool) -> None:
    """Validate the manifest, weights and images without running any model; say what a build would compute."""
    from generator.api import report_options
    from generator.check import check_project
    from generator.run.devices import check_device

    configure_logging(verbose, False)
    options = run_reporting_errors(
        verbose, lambda: report_options(manifest, cache_dir=cache_dir, force=force, precision=precision)
    )
    report = run_reporting_errors(verbose, lambda: check_project(check_device(options)))  # bf16 as a build would
    for case in report.cases:
        if case.error:
            click.echo(f"{case.case_id}: ERROR {case.error}")
        elif case.to_compute:
            click.echo(f"{case.case_id}: would compute {', '.join(case.to_compute)}")
        else:
            click.echo(f"{case.case_id}: up to date (every result is in the cache)")
    click.echo(f"{len(report.cases)} case(s) checked, {len(report.failed)} with errors.")
    if report.failed:
        sys.exit(EXIT_BUILD_FAILED)


@main.command()
def schema() -> None:
    """Print the manifest's JSON Schema (for editor completion and validation)."""
    from generator.manifest.loader import manifest_json_schema

    click.echo(manifest_json_schema())


@main.command()
@manifest_option
@config_option
@click.option("--dev-addr", default="127.0.0.1:8000", show_default=True)
@verbose_option
def serve(manifest: Path | None, config: Path | None, dev_addr: str, verbose: bool) -> None:
    """Preview the report with live reload (MkDocs' server on the manifest's folder, the tool's configuration)."""
    from mkdocs.commands.serve import serve as mkdocs_serve

    from generator.api import report_options
    from generator.manifest.loader import load_manifest
    from generator.publish.mkdocs_config import site_config

    configure_logging(verbose, False)

    def settings() -> dict[str, Any]:
        options = report_options(manifest, config=config)
        title = load_manifest(options.manifest).title
        return site_config(options.manifest.parent, options.config, title, options.site_dir).serve_arguments()

    arguments = run_reporting_errors(verbose, settings)
    mkdocs_serve(**arguments, dev_addr=dev_addr)


@main.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.option(
    "--example", metavar="NAME", help="Start from an example instead of the sample report: offline (no download)."
)
@click.option("--force", is_flag=True, help="Write into a non-empty folder, keeping every existing file.")
@verbose_option
def new(folder: Path, example: str | None, force: bool, verbose: bool) -> None:
    """Write a new report folder: manifest, photos, README, .gitignore and a GitHub Pages workflow.

    Exit codes: 0 written, 2 the folder is not empty (without --force) or no such example.
    """
    import shlex

    from generator.publish.scaffold import create_report_folder

    result = run_reporting_errors(verbose, lambda: create_report_folder(folder, example, force))
    click.echo(f"Report folder {folder}:")
    for path in result.written:
        click.echo(f"  wrote {path}")
    for path in result.kept:
        click.echo(f"  kept {path} (it exists; not overwritten)")
    click.echo("Next steps:")
    click.echo(f'  pip install "{result.requirement}"  # unless it is installed')
    click.echo(f"  cd {shlex.quote(str(folder))} && xai-report build  # then open site/index.html")
    click.echo("  xai-report serve  # a live preview; to publish on GitHub Pages, see README.md")
