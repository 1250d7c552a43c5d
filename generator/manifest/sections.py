"""Manifest sections that a family of plugins assembles: each explanation method and each measure brings its own
settings.

A section family is a pydantic model with no fields of its own (`ExplainersSpec` in schema.py); every member
declares one field of it (its manifest key, its settings model, the description the JSON Schema and the manifest
reference show) when its module is imported, and the family's model and every model that holds it are rebuilt.
A field family (`MetricsSpec`) is a flat section: it holds the fields its members share, and every member adds its
own fields (those of its settings model, each at its place among the section's keys: the JSON Schema's and the
manifest reference's order). The schema then names no member, and the JSON Schema, the `extra="forbid"` check
and the defaults cover every member alike.

The members live in later stages than the schema (`generator.explain`, `generator.measure`), which may not be
imported from here;
`load` imports a family's package by name, as a plugin host loads its plugins, so that a manifest read
before anything else imported the methods still sees every one of them. The loader and the JSON Schema export call
it; other code that reads the schema's fields without either (a test walking `Manifest.model_fields`) calls it too.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel
from pydantic.fields import FieldInfo


@dataclass
class Family:
    """A manifest key whose model its members' modules complete on import, and the models that hold it."""

    key: str  # the manifest key the family's model sits under
    model: type[BaseModel]  # the family's model, completed by the members
    package: str  # the package whose import declares every member (generator.explain, generator.measure)
    holders: list[type[BaseModel]] = field(default_factory=list)  # models with a field of `model`: rebuilt too

    def rebuild(self) -> None:
        """Rebuild the model, then its holders; a holder's default instance of it becomes one with every field."""
        self.model.model_rebuild(force=True)
        for holder in self.holders:
            for info in holder.model_fields.values():
                if isinstance(info.default, self.model):
                    info.default = self.model()
            holder.model_rebuild(force=True)

    def load(self) -> None:
        """Import the family's package, whose modules declare their sections on import (once per process)."""
        importlib.import_module(self.package)


@dataclass
class SectionFamily(Family):
    """The members' sections of one manifest key (`explainers`): one field per member, its settings model."""

    def declare(self, name: str, settings: type[BaseModel], description: str) -> None:
        """Add (or replace) the member's field: its settings with their defaults, and the description."""
        self.model.model_fields[name] = FieldInfo(annotation=settings, default_factory=settings, description=description)
        self.rebuild()

    def withdraw(self, name: str) -> None:
        """Remove a member's field (a test's toy method, once the test is done)."""
        if self.model.model_fields.pop(name, None) is not None:
            self.rebuild()

    def reorder(self, names: list[str]) -> None:
        """Put the members' fields in this order (the pages' order), any other field after them."""
        fields = self.model.model_fields
        ordered = {name: fields[name] for name in names if name in fields}
        ordered.update((name, info) for name, info in fields.items() if name not in ordered)
        fields.clear()
        fields.update(ordered)
        self.rebuild()


@dataclass
class FieldFamily(Family):
    """A flat manifest section (`metrics`): the fields its members share, and each member's own fields."""

    places: dict[str, float] = field(default_factory=dict)  # field name -> its place among the keys (shared too)

    def declare(self, settings: type[BaseModel], places: Mapping[str, float]) -> None:
        """Add (or replace) a member's fields, those of its settings model, each at its place (none: after all)."""
        fields = self.model.model_fields
        for name, info in settings.model_fields.items():
            fields[name] = info
            self.places[name] = places.get(name, math.inf)
        ordered = sorted(fields, key=lambda name: self.places.get(name, math.inf))  # stable: ties keep their order
        reordered = {name: fields[name] for name in ordered}
        fields.clear()
        fields.update(reordered)
        self.rebuild()

    def withdraw(self, settings: type[BaseModel]) -> None:
        """Remove a member's fields (a test's toy measure, once the test is done)."""
        for name in settings.model_fields:
            self.model.model_fields.pop(name, None)
            self.places.pop(name, None)
        self.rebuild()


MODEL_SOURCE_PACKAGE = "generator.run.sources"  # imports every source module; its source_names() lists them


def model_source_names() -> tuple[str, ...]:
    """The registered model sources' names (`source:` values), from their package imported by name as above."""
    names: list[str] = importlib.import_module(MODEL_SOURCE_PACKAGE).source_names()
    return tuple(names)
