"""Declarative search spaces.

A space compiles to an ordered sequence of categorical decisions (with conditions),
gives architectures a canonical hash and a graph view, and builds them as
``torch.nn.Module`` objects.

Example:
    >>> import numpy as np
    >>> from archsmith.space import create_space
    >>> space = create_space("mlp")
    >>> arch = space.sample(np.random.default_rng(0))
    >>> net = space.build(arch, input_shape=(64,), num_classes=10)
"""

from __future__ import annotations

from typing import Any

from archsmith._registry import Registry
from archsmith.space._base import ArchGraph, Architecture, Choice, Decision, SearchSpace
from archsmith.space._custom import FunctionalSpace

SPACES: Registry[SearchSpace] = Registry("space")


def create_space(name: str, **config: Any) -> SearchSpace:
    """Creates the registered space ``name`` with constructor arguments ``config``.

    A :class:`FunctionalSpace`'s stored config (decisions and function references)
    rebuilds it under its own name, registered or not.
    """
    if name not in SPACES and "build_fn" in config and "decisions" in config:
        return FunctionalSpace.from_config(name, **config)
    return SPACES.create(name, **config)


def space_names() -> list[str]:
    """Names of the registered spaces."""
    return SPACES.names()


# built-ins register at import of this package, so SPACES.names() is complete at once
from archsmith.space import _cnn, _mlp, _nb201, _nbgraph  # noqa: E402, F401, I001


__all__ = [
    "SPACES",
    "ArchGraph",
    "Architecture",
    "Choice",
    "Decision",
    "FunctionalSpace",
    "SearchSpace",
    "create_space",
    "space_names",
]
