"""Synchronous successive halving and Hyperband (Jamieson & Talwalkar 2016; Li et al.,
JMLR 2018).

A bracket starts ``n`` trials at its first rung; when every one of them has a result
there, the best ``⌊n/eta⌋`` (at least one) go on to the next rung, and so on to the
top. Brackets run one after another (a free worker waits while a rung is unfinished:
that is what makes these schedulers synchronous; :class:`~archsmith.schedulers.ASHA`
never waits). Successive halving repeats one bracket that starts at the lowest rung
with ``eta^(rungs - 1)`` trials, so one trial reaches the top. Hyperband cycles through
its brackets ``s = s_max, …, 0`` (``s_max`` = rungs - 1): bracket ``s`` starts
``⌈(s_max + 1) / (s + 1) · eta^s⌉`` trials at rung ``s_max - s``, as in Li et al.'s
Algorithm 1.
"""

from __future__ import annotations

import math
from typing import Any

from archsmith.schedulers import SCHEDULERS
from archsmith.schedulers._base import Job, Scheduler

__all__ = ["Hyperband", "SuccessiveHalving"]


class SuccessiveHalving(Scheduler):
    """Synchronous successive halving, one bracket after another.

    Example:
        >>> s = SuccessiveHalving(min_budget=1, max_budget=9, eta=3)
        >>> s.brackets
        [(0, 9)]
        >>> for t in range(9):
        ...     s.start(s.next_job({}), t)
        >>> s.next_job({0: 0}) is None  # rung 0 unfinished: wait
        True
        >>> for t in range(9):
        ...     s.report(t, 1, float(t))
        >>> s.next_job({})  # the best third of rung 0 goes on: 8, 7, 6
        Job(trial=8, budget=3, rung=1, bracket=0)
    """

    name = "sh"

    def __init__(self, min_budget: int, max_budget: int, eta: int = 3) -> None:
        super().__init__(min_budget, max_budget, eta)
        #: ``members[b][k]``: trials of bracket ``b`` started at rung ``k``.
        self.members: list[list[list[int]]] = []

    @property
    def brackets(self) -> list[tuple[int, int]]:
        """``(first rung, trials started there)`` of each bracket of a cycle."""
        return [(0, self.eta ** self.top)]

    def _spec(self, b: int) -> tuple[int, int]:
        specs = self.brackets
        return specs[b % len(specs)]

    def _target(self, b: int, k: int) -> int:
        """How many trials bracket ``b`` runs at rung ``k``."""
        first, n = self._spec(b)
        if k == first:
            return n
        prev = self.members[b][k - 1]
        alive = sum(self.results[k - 1].get(t, 0.0) > float("-inf") for t in prev)
        return min(max(1, len(prev) // self.eta), alive)

    def _job(self, b: int) -> Job | bool | None:
        """Bracket ``b``'s next job, ``None`` (wait) or ``True`` (the bracket is done)."""
        first, _ = self._spec(b)
        for k in range(first, self.top + 1):
            mem = self.members[b][k]
            target = self._target(b, k)
            if len(mem) < target:
                if k == first:
                    return Job(None, self.budgets[k], k, bracket=b)
                prev = self.members[b][k - 1]
                if any(t not in self.results[k - 1] for t in prev):
                    return None
                t = next(t for t in self.ranked(k - 1, prev)[:target] if t not in mem)
                return Job(t, self.budgets[k], k, bracket=b)
            if any(t not in self.results[k] for t in mem):
                return None
            if target == 0:
                break
        return True

    def next_job(self, running: dict[int, int]) -> Job | None:
        b = len(self.members) - 1
        job = self._job(b) if b >= 0 else True
        if job is True:  # start the next bracket
            first, _ = self._spec(b + 1)
            return Job(None, self.budgets[first], first, bracket=b + 1)
        return job if isinstance(job, Job) else None

    def start(self, job: Job, trial: int) -> None:
        super().start(job, trial)
        while len(self.members) <= job.bracket:
            self.members.append([[] for _ in self.budgets])
        self.members[job.bracket][job.rung].append(trial)

    def forget_pending(self) -> None:
        super().forget_pending()
        for bracket in self.members:
            for k, mem in enumerate(bracket):
                mem[:] = [t for t in mem if t in self.results[k]]
        while self.members and not any(self.members[-1]):
            self.members.pop()

    def promotable(self, trial: int) -> bool:
        if not super().promotable(trial) or not self.members:
            return False
        b = len(self.members) - 1
        k = self.rung_reached(trial)
        assert k is not None
        if trial not in self.members[b][k]:
            return False  # an earlier bracket: finished
        if any(t not in self.results[k] for t in self.members[b][k]):
            return True  # the rung is not decided yet
        target = self._target(b, k + 1)
        return trial in self.ranked(k, self.members[b][k])[:target]

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "members": self.members}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.members = [[list(m) for m in b] for b in state.get("members", [])]


class Hyperband(SuccessiveHalving):
    """Hyperband: successive-halving brackets from aggressive to none, in a cycle.

    Example:
        >>> Hyperband(min_budget=1, max_budget=27, eta=3).brackets
        [(0, 27), (1, 12), (2, 6), (3, 4)]
    """

    name = "hyperband"

    @property
    def brackets(self) -> list[tuple[int, int]]:
        s_max = self.top
        return [(s_max - s, math.ceil((s_max + 1) / (s + 1) * self.eta ** s))
                for s in range(s_max, -1, -1)]


SCHEDULERS.add("sh", SuccessiveHalving, help="Synchronous successive halving: brackets of "
               "eta^(rungs-1) trials; a rung's best 1/eta go on once the rung is complete.")
SCHEDULERS.add("hyperband", Hyperband, help="Hyperband (Li et al. 2018): successive-halving "
               "brackets from many cheap trials to few fully trained ones, in a cycle.")
