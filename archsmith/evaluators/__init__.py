"""Evaluators: judge architectures by training, by tabular lookup or by a user function.

Example:
    >>> from archsmith.evaluators import EvalResult
    >>> EvalResult(metrics={"val_acc": 0.9}).ok
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archsmith.evaluators._base import EvalResult, Evaluator

if TYPE_CHECKING:
    from archsmith.evaluators._benchmark import BenchmarkEvaluator
    from archsmith.evaluators._data import Dataset
    from archsmith.evaluators._training import TrainingEvaluator
    from archsmith.evaluators._user import FunctionEvaluator, UserEvaluator

__all__ = [
    "BenchmarkEvaluator",
    "Dataset",
    "EvalResult",
    "Evaluator",
    "FunctionEvaluator",
    "TrainingEvaluator",
    "UserEvaluator",
    "benchmark_names",
    "benchmark_space",
    "create_benchmark",
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


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'archsmith.evaluators' has no attribute {name!r}")
