"""The median stopping rule (Golovin et al., "Google Vizier", KDD 2017), as Optuna's
``MedianPruner`` applies it: a trial goes on past a rung when its score there is at
least the median of every trial's score at that rung."""

from __future__ import annotations

import statistics
from typing import Any

from archsmith._checks import check_integers
from archsmith.schedulers import SCHEDULERS
from archsmith.schedulers._base import Job, Scheduler

__all__ = ["MedianStopping"]


class MedianStopping(Scheduler):
    """Continue a trial while it is at least as good as the median at each rung.

    The median is over the other trials' successful results at that rung; until
    ``n_startup`` of them exist, every trial goes on (Optuna's ``n_startup_trials``), so
    the median means something. A continued trial is run before any new one.

    Args:
        n_startup: Results a rung needs before it stops any trial.

    Example:
        >>> s = MedianStopping(min_budget=1, max_budget=4, eta=2, n_startup=2)
        >>> for t, score in enumerate([0.5, 0.9, 0.1]):  # 0, 1: fewer than 2 others
        ...     s.start(s.next_job({}), t)
        ...     s.report(t, 1, score)
        >>> s.next_job({})  # 0 and 1 were startup trials; 2 is below the median
        Job(trial=0, budget=2, rung=1, bracket=0)
        >>> s.promotable(2)
        False
    """

    name = "median"
    asynchronous = True

    def __init__(self, min_budget: int, max_budget: int, eta: int = 3,
                 n_startup: int = 5) -> None:
        super().__init__(min_budget, max_budget, eta)
        check_integers("median", {"n_startup": (n_startup, 0)})
        self.n_startup = n_startup
        #: Trials allowed past rung ``k``.
        self.go_on: list[set[int]] = [set() for _ in self.budgets]

    def report(self, trial: int, budget: int, score: float | None) -> None:
        super().report(trial, budget, score)
        k = self.rung_of(budget)
        value = self.results[k][trial]
        if k == self.top or value == float("-inf"):
            return
        # as Optuna's MedianPruner: the median of the *other* trials' successful results
        others = [v for t, v in self.results[k].items() if t != trial and v > float("-inf")]
        if len(others) < self.n_startup or value >= statistics.median(others):
            self.go_on[k].add(trial)

    def next_job(self, running: dict[int, int]) -> Job:
        for k in range(self.top - 1, -1, -1):
            for t in sorted(self.go_on[k] - self.promoted[k]):
                if t not in running:
                    return Job(t, self.budgets[k + 1], k + 1)
        return Job(None, self.budgets[0], 0)

    def promotable(self, trial: int) -> bool:
        k = self.rung_reached(trial)
        return super().promotable(trial) and k is not None and trial in self.go_on[k]

    def config(self) -> dict[str, Any]:
        return {**super().config(), "n_startup": self.n_startup}

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "go_on": [sorted(g) for g in self.go_on]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.go_on = [set(g) for g in state.get("go_on", [[] for _ in self.budgets])]


SCHEDULERS.add("median", MedianStopping, help="Median stopping rule (Optuna's MedianPruner): "
               "a trial goes on past a rung while it is at least the rung's median.")
