"""Comparing and quoting the error texts of failed trials (fail-fast, summaries)."""

from __future__ import annotations

import re

__all__ = ["error_kind", "last_error"]


def error_kind(error: str) -> str:
    """An error text with its numbers blanked, so near-identical errors compare equal.

    Example:
        >>> error_kind("shape (3, 4) at epoch 2") == error_kind("shape (5, 4) at epoch 1")
        True
    """
    return re.sub(r"\d+(\.\d+)?", "#", error)


def last_error(errors: list[str | None]) -> str:
    return next((e for e in reversed(errors) if e), "(no error text)")
