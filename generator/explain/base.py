"""The explainer interface and registry."""

from dataclasses import dataclass, field

import numpy as np

from generator.images import PreparedImage

EXPLAINERS = {}


def register(cls):
    EXPLAINERS[cls.name] = cls
    return cls


@dataclass
class CaseInputs:
    """What every model's explainers share for one case: the prepared image and its superpixels."""

    case_id: str
    image: PreparedImage
    segments: np.ndarray | None = None  # HxW int, computed once per case (LIME)
    extras: dict = field(default_factory=dict)


class Explainer:
    """Explain one prepared image for one model and a set of target classes.

    Subclasses set `name` (the manifest key) and `title`, and implement `explain`, which returns
    one result per target, in the order given. Targets come as a tuple because some methods
    (LIME) answer every target from one shared set of forward passes.
    """

    name = ""
    title = ""

    def __init__(self, settings, seed=0, precision="fp32", device="cpu"):
        self.settings = settings
        self.seed = seed
        self.precision = precision
        self.device = device

    def prepare_case(self, inputs):
        """Compute what all models share for this case (called once per case)."""

    def explain(self, model, inputs, targets):
        raise NotImplementedError


def method_title(name):
    """The title of an explainer (Grad-CAM, LIME) or of another map a page shows (the random baseline)."""
    return EXPLAINERS[name].title if name in EXPLAINERS else name


def enabled_explainers(explainers_spec, seed, precision="fp32", device="cpu"):
    return [
        cls(getattr(explainers_spec, name), seed=seed, precision=precision, device=device)
        for name, cls in EXPLAINERS.items()
        if getattr(explainers_spec, name).enabled
    ]
