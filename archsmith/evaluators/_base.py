"""Evaluator protocol and the result record every evaluation returns."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from archsmith.space import Architecture, SearchSpace

__all__ = ["EvalResult", "Evaluator"]


@dataclass
class EvalResult:
    """Outcome of one evaluation.

    Attributes:
        metrics: Final metrics, e.g. ``{"val_acc": 91.2, "params": 1234.0}``.
            Accuracies are in percent (0..100), as in NAS-Bench-201.
        cost: Cost in seconds (wall time, or the simulated training time of a
            tabular benchmark).
        curve: Per-epoch metrics (the learning curve), each a dict such as
            ``{"epoch": 1, "val_acc": 0.5, "train_loss": 1.2}``.
        error: Error text when the evaluation failed, else ``None``.
    """

    metrics: dict[str, float] = field(default_factory=dict)
    cost: float = 0.0
    curve: list[dict[str, float]] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        """``True`` when the evaluation succeeded."""
        return self.error is None

    @classmethod
    def failure(cls, error: str, cost: float = 0.0) -> EvalResult:
        """A failed result carrying ``error``."""
        return cls(error=error, cost=cost)

    def check_objective(self, objective: str) -> EvalResult:
        """Turns a missing or non-finite objective into a failure."""
        if self.error is not None:
            return self
        v = self.metrics.get(objective)
        if v is None:
            return EvalResult(
                metrics=self.metrics,
                cost=self.cost,
                curve=self.curve,
                error=f"the evaluation returned no {objective!r} metric "
                f"(got {sorted(self.metrics)})",
            )
        if not isinstance(v, int | float) or not math.isfinite(float(v)):
            return EvalResult(
                metrics=self.metrics,
                cost=self.cost,
                curve=self.curve,
                error=f"objective {objective!r} is not a finite number: {v!r}",
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        return {"metrics": self.metrics, "cost": self.cost, "curve": self.curve,
                "error": self.error}


@runtime_checkable
class Evaluator(Protocol):
    """Judges architectures. Implementations must be picklable.

    ``evaluate`` never raises for a problem of the architecture itself (it returns a
    failed :class:`EvalResult`); the search loop also guards against exceptions.
    """

    #: Name of the metric searched by default (e.g. ``"val_acc"``).
    default_objective: str

    def check_space(self, space: SearchSpace) -> None:
        """Raises an :class:`~archsmith.errors.ArchsmithError` if ``space`` cannot be used."""

    def evaluate(self, arch: Architecture, budget: int | None = None) -> EvalResult:
        """Evaluates ``arch``; ``budget`` is e.g. the number of epochs."""

    def describe(self) -> dict[str, Any]:
        """JSON-serialisable description (stored with the search; includes fingerprints)."""
