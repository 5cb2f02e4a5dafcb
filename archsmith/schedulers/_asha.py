"""Asynchronous successive halving (ASHA, Li et al., MLSys 2020)."""

from __future__ import annotations

from typing import Any

from archsmith.errors import ConfigError
from archsmith.schedulers import SCHEDULERS
from archsmith.schedulers._base import Job, Scheduler

__all__ = ["ASHA"]


class ASHA(Scheduler):
    """Promote when a trial qualifies, else start a new one: no worker waits for a rung.

    When a worker frees, the rungs are scanned from the top down; in rung ``k`` a trial
    qualifies when it is among the best ``max(min_top, ⌊n_k / eta⌋)`` of the ``n_k``
    results there and was not promoted yet; the best qualifying trial is continued to
    rung ``k + 1``. Otherwise a new trial starts at the lowest rung. Ties go to the lower
    trial number.

    With ``min_top=1`` (the default) the best trial of a rung qualifies before the rung
    holds ``eta`` results: the first trial is trained to the top right away and a user
    sees a fully trained network early. That is the rule of Optuna's
    ``SuccessiveHalvingPruner``/``HyperbandPruner`` (a trial goes on while it is in the
    best ``max(1, ⌊n/eta⌋)`` of its rung) and of Syne Tune's ASHA; ``min_top=0`` is the
    paper's Algorithm 2, which promotes nothing until a rung holds ``eta`` results.

    Args:
        min_budget: Budget (epochs) of the lowest rung.
        max_budget: Budget of the top rung (full training).
        eta: Reduction factor.
        min_top: The fewest best trials of a rung that qualify (0 or 1).

    Example:
        >>> s = ASHA(min_budget=1, max_budget=9, eta=3, min_top=0)
        >>> s.next_job({})
        Job(trial=None, budget=1, rung=0, bracket=0)
        >>> for t, score in enumerate([0.2, 0.9, 0.5]):
        ...     s.start(s.next_job({}), t)
        ...     s.report(t, 1, score)
        >>> s.next_job({})  # trial 1 is the best third of rung 0
        Job(trial=1, budget=3, rung=1, bracket=0)
        >>> s = ASHA(min_budget=1, max_budget=9, eta=3)  # min_top=1: Optuna's rule
        >>> s.start(s.next_job({}), 0)
        >>> s.report(0, 1, 0.2)
        >>> s.next_job({})  # the best (only) trial of rung 0 goes on
        Job(trial=0, budget=3, rung=1, bracket=0)
    """

    name = "asha"
    asynchronous = True

    def __init__(self, min_budget: int, max_budget: int, eta: int = 3,
                 min_top: int = 1) -> None:
        super().__init__(min_budget, max_budget, eta)
        if min_top not in (0, 1) or isinstance(min_top, bool):
            raise ConfigError(f"min_top must be 0 (the ASHA paper's rule) or 1 (Optuna's: "
                              f"the best trial of a rung always qualifies), got {min_top!r}.")
        self.min_top = min_top

    def config(self) -> dict[str, Any]:
        return {**super().config(), "min_top": self.min_top}

    def next_job(self, running: dict[int, int]) -> Job:
        for k in range(self.top - 1, -1, -1):
            top = max(self.min_top, len(self.results[k]) // self.eta)
            for t in self.ranked(k)[:top]:
                if t not in self.promoted[k] and t not in running:
                    return Job(trial=t, budget=self.budgets[k + 1], rung=k + 1)
        return Job(trial=None, budget=self.budgets[0], rung=0)


SCHEDULERS.add("asha", ASHA, help="Asynchronous successive halving (Li et al. 2020): "
               "promote a trial in the top 1/eta of its rung (its best one from the first "
               "result on, as Optuna's pruners do) when a worker frees, else start a new "
               "one.")
