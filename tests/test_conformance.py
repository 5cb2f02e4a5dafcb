"""archsmith.testing's conformance suites over every registered plug-in, and proof that
the suites catch broken ones."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from archsmith.critic import CRITICS, create_critic
from archsmith.executors import EXECUTORS, create_executor
from archsmith.schedulers import SCHEDULERS, Job, Scheduler, create_scheduler
from archsmith.space import Architecture, SearchSpace
from archsmith.strategies import STRATEGIES, Strategy, TrialRecord, create_strategy
from archsmith.testing import (
    check_scheduler,
    check_strategy,
    conformance_spaces,
    critic_checks,
    executor_checks,
    scheduler_checks,
    space_checks,
    strategy_checks,
)

SPACES = conformance_spaces()
STRATEGY_CASES = [
    pytest.param(name, check, id=f"{name}-{cid}")
    for name in STRATEGIES.names()
    for cid, check in strategy_checks(
        lambda space, name=name: create_strategy(name, space), SPACES)
]


@pytest.mark.parametrize(("name", "check"), STRATEGY_CASES)
def test_strategy_conformance(name: str, check: Any) -> None:
    check()


@pytest.mark.parametrize("check", [
    pytest.param(check, id=f"{space.name}-{cid}")
    for space in SPACES for cid, check in space_checks(space)
])
def test_space_conformance(check: Any) -> None:
    check()


@pytest.mark.parametrize("check", [
    pytest.param(check, id=f"{name}-{cid}")
    for name in CRITICS.names()
    for cid, check in critic_checks(
        lambda space, name=name: create_critic(name, space, seed=0), SPACES)
])
def test_critic_conformance(check: Any) -> None:
    check()


#: What each executor is checked for: in-process executors cannot survive their own
#: process's death; the simulated executor runs tabular benchmarks only.
EXECUTOR_OPTIONS: dict[str, dict[str, Any]] = {
    "inline": {"faults": ("raise", "nan", "hang")},
    "simulated": {"benchmark_only": True},
}


def _make_executor(name: str) -> Any:
    def make(workers: int) -> Any:
        if name == "ray":
            return create_executor("ray", workers=workers)
        return create_executor(name, workers=1 if name == "inline" else workers)

    return make


@pytest.mark.timeout(240)
@pytest.mark.parametrize("check", [
    pytest.param(check, id=f"{name}-{cid}",
                 marks=[pytest.mark.slow] if name == "ray" else [])
    for name in EXECUTORS.names()
    for cid, check in executor_checks(_make_executor(name), **EXECUTOR_OPTIONS.get(name, {}))
])
def test_executor_conformance(check: Any) -> None:
    if "ray" in str(getattr(check, "args", "")):
        pytest.importorskip("ray")
    check()


# -- broken strategies the suite must catch ---------------------------------------------
class _Repeats(Strategy):
    """Proposes the same architecture while it is still running."""

    name = "repeats"

    def ask(self, history: Sequence[TrialRecord], n: int,
            rng: np.random.Generator) -> list[Architecture]:
        running = [t.arch for t in history if t.state == "running"]
        return [running[-1] if running else self.space.sample(rng) for _ in range(n)]


class _Forgets(Strategy):
    """Learns from tell() but keeps none of it in state_dict()."""

    name = "forgets"

    def __init__(self, space: SearchSpace) -> None:
        super().__init__(space)
        self.best: Architecture | None = None
        self.best_score = -np.inf

    def tell(self, results: Sequence[TrialRecord]) -> None:
        for r in results:
            if r.complete and float(r.score or 0) > self.best_score:
                self.best, self.best_score = r.arch, float(r.score or 0)

    def ask(self, history: Sequence[TrialRecord], n: int,
            rng: np.random.Generator) -> list[Architecture]:
        if self.best is None:
            return [self.space.sample(rng) for _ in range(n)]
        return [self.space.mutate(self.best, rng) for _ in range(n)]


class _Unconfigurable(Strategy):
    """Takes a constructor argument that config() does not return."""

    name = "unconfigurable"

    def __init__(self, space: SearchSpace, offset: int = 0) -> None:
        super().__init__(space)
        self.offset = offset

    def ask(self, history: Sequence[TrialRecord], n: int,
            rng: np.random.Generator) -> list[Architecture]:
        rng = np.random.default_rng(int(rng.integers(1 << 30)) + self.offset)
        return [self.space.sample(rng) for _ in range(n)]


class _Unchecked(_Unconfigurable):
    """Returns its argument from config() but takes any value for it."""

    name = "unchecked"

    def config(self) -> dict[str, Any]:
        return {"offset": self.offset}


@pytest.mark.parametrize(("broken", "check", "message"), [
    (lambda space: _Repeats(space), "no_duplicate_of_running_trials", "still running"),
    (lambda space: _Unchecked(space), "rejects_wrong_types", "offset='not-a-value' was accepted"),
    (lambda space: _Forgets(space), "state_dict_round_trip", "state_dict does not hold"),
    (lambda space: _Unconfigurable(space, offset=5), "config_rebuilds", r"config\(\) misses"),
])
def test_the_strategy_suite_catches_broken_strategies(broken: Any, check: str,
                                                      message: str) -> None:
    checks = dict(strategy_checks(broken, SPACES[:1]))
    with pytest.raises(AssertionError, match=message):
        checks[f"{check}[{SPACES[0].name}]"]()
    with pytest.raises(AssertionError, match=r"strategy check .* failed"):
        check_strategy(broken, SPACES[:1])


@pytest.mark.parametrize(("name", "check"), [
    pytest.param(name, check, id=f"{name}-{cid}")
    for name in SCHEDULERS.names()
    for cid, check in scheduler_checks(
        lambda lo, hi, eta, name=name: create_scheduler(name, min_budget=lo, max_budget=hi,
                                                        eta=eta))
])
def test_scheduler_conformance(name: str, check: Any) -> None:
    check()


class _PromotesFailures(Scheduler):
    """Broken: promotes the first trial of a rung, failed or not, even twice."""

    name = "asha"

    def next_job(self, running: dict[int, int]) -> Job:
        for k in range(self.top - 1, -1, -1):
            for t in sorted(self.results[k]):
                if t not in running and len(self.results[k]) >= 3:
                    return Job(t, self.budgets[k + 1], k + 1)
        return Job(None, self.budgets[0], 0)


class _ForgetsState(Scheduler):
    """Broken: its state_dict holds nothing."""

    name = "asha"
    min_top = 1

    def next_job(self, running: dict[int, int]) -> Job:
        from archsmith.schedulers._asha import ASHA

        return ASHA.next_job(self, running)  # type: ignore[arg-type]

    def state_dict(self) -> dict[str, Any]:
        return {"results": [{} for _ in self.budgets], "promoted": [[] for _ in self.budgets]}


@pytest.mark.parametrize(("broken", "check", "message"), [
    (_PromotesFailures, "promotions_are_earned", "without a successful result|twice"),
    (_ForgetsState, "state_dict_round_trip", "schedules differently"),
])
def test_the_scheduler_suite_catches_broken_schedulers(broken: Any, check: str,
                                                       message: str) -> None:
    def make(lo: int, hi: int, eta: int) -> Scheduler:
        return broken(lo, hi, eta)

    checks = dict(scheduler_checks(make))
    with pytest.raises(AssertionError, match=message):
        checks[check]()
    with pytest.raises(AssertionError, match=r"scheduler check .* failed"):
        check_scheduler(make)
