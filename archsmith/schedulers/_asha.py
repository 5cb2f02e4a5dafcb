"""Asynchronous successive halving (ASHA, Li et al., MLSys 2020)."""

from __future__ import annotations

from archsmith.schedulers import SCHEDULERS
from archsmith.schedulers._base import Job, Scheduler

__all__ = ["ASHA"]


class ASHA(Scheduler):
    """Promote when a trial qualifies, else start a new one: no worker waits for a rung.

    When a worker frees, the rungs are scanned from the top down; in rung ``k`` a trial
    qualifies when it is among the best ``⌊n_k / eta⌋`` of the ``n_k`` results there and
    was not promoted yet; the best qualifying trial is continued to rung ``k + 1``.
    Otherwise a new trial starts at the lowest rung. Ties go to the lower trial number.

    Example:
        >>> s = ASHA(min_budget=1, max_budget=9, eta=3)
        >>> s.next_job({})
        Job(trial=None, budget=1, rung=0, bracket=0)
        >>> for t, score in enumerate([0.2, 0.9, 0.5]):
        ...     s.start(s.next_job({}), t)
        ...     s.report(t, 1, score)
        >>> s.next_job({})  # trial 1 is the best third of rung 0
        Job(trial=1, budget=3, rung=1, bracket=0)
    """

    name = "asha"
    asynchronous = True

    def next_job(self, running: dict[int, int]) -> Job:
        for k in range(self.top - 1, -1, -1):
            top = len(self.results[k]) // self.eta
            for t in self.ranked(k)[:top]:
                if t not in self.promoted[k] and t not in running:
                    return Job(trial=t, budget=self.budgets[k + 1], rung=k + 1)
        return Job(trial=None, budget=self.budgets[0], rung=0)


SCHEDULERS.add("asha", ASHA, help="Asynchronous successive halving (Li et al. 2020): "
               "promote a trial in the top 1/eta of its rung when a worker frees, else "
               "start a new one.")
