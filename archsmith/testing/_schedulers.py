"""The conformance checks every multi-fidelity scheduler passes.

A scheduler is driven here the way the search drives it (``next_job`` → ``start`` →
``report``), by :func:`simulate`: ``workers`` jobs in flight, finishing in a seeded
random order, scores from a fixed function of (trial, rung) with some failures.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from archsmith.testing._common import assert_rejects_wrong_kinds, run_checks

if TYPE_CHECKING:
    from archsmith.schedulers import Job, Scheduler

__all__ = ["SchedulerFactory", "check_scheduler", "scheduler_checks", "simulate"]

#: Builds a fresh scheduler: ``make(min_budget, max_budget, eta)``.
SchedulerFactory = Callable[[int, int, int], "Scheduler"]


def _score(trial: int, rung: int) -> float | None:
    """Fixed scores: trial quality plus a gain per rung; every 11th trial fails."""
    if trial % 11 == 7:
        return None
    return float((trial * 37) % 23) + 2.0 * rung


def simulate(sched: Scheduler, steps: int, workers: int, seed: int = 0,
             state: dict[str, Any] | None = None) -> list[tuple[str, int, int]]:
    """Drives ``sched`` for ``steps`` finished jobs; returns the events
    ``("start" | "promote" | "report", trial, rung)`` in order (``start``: a new
    trial). ``state`` (optional) carries ``running`` and ``next_trial`` between calls."""
    rng = np.random.default_rng(seed)
    st = state if state is not None else {}
    running: dict[int, Job] = st.setdefault("running", {})
    events: list[tuple[str, int, int]] = []
    done = 0
    while done < steps:
        while len(running) < workers:
            job = sched.next_job({t: j.rung for t, j in running.items()})
            if job is None:
                break
            trial = job.trial
            kind = "start" if trial is None else "promote"
            if trial is None:
                trial = st.get("next_trial", 0)
                st["next_trial"] = trial + 1
            assert trial not in running, f"next_job handed out trial {trial}, still running"
            sched.start(job, trial)
            running[trial] = job
            events.append((kind, trial, job.rung))
        assert running, "the scheduler waits with no job running (it would hang)"
        trial = sorted(running)[int(rng.integers(len(running)))]
        job = running.pop(trial)
        sched.report(trial, job.budget, _score(trial, job.rung))
        events.append(("report", trial, job.rung))
        done += 1
    return events


def check_budgets(make: SchedulerFactory) -> None:
    """Rung budgets rise from ``min_budget`` to ``max_budget``; a fresh scheduler
    starts a new trial at the lowest rung."""
    s = make(1, 27, 3)
    assert s.budgets[0] == 1 and s.budgets[-1] == 27, f"budgets {s.budgets}"
    assert all(a < b for a, b in zip(s.budgets, s.budgets[1:], strict=False)), s.budgets
    job = s.next_job({})
    assert job is not None and job.trial is None and job.rung == 0 and job.budget == 1, job


def check_promotions_are_earned(make: SchedulerFactory) -> None:
    """Only a trial with a successful result at rung ``k`` goes on to ``k + 1``, once,
    never while it runs, and some trial reaches the top rung."""
    s = make(1, 9, 3)
    events = simulate(s, 120, workers=4)
    results: dict[int, dict[int, bool]] = {}
    promoted: set[tuple[int, int]] = set()
    for kind, trial, rung in events:
        if kind == "report":
            results.setdefault(trial, {})[rung] = _score(trial, rung) is not None
        elif kind == "promote":
            assert results.get(trial, {}).get(rung - 1), (
                f"trial {trial} promoted to rung {rung} without a successful result below")
            assert (trial, rung) not in promoted, f"trial {trial} promoted twice to {rung}"
            promoted.add((trial, rung))
    assert any(r == len(s.budgets) - 1 for _k, _t, r in events), "no trial reached the top"


def check_next_job_changes_nothing(make: SchedulerFactory) -> None:
    """``next_job`` only proposes: asking twice gives the same job, the state is kept."""
    s = make(1, 9, 3)
    simulate(s, 30, workers=1)
    before = json.dumps(s.state_dict(), sort_keys=True)
    assert s.next_job({}) == s.next_job({}), "next_job gives different jobs when asked twice"
    assert json.dumps(s.state_dict(), sort_keys=True) == before, "next_job changed the state"


def check_state_dict_round_trip(make: SchedulerFactory) -> None:
    """A fresh scheduler that loads the (JSON) state goes on exactly alike."""
    a = make(1, 27, 3)
    sa: dict[str, Any] = {}
    simulate(a, 40, workers=1, state=sa)
    b = make(1, 27, 3)
    b.load_state_dict(json.loads(json.dumps(a.state_dict())))
    sb = {"running": dict(sa["running"]), "next_trial": sa["next_trial"]}
    ea = simulate(a, 40, workers=1, seed=5, state=sa)
    eb = simulate(b, 40, workers=1, seed=5, state=sb)
    assert ea == eb, "a scheduler restored from state_dict schedules differently"


def check_forget_pending(make: SchedulerFactory) -> None:
    """After a crash, jobs that started but never reported are handed out again."""
    s = make(1, 9, 3)
    st: dict[str, Any] = {}
    simulate(s, 25, workers=3, state=st)
    lost = sorted((t, j.rung) for t, j in st["running"].items())
    fresh = make(1, 9, 3)
    fresh.load_state_dict(json.loads(json.dumps(s.state_dict())))
    fresh.forget_pending()
    handed: list[tuple[int | None, int]] = []
    running: dict[int, int] = {}
    for _ in range(len(lost)):
        job = fresh.next_job(running)
        if job is None:
            break
        t = job.trial if job.trial is not None else -1 - len(handed)
        fresh.start(job, t)
        running[t] = job.rung
        handed.append((job.trial, job.rung))
    promoted_lost = [(t, r) for t, r in lost if r > 0]
    for t, r in promoted_lost:
        assert (t, r) in handed, (
            f"the promotion of trial {t} to rung {r} was lost with the crash and not "
            f"handed out again (got {handed})")


def check_config_rebuilds(make: SchedulerFactory) -> None:
    """``config()`` holds the constructor arguments."""
    from archsmith.schedulers import SCHEDULERS

    s = make(2, 20, 3)
    again = SCHEDULERS.create(s.name, **s.config())
    assert again.budgets == s.budgets and again.config() == s.config(), (
        f"config() misses constructor arguments: {s.config()}")


def check_rejects_wrong_types(make: SchedulerFactory) -> None:
    """Each ``config()`` argument given a value of the wrong kind raises
    :class:`~archsmith.errors.ConfigError` naming it."""
    from archsmith.schedulers import SCHEDULERS

    s = make(2, 20, 3)
    assert_rejects_wrong_kinds(lambda cfg: SCHEDULERS.create(s.name, **cfg), s.config())


SCHEDULER_CHECKS: dict[str, Callable[[SchedulerFactory], None]] = {
    "budgets": check_budgets,
    "promotions_are_earned": check_promotions_are_earned,
    "next_job_changes_nothing": check_next_job_changes_nothing,
    "state_dict_round_trip": check_state_dict_round_trip,
    "forget_pending": check_forget_pending,
    "config_rebuilds": check_config_rebuilds,
    "rejects_wrong_types": check_rejects_wrong_types,
}


def scheduler_checks(make: SchedulerFactory) -> Iterator[tuple[str, Callable[[], None]]]:
    """``(id, check)`` pairs of every scheduler check."""
    for name, fn in SCHEDULER_CHECKS.items():
        yield name, functools.partial(fn, make)


def check_scheduler(make: SchedulerFactory) -> None:
    """Runs every scheduler check; raises ``AssertionError`` naming the first that fails.

    Example:
        >>> from archsmith.schedulers import create_scheduler
        >>> check_scheduler(lambda lo, hi, eta: create_scheduler(
        ...     "asha", min_budget=lo, max_budget=hi, eta=eta))
    """
    run_checks("scheduler", scheduler_checks(make))
