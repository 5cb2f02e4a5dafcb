"""Critics: performance predictors over architectures, created by name.

Every predictor has ``fit(archs, scores)`` and ``predict(archs) -> (mean, variance)``.
"""

from __future__ import annotations

import importlib
from typing import Any

from archsmith._registry import Registry
from archsmith.critic._base import Predictor
from archsmith.space import SearchSpace

CRITICS: Registry[Predictor] = Registry("critic")

_BUILTINS = ("_gnn", "_mlp_ensemble", "_gp")


def create_critic(name: str, space: SearchSpace, **config: Any) -> Predictor:
    """Creates critic ``name`` for ``space`` with constructor arguments ``config``."""
    _load_builtins()
    return CRITICS.create(name, space=space, **config)


def critic_names() -> list[str]:
    """Names of the registered critics."""
    _load_builtins()
    return CRITICS.names()


def _load_builtins() -> None:
    for mod in _BUILTINS:
        try:
            importlib.import_module(f"archsmith.critic.{mod}")
        except ModuleNotFoundError as e:  # not written yet / optional extra missing
            if e.name != f"archsmith.critic.{mod}":
                raise


__all__ = ["CRITICS", "Predictor", "create_critic", "critic_names"]
