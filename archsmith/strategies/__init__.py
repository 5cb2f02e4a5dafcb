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
    """Creates strategy ``name`` for ``space`` with constructor arguments ``config``."""
    _load_builtins()
    return STRATEGIES.create(name, space=space, **config)


def strategy_names() -> list[str]:
    """Names of the registered strategies."""
    _load_builtins()
    return STRATEGIES.names()


def _load_builtins() -> None:
    from archsmith.strategies import _evolution, _random  # noqa: F401


__all__ = ["STRATEGIES", "Strategy", "TrialRecord", "create_strategy", "strategy_names"]
