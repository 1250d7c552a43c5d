"""Stage 4, the measurements: one interface (base.py), one module per measure, a registry by name.

Every module of this package that registers a measure is imported here, so a new measure is one new module:
its `@register`ed class joins the registry (the report's own measures first, in the pages' order, then the
others by file name) and the tables, the overview, the observations and the methods page pick it up.
"""

import importlib
import pkgutil

from generator.measure.base import MEASURES, RANDOM_MAP, Measure, TargetMetrics


def import_measures() -> None:
    """Import every module, then order the registry as the pages list the measures (`Measure.order`, then name)."""
    for name in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        importlib.import_module(f"{__name__}.{name}")
    ordered = sorted(MEASURES.items(), key=lambda item: (item[1].order, item[0]))
    MEASURES.clear()
    MEASURES.update(ordered)


import_measures()

__all__ = ["MEASURES", "RANDOM_MAP", "Measure", "TargetMetrics"]
