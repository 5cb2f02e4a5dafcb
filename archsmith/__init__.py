"""archsmith: neural architecture search that runs on a laptop CPU.

The public API: :class:`Search` and :class:`SearchConfig` (a stored, resumable search),
:class:`AskTell` (a loop you drive yourself), :func:`load` and :func:`predict` (the
trained best network, taking raw inputs), and the factories by name
(:func:`create_space`, :func:`create_strategy`, :func:`create_critic`,
:func:`create_evaluator`). Plug-in classes live in the subpackages:
``archsmith.space.FunctionalSpace``, ``archsmith.evaluators.FunctionEvaluator``, …

Example:
    >>> import archsmith
    >>> "mlp" in archsmith.space_names()
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archsmith.errors import ArchsmithError
from archsmith.space import create_space, space_names

if TYPE_CHECKING:
    from archsmith._ask_tell import AskTell, Trial
    from archsmith._config import SearchConfig
    from archsmith._export import load
    from archsmith._predict import predict
    from archsmith.critic import create_critic
    from archsmith.evaluators import create_evaluator
    from archsmith.search import Search
    from archsmith.strategies import create_strategy

__version__ = "0.1.0"

__all__ = [
    "ArchsmithError",
    "AskTell",
    "Search",
    "SearchConfig",
    "Trial",
    "__version__",
    "create_critic",
    "create_evaluator",
    "create_space",
    "create_strategy",
    "load",
    "predict",
    "space_names",
]

_LAZY = {
    "AskTell": "archsmith._ask_tell",
    "Trial": "archsmith._ask_tell",
    "SearchConfig": "archsmith._config",
    "load": "archsmith._export",
    "predict": "archsmith._predict",
    "create_critic": "archsmith.critic",
    "create_evaluator": "archsmith.evaluators",
    "Search": "archsmith.search",
    "create_strategy": "archsmith.strategies",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'archsmith' has no attribute {name!r}")
