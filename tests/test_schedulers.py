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
    s = create_scheduler("asha", min_budget=1, max_budget=9, eta=3, min_top=0)  # the paper
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


def test_asha_by_default_continues_a_rung_s_best_trial_as_optuna_s_pruners_do() -> None:
    s = create_scheduler("asha", min_budget=1, max_budget=9, eta=3)
    assert s.config()["min_top"] == 1
    scores = {t: [float(t)] * 3 for t in range(20)}
    scores[2] = [100.0] * 3
    jobs = _simulate(s, scores, 13)
    assert [(j.trial, j.budget) for j in jobs] == [
        (0, 1), (0, 3), (0, 9),  # the first trial is the best of every rung: fully trained
        (1, 1), (1, 3), (1, 9),  # trial 1 beats it at each rung: it goes on too
        (2, 1), (2, 3), (2, 9),
        (3, 1), (4, 1), (5, 1),  # not the best of rung 0 (2 is): stopped at 1 epoch
        (5, 3),                  # 6 results: the best third is 2 and 5
    ]
    with pytest.raises(ConfigError, match="min_top"):
        create_scheduler("asha", min_budget=1, max_budget=9, eta=3, min_top=2)


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


def test_successive_halving_runs_a_bracket_synchronously() -> None:
    s = create_scheduler("sh", min_budget=1, max_budget=9, eta=3)
    scores = {t: [float(t)] * 3 for t in range(30)}
    jobs = _simulate(s, scores, 9 + 3 + 1 + 1)
    assert [(j.trial, j.budget) for j in jobs] == [
        *[(t, 1) for t in range(9)],   # the bracket's 9 trials at 1 epoch
        (8, 3), (7, 3), (6, 3),        # then its best third, best first
        (8, 9),                        # the best of those to the top
        (9, 1),                        # and the next bracket begins
    ]
    assert not s.promotable(0) and s.promotable(9)


def test_hyperband_brackets_follow_the_paper() -> None:
    # Li et al. 2018, Algorithm 1 with R = 27, eta = 3: s_max = 3, n = ⌈(s_max+1)/(s+1)·η^s⌉
    s = create_scheduler("hyperband", min_budget=1, max_budget=27, eta=3)
    assert s.brackets == [(0, 27), (1, 12), (2, 6), (3, 4)]  # type: ignore[attr-defined]
    scores = {t: [float(t % 7)] * 4 for t in range(200)}
    jobs = _simulate(s, scores, 27 + 9 + 3 + 1 + 12)
    assert [j.budget for j in jobs[-12:]] == [3] * 12  # bracket s=2 starts 12 trials at 3


def test_median_rule_stops_below_the_median() -> None:
    s = create_scheduler("median", min_budget=1, max_budget=9, eta=3)
    for t, score in enumerate([5.0, 4.0, 3.0, 2.0, 1.0, 9.0, 0.5]):
        job = s.next_job({})
        assert job is not None
        s.start(job, t) if job.trial is None else None
        s.report(t, 1, score)
    # the first 5 go on (startup); trial 5 is above the median, trial 6 below it
    assert s.promotable(5) and not s.promotable(6) and s.promotable(0)


def test_forget_pending_hands_a_lost_promotion_out_again() -> None:
    s = create_scheduler("asha", min_budget=1, max_budget=9, eta=3)
    for t, score in enumerate([1.0, 3.0, 2.0]):
        s.start(Job(None, 1, 0), t)
        s.report(t, 1, score)
    job = s.next_job({})
    assert job == Job(1, 3, 1)
    s.start(job, 1)  # ... and the driver is killed before trial 1 reports at 3 epochs
    saved = json.loads(json.dumps(s.state_dict()))
    fresh = create_scheduler("asha", min_budget=1, max_budget=9, eta=3)
    fresh.load_state_dict(saved)
    assert fresh.next_job({}) == Job(None, 1, 0)  # promoted already, as far as it knows
    fresh.forget_pending()
    assert fresh.next_job({}) == Job(1, 3, 1)
