"""Evaluator protocol and the result record every evaluation returns."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from archsmith.space import Architecture, SearchSpace

__all__ = ["REQUIRED", "EvalResult", "Evaluator", "MultiFidelity", "SimulatedTime",
           "TabularBenchmark", "TrainsFinal", "check_evaluator"]


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


# -- optional hooks: declared here, found by the search when present ---------------------
@runtime_checkable
class TrainsFinal(Protocol):
    """An evaluator that can retrain the chosen architecture and hand back the network
    (real training): the search calls it once at the end, and exports the result."""

    def fit_final(
        self, arch: Architecture, budget: int | None = None
    ) -> tuple[Any, dict[str, float]]:
        """Retrains ``arch`` on train + validation; returns (network, test metrics)."""

    @property
    def dataset(self) -> Any:
        """The :class:`~archsmith.evaluators.Dataset` (input shape, classes, provenance)."""


@runtime_checkable
class TabularBenchmark(Protocol):
    """An evaluator that looks architectures up in a table (no training)."""

    #: Metric holding the simulated training time (for the simulated executor).
    simulated_time_metric: str | None

    def default_space(self) -> SearchSpace:
        """The space the table covers, with its settings (e.g. a smaller op set)."""

    def optimum(self) -> float:
        """The best value of the default objective in the table (for regret plots)."""


@runtime_checkable
class MultiFidelity(Protocol):
    """An evaluator whose ``budget`` is a resource a scheduler can grow (epochs), so a
    multi-fidelity scheduler (``--scheduler asha``…) can judge trials on small budgets.

    ``continues`` declares that ``evaluate(arch, budget, checkpoint=PATH)`` continues
    from the state saved at ``PATH`` (when it holds a smaller budget of the same
    architecture) and saves the state reached there, atomically; a promoted trial then
    costs only its new epochs. Evaluators that do not continue are run from scratch at
    each rung.
    """

    #: What the budget counts (``"epochs"``), shown in messages.
    fidelity: str
    #: ``evaluate`` accepts ``checkpoint=PATH`` and continues from it.
    continues: bool


@runtime_checkable
class SimulatedTime(Protocol):
    """An evaluator that reports how long an evaluation would take on a real worker
    (the simulated executor advances its clock by it)."""

    #: Metric holding the simulated seconds of an evaluation (``None``: none recorded).
    simulated_time_metric: str | None


#: The methods every evaluator needs (checked by :func:`check_evaluator`).
REQUIRED = {
    "evaluate": "evaluate(arch, budget) -> EvalResult",
    "describe": "describe() -> dict (stored with the search)",
    "check_space": "check_space(space) (raise if the space cannot be used)",
}


def check_evaluator(evaluator: Any) -> None:
    """Checks ``evaluator`` against the :class:`Evaluator` contract once, up front.

    Example:
        >>> check_evaluator(object())  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        archsmith.errors.ConfigError: The evaluator object lacks evaluate(arch, budget) ...

    Raises:
        ConfigError: a required method or ``default_objective`` is missing, or an
            optional hook (:class:`TrainsFinal`) is only half there.
    """
    from archsmith.errors import ConfigError

    kind = type(evaluator).__name__
    for name, what in REQUIRED.items():
        if not callable(getattr(evaluator, name, None)):
            raise ConfigError(
                f"The evaluator object lacks {what}; a {kind} cannot judge architectures. "
                "Implement it, or wrap a function with archsmith.evaluators.FunctionEvaluator."
            )
    if not isinstance(getattr(evaluator, "default_objective", None), str):
        raise ConfigError(f"The evaluator ({kind}) needs a `default_objective` attribute "
                          "naming the metric it reports by default (e.g. 'val_acc').")
    if callable(getattr(evaluator, "fit_final", None)) and not hasattr(evaluator, "dataset"):
        raise ConfigError(f"The evaluator ({kind}) has fit_final but no `dataset`; the "
                          "search needs both to export the final network (see TrainsFinal).")
