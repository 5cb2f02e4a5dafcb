"""Executors run evaluations; the search driver alone writes to storage."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from archsmith.executors._inline import InlineExecutor, TrialTimeout, safe_evaluate

if TYPE_CHECKING:
    from archsmith.evaluators._base import EvalResult, Evaluator
    from archsmith.space import Architecture

__all__ = ["Executor", "InlineExecutor", "TrialTimeout", "safe_evaluate"]


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
