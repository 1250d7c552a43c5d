"""Payload shapes the tests store in the result cache (test-only: the build stores its own dataclasses)."""

from __future__ import annotations

from typing import Any

from numpy.typing import NDArray


def array_payload(array: NDArray[Any] | None) -> dict[str, NDArray[Any] | None]:
    """Payload for one optional array (a case's LIME segments); None stays None."""
    return {"array": array}


def array_from_payload(payload: dict[str, Any]) -> NDArray[Any] | None:
    return payload["array"]
