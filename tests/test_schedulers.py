"""Multi-fidelity schedulers (issue 13 groundwork): rung budgets, ASHA's promotions,
state round trip, clear errors."""

from __future__ import annotations

import json

import pytest

from archsmith.errors import ConfigError
from archsmith.schedulers import SCHEDULERS, Job, create_scheduler


def _simulate(scheduler: object, scores: dict[int, list[float]], jobs: int) -> list[Job]:
    """Runs ``jobs`` jobs one at a time; trial ``t`` scores ``scores[t][rung]``."""
    out: list[Job] = []
    next_trial = 0
    for _ in range(jobs):
        job = scheduler.next_job({})  # type: ignore[attr-defined]
        assert job is not None
        trial = job.trial
        if trial is None:
            trial, next_trial = next_trial, next_trial + 1
        scheduler.start(job, trial)  # type: ignore[attr-defined]
        out.append(Job(trial, job.budget, job.rung))
        scheduler.report(trial, job.budget, scores[trial][job.rung])  # type: ignore[attr-defined]
    return out


def test_asha_promotes_the_top_third_as_soon_as_it_qualifies() -> None:
    s = create_scheduler("asha", min_budget=1, max_budget=9, eta=3)
    # trial t's score at every rung is t (higher is better) except trial 2, which is best
    scores = {t: [float(t)] * 3 for t in range(20)}
    scores[2] = [100.0] * 3
    jobs = _simulate(s, scores, 12)
    assert [(j.trial, j.budget) for j in jobs] == [
        (0, 1), (1, 1), (2, 1),  # 3 results: the best third (trial 2) qualifies at once
        (2, 3),
        (3, 1), (4, 1), (5, 1),  # 6 results: the top 2 are trials 2 (promoted) and 5
        (5, 3),
        (6, 1),                  # 7 results: the top 2 are 2 and 6 -> 6, no waiting
        (6, 3),
        (2, 9),                  # rung 1 holds 2, 5, 6: its best third (2) goes on
        (7, 1),
    ]


def test_failed_and_running_trials_are_not_promoted() -> None:
    s = create_scheduler("asha", min_budget=1, max_budget=4, eta=2)
    s.report(0, 1, None)
    s.report(1, 1, 5.0)
    assert s.next_job({1: 1}) == Job(None, 1, 0)  # trial 1 is still running
    assert s.next_job({}) == Job(1, 2, 1)


def test_state_round_trip_judges_alike() -> None:
    a = create_scheduler("asha", min_budget=1, max_budget=27, eta=3)
    scores = {t: [float((7 * t) % 11), float((5 * t) % 13), float(t), float(t)]
              for t in range(60)}
    _simulate(a, scores, 25)
    b = create_scheduler("asha", min_budget=1, max_budget=27, eta=3)
    b.load_state_dict(json.loads(json.dumps(a.state_dict())))
    assert [b.next_job({}) for _ in range(5)] == [a.next_job({}) for _ in range(5)]
    assert a.budgets == [1, 3, 9, 27] and "asha" in SCHEDULERS.names()


@pytest.mark.parametrize(("kw", "needle"), [
    ({"min_budget": 5, "max_budget": 3}, "larger than max_budget"),
    ({"min_budget": 1, "max_budget": 9, "eta": 1}, "eta (--eta) must be an integer ≥ 2"),
    ({"min_budget": 0, "max_budget": 9}, "min_budget (--min-epochs) must be a positive"),
])
def test_bad_settings_are_clear_errors(kw: dict, needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        create_scheduler("asha", **kw)
    assert needle in str(err.value)
