"""What the conformance suites share: running checks, storing state as a search does."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["round_trip", "run_checks"]


def round_trip(state: dict[str, Any]) -> dict[str, Any]:
    """``state`` stored and read back as the search's storage does it (``torch.save``,
    then ``torch.load(weights_only=True)``)."""
    import torch

    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    return dict(torch.load(buf, weights_only=True))


def run_checks(kind: str, checks: Iterable[tuple[str, Callable[[], None]]]) -> None:
    """Runs ``checks``; raises ``AssertionError`` naming the first that fails."""
    for name, check in checks:
        try:
            check()
        except AssertionError as e:
            raise AssertionError(f"{kind} check {name} failed: {e}") from e
