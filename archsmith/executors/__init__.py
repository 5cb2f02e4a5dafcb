"""Executors run evaluations; the search driver alone writes to storage."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from archsmith._registry import Registry, lazy_factory
from archsmith.executors._inline import InlineExecutor, TrialTimeout, safe_evaluate

if TYPE_CHECKING:
    from archsmith.evaluators._base import EvalResult, Evaluator
    from archsmith.space import Architecture

__all__ = [
    "EXECUTORS",
    "ChecksEvaluator",
    "Executor",
    "InlineExecutor",
    "SimulatedClock",
    "TrialTimeout",
    "create_executor",
    "executor_names",
    "safe_evaluate",
]

#: Registry of executors; a factory takes ``workers`` and executor-specific options.
EXECUTORS: Registry[Executor] = Registry("executor")


def _inline(workers: int = 1) -> Executor:
    from archsmith.errors import ConfigError

    if workers != 1:
        raise ConfigError(
            "The inline executor runs one trial at a time; use --executor process "
            f"(or ray) for --workers {workers}."
        )
    return InlineExecutor()


EXECUTORS.add("inline", _inline, help="In the driver's process, one trial at a time.")
EXECUTORS.add("process", lazy_factory("archsmith.executors._process", "ProcessExecutor"),
              help="Worker processes (time-outs, dead workers replaced).")
EXECUTORS.add("ray", lazy_factory("archsmith.executors._ray", "RayExecutor"),
              help="Ray tasks on this machine or a cluster (extra archsmith[ray]).")
EXECUTORS.add("simulated", lazy_factory("archsmith.executors._simulated", "SimulatedExecutor"),
              help="Tabular benchmarks: N asynchronous workers in simulated time.")


def executor_names() -> list[str]:
    """Names accepted by :func:`create_executor`."""
    return EXECUTORS.names()


def create_executor(name: str, workers: int = 1, **options: Any) -> Executor:
    """Creates executor ``name`` with ``workers`` parallel evaluations.

    Args:
        name: ``inline`` (in the driver's process, one at a time), ``process`` (worker
            processes), ``ray`` (Ray tasks; extra ``archsmith[ray]``) or ``simulated``
            (tabular benchmarks: ``workers`` virtual workers in simulated time), or any
            name registered in :data:`EXECUTORS`.
        workers: Number of trials evaluated at once.
        **options: Executor-specific options (e.g. ``address`` for Ray).
    """
    from archsmith.errors import ConfigError

    factory = EXECUTORS.get(name)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers must be a positive integer, got {workers!r}.")
    return factory(workers=workers, **options)


class Executor(Protocol):
    """Runs evaluations for the search driver (which alone writes to storage).

    ``submit`` hands over a trial; ``wait`` blocks until at least one submitted trial has
    finished and returns ``[(number, result)]`` (failures, time-outs and dead workers
    come back as failed results, never as exceptions). ``submit``'s ``checkpoint`` is
    passed on to :func:`safe_evaluate` where the trial runs.
    """

    name: str
    workers: int

    def submit(
        self, number: int, evaluator: Evaluator, arch: Architecture, budget: int | None,
        timeout: float | None = None, checkpoint: str | None = None,
    ) -> None:
        """Starts trial ``number``; ``checkpoint`` (a file path, multi-fidelity searches)
        is handed to an evaluator that continues training from it (see
        :func:`safe_evaluate`)."""

    def wait(self) -> list[tuple[int, EvalResult]]: ...

    def cancel(self) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class ChecksEvaluator(Protocol):
    """An executor that can only run some evaluators (the simulated executor needs a
    benchmark's recorded training time); :class:`~archsmith.search.Search` calls it once."""

    def check_evaluator(self, evaluator: Evaluator) -> Any:
        """Raises :class:`~archsmith.errors.ConfigError` if ``evaluator`` cannot run here."""


@runtime_checkable
class SimulatedClock(Protocol):
    """An executor whose trials finish in simulated time; ``now`` is that clock (s)."""

    now: float
