"""Argument checks shared by the strategies' constructors: each names the strategy,
the field and the value it got, and raises :class:`~archsmith.errors.ConfigError`."""

from __future__ import annotations

from typing import Any

from archsmith.errors import ConfigError

__all__ = ["check_integers", "check_number", "check_numbers"]


def check_integers(strategy: str, values: dict[str, tuple[Any, int]]) -> None:
    """Checks that each ``field: (value, low)`` is an integer (not a bool) ≥ ``low``.

    Example:
        >>> check_integers("gc", {"num_init": (10, 1)})
        >>> check_integers("gc", {"num_init": (0, 1)})
        Traceback (most recent call last):
        ...
        archsmith.errors.ConfigError: gc: num_init must be an integer ≥ 1, got 0.
    """
    for field, (value, low) in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(f"{strategy}: {field} must be an integer ≥ {low}, got {value!r}.")


def check_numbers(strategy: str, values: dict[str, Any], positive: tuple[str, ...] = ()) -> None:
    """Checks that each value is a non-negative number (a positive one for the fields
    named in ``positive``).

    Example:
        >>> check_numbers("gc", {"lr": 0.02, "beta": 0}, positive=("lr",))
        >>> check_numbers("gc", {"lr": 0}, positive=("lr",))
        Traceback (most recent call last):
        ...
        archsmith.errors.ConfigError: gc: lr must be a positive number, got 0.
    """
    for field, v in values.items():
        strict = field in positive
        if isinstance(v, bool) or not isinstance(v, int | float) or v < 0 or (strict and v == 0):
            kind = "positive" if strict else "non-negative"
            raise ConfigError(f"{strategy}: {field} must be a {kind} number, got {v!r}.")


def check_number(strategy: str, field: str, value: Any, low: float, high: float) -> float:
    """Checks that ``value`` is a number from ``low`` to ``high`` and returns it as a float.

    Example:
        >>> check_number("gc", "cost_exponent", 1, 0, 10)
        1.0
        >>> check_number("gc", "cost_exponent", -1, 0, 10)
        Traceback (most recent call last):
        ...
        archsmith.errors.ConfigError: gc: cost_exponent must be a number from 0 to 10, got -1.
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ConfigError(f"{strategy}: {field} must be a number from {low:g} to {high:g}, "
                          f"got {value!r}.")
    return float(value)
