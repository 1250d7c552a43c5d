"""The metrics' cache key follows the source of every module that computes them (a change to it recomputes them)."""

import generator.measure as measure_package
from generator.explain.base import enabled_explainers
from generator.manifest.schema import ExplainersSpec, MetricsSpec
from generator.measure import measurer, metrics, road


def test_every_measure_module_the_measurer_runs_is_in_the_metrics_key():
    """measurer.py computes with metrics.py and road.py (the ROAD curves): all three are part of the key."""
    explainers = enabled_explainers(ExplainersSpec(), seed=0)
    code = measurer.Measurer(MetricsSpec(road=True), explainers, seed=0).code_modules()
    used = {module.__name__ for module in vars(measurer).values() if getattr(module, "__package__", None) == measure_package.__name__}
    assert {measurer.__name__, metrics.__name__, road.__name__} <= used | {measurer.__name__}
    assert used | {measurer.__name__} <= set(code)
