"""Stage 3, the explanations: one interface (base.py), one module per method, a registry by manifest name.

Every module of this package is imported here, so a new method is one new module: its `@register`ed class
joins the registry and its settings the manifest's schema, in the order its `order` gives (the reference
recipe's Grad-CAM and LIME first), and every page, figure and measurement picks it up. A method that reuses
another's results (`reuses`) runs after it; the registry checks that it can.
"""

import importlib
import pkgutil

from generator.explain.base import EXPLAINERS, CaseInputs, Explainer, enabled_explainers, method_title
from generator.manifest.schema import EXPLAINER_SECTIONS
from generator.utils.errors import ReportError


class RegistryError(ReportError):
    """A method declares something the registry cannot honour (it reuses a method that is not there, or one
    that does not run before it)."""


def import_methods() -> None:
    for name in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name != "base"):
        importlib.import_module(f"{__name__}.{name}")
    ordered = sorted(EXPLAINERS.values(), key=lambda cls: (cls.order, cls.name))
    EXPLAINERS.clear()
    EXPLAINERS.update((cls.name, cls) for cls in ordered)
    EXPLAINER_SECTIONS.reorder(list(EXPLAINERS))
    check_reuses()


def check_reuses() -> None:
    """Each method a method reuses is registered and runs before it (the case walk follows EXPLAINERS' order)."""
    names = list(EXPLAINERS)
    for name, cls in EXPLAINERS.items():
        for needed in cls.reuses:
            if needed not in EXPLAINERS:
                raise RegistryError(f"explainer '{name}' reuses '{needed}', which is not a registered method")
            if names.index(needed) > names.index(name):
                raise RegistryError(
                    f"explainer '{name}' reuses '{needed}', which runs after it: give '{name}' a larger `order` "
                    f"than {EXPLAINERS[needed].order}"
                )


import_methods()

__all__ = [
    "EXPLAINERS",
    "CaseInputs",
    "Explainer",
    "RegistryError",
    "check_reuses",
    "enabled_explainers",
    "method_title",
]
