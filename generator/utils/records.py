"""The registry of result records: every dataclass a cache entry may hold registers itself here by name.

It sits at the bottom of the package so that a record can be declared in the module that computes it (an
explainer's result in its own module, a measure's in its own) and the cache, which imports only this module,
reads it back by name.
"""

from __future__ import annotations

from typing import TypeVar

Registered = TypeVar("Registered", bound=type)
RESULT_TYPES: dict[str, type] = {}  # class name -> dataclass, for reading cache entries back


def result_type(cls: Registered) -> Registered:
    """Register a dataclass that results are made of (the cache stores it by its name and fields)."""
    RESULT_TYPES[cls.__name__] = cls
    return cls
