"""The scheduler interface and the rung bookkeeping the schedulers share."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from archsmith.errors import ConfigError

__all__ = ["Job", "Scheduler", "rung_budgets"]


def rung_budgets(min_budget: int, max_budget: int, eta: int) -> list[int]:
    """``min_budget · eta^k`` for ``k = 0, 1, …`` up to ``max_budget`` (always last).

    Example:
        >>> rung_budgets(1, 20, 3)
        [1, 3, 9, 20]
        >>> rung_budgets(2, 2, 3)
        [2]

    Raises:
        ConfigError: a budget is not a positive integer, ``min_budget`` > ``max_budget``,
            or ``eta`` < 2 (names the fix).
    """
    for name, v in (("min_budget (--min-epochs)", min_budget),
                    ("max_budget (--epochs)", max_budget)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ConfigError(f"{name} must be a positive integer, got {v!r}.")
    if isinstance(eta, bool) or not isinstance(eta, int) or eta < 2:
        raise ConfigError(f"eta (--eta) must be an integer ≥ 2 (the reduction factor: each "
                          f"rung keeps 1/eta of its trials), got {eta!r}.")
    if min_budget > max_budget:
        raise ConfigError(f"min_budget (--min-epochs) {min_budget} is larger than max_budget "
                          f"(--epochs) {max_budget}; lower --min-epochs or raise --epochs.")
    out = [min_budget * eta**k for k in range(int(math.log(max_budget / min_budget, eta)) + 1)]
    out = [b for b in out if b < max_budget]
    return [*out, max_budget]


@dataclass(frozen=True)
class Job:
    """What a free worker does next: train ``trial`` (``None``: a new one) to ``budget``.

    ``bracket`` numbers the bracket a new trial joins (synchronous schedulers).
    """

    trial: int | None
    budget: int
    rung: int
    bracket: int = 0


class Scheduler:
    """Base class: rung budgets, the rung results reported so far, promotions.

    The driver's protocol: ``job = next_job(running)`` proposes (without changing the
    scheduler; ``None`` means "wait for a running job"); ``start(job, trial)`` commits it
    once the driver runs it (``trial`` is the new trial's number for a new trial);
    ``report(trial, budget, score)`` hands back each rung result. After an interrupted
    run, :meth:`forget_pending` forgets the jobs that started but never reported, so
    the resumed search hands them out again.

    Args:
        min_budget: Budget (epochs) of the lowest rung.
        max_budget: Budget of the top rung (full training).
        eta: Reduction factor: a rung promotes the best ``1/eta`` of its trials.
    """

    name = "scheduler"
    #: Whether any free worker may start a new trial at the lowest rung (ASHA, median)
    #: instead of the proposed job; synchronous schedulers (brackets) may not.
    asynchronous = False

    def __init__(self, min_budget: int, max_budget: int, eta: int = 3) -> None:
        self.budgets = rung_budgets(min_budget, max_budget, eta)
        self.min_budget, self.max_budget, self.eta = min_budget, max_budget, eta
        #: ``results[k][trial]``: the score (higher is better) of ``trial`` at rung ``k``.
        self.results: list[dict[int, float]] = [{} for _ in self.budgets]
        #: Trials promoted out of rung ``k`` (or running at rung ``k + 1``).
        self.promoted: list[set[int]] = [set() for _ in self.budgets]

    @property
    def top(self) -> int:
        """Index of the top rung."""
        return len(self.budgets) - 1

    def rung_of(self, budget: int) -> int:
        """The rung whose budget is ``budget``."""
        return self.budgets.index(budget)

    def next_job(self, running: dict[int, int]) -> Job | None:
        """What a free worker does next (``None``: wait); ``running`` maps running
        trials to the rung they are training for. Changes nothing."""
        raise NotImplementedError

    def start(self, job: Job, trial: int) -> None:
        """Commits ``job`` (the driver runs it as trial ``trial``)."""
        if job.trial is not None:
            self.promoted[job.rung - 1].add(trial)

    def report(self, trial: int, budget: int, score: float | None) -> None:
        """A rung result (``None``: the trial failed there and is never promoted)."""
        k = self.rung_of(budget)
        self.results[k][trial] = float("-inf") if score is None else float(score)

    def forget_pending(self) -> None:
        """Forgets promotions that started but never reported (an interrupted run)."""
        for k in range(self.top):
            self.promoted[k] = {t for t in self.promoted[k] if t in self.results[k + 1]}

    def rung_reached(self, trial: int) -> int | None:
        """The highest rung ``trial`` has a result at (``None``: none yet)."""
        return next((k for k in range(self.top, -1, -1) if trial in self.results[k]), None)

    def promotable(self, trial: int) -> bool:
        """Whether ``trial`` may still be continued (else its checkpoint can go)."""
        k = self.rung_reached(trial)
        return k is not None and k < self.top and self.results[k][trial] > float("-inf") \
            and trial not in self.promoted[k]

    def ranked(self, k: int, among: list[int] | None = None) -> list[int]:
        """Trials (of ``among``, default all) with a successful result at rung ``k``,
        best first (ties: lower number)."""
        rung = self.results[k]
        pool = rung if among is None else (t for t in among if t in rung)
        return sorted((t for t in pool if rung[t] > float("-inf")), key=lambda t: (-rung[t], t))

    def config(self) -> dict[str, Any]:
        return {"min_budget": self.min_budget, "max_budget": self.max_budget, "eta": self.eta}

    def state_dict(self) -> dict[str, Any]:
        """Every rung result and promotion (JSON), so a resume judges alike."""
        return {"results": [{str(t): s for t, s in r.items()} for r in self.results],
                "promoted": [sorted(p) for p in self.promoted]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.results = [{int(t): float(s) for t, s in r.items()} for r in state["results"]]
        self.promoted = [set(p) for p in state["promoted"]]
