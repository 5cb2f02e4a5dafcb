"""Argument checks shared by the plug-ins' constructors (strategies, critics,
schedulers): each names its owner (e.g. ``"gc"``, ``"gnn critic"``), the field and the
value it got, and raises :class:`~archsmith.errors.ConfigError` (not a ``TypeError`` from
deep inside)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from archsmith.errors import ConfigError

__all__ = ["check_controller", "check_flags", "check_integers", "check_name", "check_number",
           "check_numbers", "check_seed", "check_table"]


def check_integers(owner: str, values: dict[str, tuple[Any, int]]) -> None:
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
            raise ConfigError(f"{owner}: {field} must be an integer ≥ {low}, got {value!r}.")


def check_numbers(owner: str, values: dict[str, Any], positive: tuple[str, ...] = (),
                  optional: tuple[str, ...] = ()) -> None:
    """Checks that each value is a finite non-negative number (a positive one for the
    fields named in ``positive``; ``None`` too for those named in ``optional``).

    Example:
        >>> check_numbers("gc", {"lr": 0.02, "beta": 0, "tanh_c": None}, positive=("lr",),
        ...               optional=("tanh_c",))
        >>> check_numbers("gc", {"lr": 0}, positive=("lr",))
        Traceback (most recent call last):
        ...
        archsmith.errors.ConfigError: gc: lr must be a positive number, got 0.
    """
    for field, v in values.items():
        if v is None and field in optional:
            continue
        strict = field in positive
        if (isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v)
                or v < 0 or (strict and v == 0)):
            kind = "positive" if strict else "non-negative"
            none = " or None" if field in optional else ""
            raise ConfigError(f"{owner}: {field} must be a {kind} number{none}, got {v!r}.")


def check_number(owner: str, field: str, value: Any, low: float, high: float) -> float:
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
        raise ConfigError(f"{owner}: {field} must be a number from {low:g} to {high:g}, "
                          f"got {value!r}.")
    return float(value)


def check_flags(owner: str, values: dict[str, Any]) -> None:
    """Checks that each value is ``True`` or ``False``.

    Example:
        >>> check_flags("random", {"avoid_seen": True})
        >>> check_flags("random", {"avoid_seen": "no"})
        Traceback (most recent call last):
        ...
        archsmith.errors.ConfigError: random: avoid_seen must be true or false, got 'no'.
    """
    for field, v in values.items():
        if not isinstance(v, bool):
            raise ConfigError(f"{owner}: {field} must be true or false, got {v!r}.")


def check_table(owner: str, field: str, value: Any) -> dict[str, Any]:
    """Checks that ``value`` is ``None`` or a table (a mapping with string keys) and
    returns a copy of it (``{}`` for ``None``).

    Example:
        >>> check_table("bo", "critic_config", None)
        {}
        >>> check_table("bo", "options", 1)
        Traceback (most recent call last):
        ...
        archsmith.errors.ConfigError: bo: options must be a table (dict) of settings, got 1.
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ConfigError(f"{owner}: {field} must be a table (dict) of settings, "
                          f"got {value!r}.")
    return dict(value)


def check_seed(owner: str, seed: Any) -> int | None:
    """Checks that ``seed`` is an integer or ``None`` and returns it.

    Example:
        >>> check_seed("eas", 3)
        3
        >>> check_seed("eas", "3")
        Traceback (most recent call last):
        ...
        archsmith.errors.ConfigError: eas: seed must be an integer or None, got '3'.
    """
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ConfigError(f"{owner}: seed must be an integer or None, got {seed!r}.")
    return seed  # type: ignore[no-any-return]


def check_name(owner: str, field: str, value: Any) -> str:
    """Checks that ``value`` is a name (a string) before it is looked up, so a number or
    a list gets this message rather than an "unhashable" or "not found" one.

    Example:
        >>> check_name("optuna", "sampler", "tpe")
        'tpe'
        >>> check_name("optuna", "sampler", ["tpe"])
        Traceback (most recent call last):
        ...
        archsmith.errors.ConfigError: optuna: sampler must be a name (a string), got ['tpe'].
    """
    if not isinstance(value, str):
        raise ConfigError(f"{owner}: {field} must be a name (a string), got {value!r}.")
    return value


def check_controller(owner: str, *, hidden: Any, lr: Any, baseline_decay: Any,
                     max_tries: Any, seed: Any, entropy_coef: Any = 0.0) -> None:
    """Checks the arguments the policy-gradient strategies (``reinforce``, ``eas``,
    ``n2n``) share: the controller's size, step size, baseline and retries.

    Example:
        >>> check_controller("eas", hidden=32, lr=0.01, baseline_decay=0.8, max_tries=8,
        ...                  seed=None)
        >>> check_controller("eas", hidden=32, lr=0.01, baseline_decay=1, max_tries=8,
        ...                  seed=None)
        Traceback (most recent call last):
        ...
        archsmith.errors.ConfigError: eas: baseline_decay must be from 0 to below 1, got 1.
    """
    check_integers(owner, {"hidden": (hidden, 1), "max_tries": (max_tries, 1)})
    check_numbers(owner, {"lr": lr, "entropy_coef": entropy_coef}, positive=("lr",))
    if check_number(owner, "baseline_decay", baseline_decay, 0, 1) == 1:
        # at 1 the moving baseline never moves from the first reward
        raise ConfigError(f"{owner}: baseline_decay must be from 0 to below 1, "
                          f"got {baseline_decay!r}.")
    check_seed(owner, seed)
