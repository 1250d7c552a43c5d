"""Stage 3, the explanations: one interface (base.py), one module per method, a registry by manifest name.

Every module of this package is imported here, so a new method is one new module: its `@register`ed
class joins the registry (Grad-CAM, LIME and the CAM family first, then in the order of the file names) and every page,
figure and measurement picks it up.
"""

import importlib
import pkgutil

from generator.explain.base import EXPLAINERS, CaseInputs, Explainer, enabled_explainers, method_title

# the reference recipe's methods lead every page, then the CAM family (cheapest first), then the rest by name
FIRST = ("gradcam", "lime", "gradcam_plus_plus", "hirescam", "layercam", "xgradcam", "eigencam", "scorecam", "ablationcam")


def import_methods() -> None:
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name != "base")
    for name in sorted(names, key=lambda n: (n not in FIRST, FIRST.index(n) if n in FIRST else 0, n)):
        importlib.import_module(f"{__name__}.{name}")


import_methods()

from generator.explain.gradcam import GradCam, GradCamResult  # noqa: E402
from generator.explain.lime import Lime, LimeResult, segment_image  # noqa: E402

__all__ = [
    "EXPLAINERS",
    "CaseInputs",
    "Explainer",
    "GradCam",
    "GradCamResult",
    "Lime",
    "LimeResult",
    "enabled_explainers",
    "method_title",
    "segment_image",
]
