"""The metrics' cache key follows the source of every module that computes them (a change to it recomputes them)."""

from generator.explain.base import enabled_explainers
from generator.manifest.schema import ExplainersSpec, MetricsSpec
from generator.measure import base, measurer, metrics


def test_every_measure_module_the_measurer_runs_is_in_the_metrics_key():
    """The measurer, the shared curve code and every measure that runs and is cached (ROAD once was left out: stale
    ROAD numbers)."""
    explainers = enabled_explainers(ExplainersSpec(), seed=0)
    running = measurer.Measurer(MetricsSpec(road=True), explainers, seed=0)
    code = set(running.code_modules())
    measure_modules = {type(measure).__module__ for measure in running.measures if not measure.reads_regions}
    assert "generator.measure.road" in measure_modules
    assert {measurer.__name__, base.__name__, metrics.__name__} | measure_modules <= code
    # the region measures are computed on every build, never cached: their source is no part of the key
    readers = {type(measure).__module__ for measure in running.measures if measure.reads_regions}
    assert readers and not readers & code
