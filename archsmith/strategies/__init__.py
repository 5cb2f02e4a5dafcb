"""Ask/tell search strategies, created by name.

Example:
    >>> import numpy as np
    >>> from archsmith.space import create_space
    >>> from archsmith.strategies import create_strategy
    >>> space = create_space("mlp")
    >>> strat = create_strategy("random", space)
    >>> len(strat.ask([], 3, np.random.default_rng(0)))
    3
"""

from __future__ import annotations

from typing import Any

from archsmith._registry import Registry
from archsmith.space import SearchSpace
from archsmith.strategies._base import Strategy, TrialRecord

STRATEGIES: Registry[Strategy] = Registry("strategy")


def create_strategy(name: str, space: SearchSpace, **config: Any) -> Strategy:
    """Creates strategy ``name`` for ``space`` with constructor arguments ``config``.

    A name ``family:variant`` (e.g. ``optuna:tpe``) creates the strategy registered as
    ``family`` with ``variant=...`` (``optuna:tpe`` → ``optuna`` with ``sampler="tpe"``
    — each family documents its variant argument).
    """
    if ":" in name and name not in STRATEGIES:
        family, variant = name.split(":", 1)
        factory = STRATEGIES.get(family)
        key = getattr(factory, "variant_arg", "variant")
        return factory(space=space, **{key: variant}, **config)
    return STRATEGIES.create(name, space=space, **config)


def strategy_names() -> list[str]:
    """Names of the registered strategies."""
    return STRATEGIES.names()


_BUILTINS = ("_random", "_evolution", "_local", "_bananas", "_bo", "_optuna", "_reinforce", "_gc",
             "_nsga2", "_eas", "_n2n")


def _load_builtins() -> None:
    """Imports the built-in strategies (they register themselves); import errors raise."""
    import importlib

    for mod in _BUILTINS:
        importlib.import_module(f"archsmith.strategies.{mod}")


_load_builtins()

__all__ = ["STRATEGIES", "Strategy", "TrialRecord", "create_strategy", "strategy_names"]
