"""The model sources, one module each, found here: importing this package registers every one.

A new source is one new module in this folder whose `ModelSource` subclass is decorated with
`generator.run.model_source.register`; nothing else names it. The manifest's `source:` values are this
registry's names (`source_names`, checked when the manifest loads), and `source_of` finds the source of an entry.
"""

from __future__ import annotations

import importlib
import pkgutil

from generator.manifest.schema import ModelSpec, unknown_source
from generator.run.model_source import CLAIMED, SOURCES, ModelSource
from generator.utils.errors import WeightsError

DEFAULT_SOURCE: str = ModelSpec.model_fields["source"].default  # what an entry without `source:` means


def import_sources() -> None:
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        importlib.import_module(f"{__name__}.{module}")


import_sources()


def source_names() -> tuple[str, ...]:
    """Every `source:` a manifest may name: the default first, then by name."""
    return tuple(sorted(SOURCES, key=lambda name: (name != DEFAULT_SOURCE, name)))


def source_of(spec: ModelSpec) -> ModelSource:
    """The source that builds an entry; a `name:` of the default source may belong to another (its `claims`)."""
    try:
        source = SOURCES[spec.source]
    except KeyError:
        raise WeightsError(f"model '{spec.label}': {unknown_source(spec.source, source_names())}") from None
    return CLAIMED.get(spec.name, source) if spec.source == DEFAULT_SOURCE else source
