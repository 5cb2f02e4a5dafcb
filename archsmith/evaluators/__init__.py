"""Evaluators: judge architectures by training, by tabular lookup or by a user function.

Example:
    >>> from archsmith.evaluators import EvalResult
    >>> EvalResult(metrics={"val_acc": 0.9}).ok
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archsmith._registry import Registry, lazy_factory
from archsmith.evaluators._base import (
    EvalResult,
    Evaluator,
    MultiFidelity,
    SimulatedTime,
    TabularBenchmark,
    TrainsFinal,
    check_evaluator,
)

if TYPE_CHECKING:
    from archsmith.evaluators._benchmark import BenchmarkEvaluator
    from archsmith.evaluators._data import Dataset
    from archsmith.evaluators._training import TrainingEvaluator
    from archsmith.evaluators._user import FunctionEvaluator, UserEvaluator

__all__ = [
    "EVALUATORS",
    "BenchmarkEvaluator",
    "Dataset",
    "EvalResult",
    "Evaluator",
    "FunctionEvaluator",
    "MultiFidelity",
    "SimulatedTime",
    "TabularBenchmark",
    "TrainingEvaluator",
    "TrainsFinal",
    "UserEvaluator",
    "benchmark_names",
    "benchmark_space",
    "check_evaluator",
    "create_benchmark",
    "create_evaluator",
    "dataset_names",
    "load_dataset",
]

_LAZY = {
    "BenchmarkEvaluator": "archsmith.evaluators._benchmark",
    "create_benchmark": "archsmith.evaluators._benchmark",
    "benchmark_names": "archsmith.evaluators._benchmark",
    "benchmark_space": "archsmith.evaluators._benchmark",
    "Dataset": "archsmith.evaluators._data",
    "load_dataset": "archsmith.evaluators._data",
    "dataset_names": "archsmith.evaluators._data",
    "TrainingEvaluator": "archsmith.evaluators._training",
    "UserEvaluator": "archsmith.evaluators._user",
    "FunctionEvaluator": "archsmith.evaluators._user",
}


#: Registry of evaluator kinds; benchmarks are in their own registry (``BENCHMARKS``).
EVALUATORS: Registry[Evaluator] = Registry("evaluator")


EVALUATORS.add("training", lazy_factory("archsmith.evaluators._training", "TrainingEvaluator"),
               help="Trains each architecture on a dataset (data=..., epochs=...).")
EVALUATORS.add("function", lazy_factory("archsmith.evaluators._user", "FunctionEvaluator"),
               help="A Python callable fn(arch, budget) -> dict of metrics (fn=...).")
EVALUATORS.add("user", lazy_factory("archsmith.evaluators._user", "UserEvaluator"),
               help="A function in a Python file (spec='file.py:function').")


def create_evaluator(name: str, **config: Any) -> Evaluator:
    """Creates an evaluator by kind (``training``, ``function``, ``user``) or benchmark name.

    Example:
        >>> create_evaluator("nb201/cifar10").default_objective
        'val_acc'
        >>> create_evaluator("training", data="iris", epochs=1).epochs
        1

    Raises:
        UnknownNameError: neither an evaluator kind nor a benchmark; lists both.
    """
    if name not in EVALUATORS:
        from archsmith.evaluators._benchmark import BENCHMARKS

        if name in BENCHMARKS:
            return BENCHMARKS.create(name, **config)
        from archsmith.errors import UnknownNameError

        raise UnknownNameError("evaluator", name, EVALUATORS.names() + BENCHMARKS.names())
    return EVALUATORS.create(name, **config)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'archsmith.evaluators' has no attribute {name!r}")
