"""Executors run evaluations; the search driver alone writes to storage."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from archsmith.executors._inline import InlineExecutor, TrialTimeout, safe_evaluate

if TYPE_CHECKING:
    from archsmith.evaluators._base import EvalResult, Evaluator
    from archsmith.space import Architecture

__all__ = ["Executor", "InlineExecutor", "TrialTimeout", "create_executor", "executor_names",
           "safe_evaluate"]

_EXECUTORS = {
    "inline": ("archsmith.executors._inline", "InlineExecutor"),
    "process": ("archsmith.executors._process", "ProcessExecutor"),
    "ray": ("archsmith.executors._ray", "RayExecutor"),
    "simulated": ("archsmith.executors._simulated", "SimulatedExecutor"),
}


def executor_names() -> list[str]:
    """Names accepted by :func:`create_executor`."""
    return list(_EXECUTORS)


def create_executor(name: str, workers: int = 1, **options: Any) -> Executor:
    """Creates executor ``name`` with ``workers`` parallel evaluations.

    Args:
        name: ``inline`` (in the driver's process, one at a time), ``process`` (worker
            processes), ``ray`` (Ray tasks; extra ``archsmith[ray]``) or ``simulated``
            (tabular benchmarks: ``workers`` virtual workers in simulated time).
        workers: Number of trials evaluated at once.
        **options: Executor-specific options (e.g. ``address`` for Ray).
    """
    import importlib

    from archsmith.errors import ConfigError, UnknownNameError

    if name not in _EXECUTORS:
        raise UnknownNameError("executor", name, executor_names())
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers must be a positive integer, got {workers!r}.")
    if name == "inline":
        if workers != 1:
            raise ConfigError(
                "The inline executor runs one trial at a time; use --executor process "
                f"(or ray) for --workers {workers}."
            )
        return InlineExecutor()
    module, cls = _EXECUTORS[name]
    return getattr(importlib.import_module(module), cls)(workers=workers, **options)  # type: ignore[no-any-return]


class Executor(Protocol):
    """Runs evaluations for the search driver (which alone writes to storage).

    ``submit`` hands over a trial; ``wait`` blocks until at least one submitted trial has
    finished and returns ``[(number, result)]`` (failures, time-outs and dead workers
    come back as failed results, never as exceptions).
    """

    name: str
    workers: int

    def submit(
        self, number: int, evaluator: Evaluator, arch: Architecture, budget: int | None,
        timeout: float | None = None,
    ) -> None: ...

    def wait(self) -> list[tuple[int, EvalResult]]: ...

    def cancel(self) -> None: ...

    def close(self) -> None: ...
