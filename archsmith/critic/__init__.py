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
    return CRITICS.create(name, space=space, **config)


def critic_names() -> list[str]:
    """Names of the registered critics."""
    return CRITICS.names()


def _load_builtins() -> None:
    """Imports the built-in critics (they register themselves); import errors raise."""
    for mod in _BUILTINS:
        importlib.import_module(f"archsmith.critic.{mod}")


_load_builtins()

__all__ = ["CRITICS", "Predictor", "create_critic", "critic_names"]
