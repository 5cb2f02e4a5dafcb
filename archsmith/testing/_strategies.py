"""The conformance checks every search strategy passes (see :mod:`archsmith.testing`)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np

from archsmith.strategies import TrialRecord
from archsmith.testing._common import assert_rejects_wrong_kinds, round_trip, run_checks

if TYPE_CHECKING:
    from archsmith.space import Architecture, SearchSpace
    from archsmith.strategies import Strategy

__all__ = ["StrategyFactory", "check_strategy", "strategy_checks"]

#: Builds a fresh strategy for a space (e.g. ``lambda space: create_strategy("gc", space)``).
StrategyFactory = Callable[["SearchSpace"], "Strategy"]

#: Trials of the simulated searches the checks run (enough to leave every built-in
#: strategy's random start-up phase at its conformance settings).
TRIALS = 14


def _score(arch: Architecture) -> float:
    """A deterministic, learnable score: a fixed random linear function of the encoding."""
    enc = arch.space.encode(arch)
    w = np.random.default_rng(len(enc)).standard_normal(len(enc))
    return float(enc @ w)


def _seed_rng(seed: int, number: int) -> np.random.Generator:
    return np.random.default_rng([seed, number])


def _loop(strategy: Strategy, trials: int = TRIALS, seed: int = 0, pending: int = 0,
          start: list[TrialRecord] | None = None,
          multi: bool = False) -> tuple[list[Architecture], list[TrialRecord]]:
    """Runs ``strategy`` as the search driver does; every 5th trial fails.

    With ``pending`` > 0, that many trials stay running while the next one is asked
    (asynchronous use, ``n`` = 1). With ``multi``, results carry two objectives (the
    score and minus a second function of the architecture) and every 7th one is
    infeasible (violation 0.5, no score). Returns the proposals and the final history.
    """
    history = list(start or [])
    running: list[TrialRecord] = []
    asked: list[Architecture] = []
    number = len(history)
    while len(asked) < trials or running:
        if len(asked) < trials and len(running) <= pending:
            arch = strategy.ask(history + running, 1, _seed_rng(seed, number))[0]
            asked.append(arch)
            running.append(TrialRecord(number=number, arch=arch, state="running"))
            number += 1
            continue
        done = running.pop(0)
        failed = done.number % 5 == 4
        score = None if failed else _score(done.arch)
        rec = TrialRecord(number=done.number, arch=done.arch,
                          state="failed" if failed else "complete", score=score,
                          metrics={} if score is None else {"val_acc": score})
        if multi and score is not None:
            cost = float(np.abs(done.arch.space.encode(done.arch)).sum())
            bad = done.number % 7 == 3
            rec = TrialRecord(number=done.number, arch=done.arch, state="complete",
                              score=None if bad else score,
                              metrics={"val_acc": score, "cost": cost},
                              values=(score, -cost), violation=0.5 if bad else 0.0)
        history.append(rec)
        strategy.tell([rec])
    return asked, history


def _hashes(archs: list[Architecture]) -> list[str]:
    return [a.hash for a in archs]


# -- the checks ------------------------------------------------------------------------
def check_proposals_are_valid(make: StrategyFactory, space: SearchSpace) -> None:
    """Every proposal is an architecture of ``space`` that its decisions rebuild."""
    asked, _ = _loop(make(space))
    assert len(asked) == TRIALS, f"asked {TRIALS} times, got {len(asked)} proposals"
    for arch in asked:
        assert arch.space.name == space.name, f"proposal of space {arch.space.name!r}"
        again = space.make(arch.values)
        assert again.hash == arch.hash, f"{arch!r} does not round-trip through its values"


def check_seeded_determinism(make: StrategyFactory, space: SearchSpace) -> None:
    """Two fresh strategies given the same history and generators propose the same."""
    first, _ = _loop(make(space))
    second, _ = _loop(make(space))
    assert _hashes(first) == _hashes(second), "same seed and results, different proposals"


def check_no_duplicate_of_running_trials(make: StrategyFactory, space: SearchSpace) -> None:
    """Asked with trials in flight (``n`` = 1, asynchronous use), never re-proposes one."""
    asked, _ = _loop(make(space), pending=3)
    assert len(asked) == TRIALS
    window = 4  # the proposal and the 3 still running when it was asked
    for i, arch in enumerate(asked):
        in_flight = {a.hash for a in asked[max(0, i - window + 1) : i]}
        assert arch.hash not in in_flight, (
            f"trial {i} re-proposes an architecture that is still running ({arch!r})")


def check_handles_failed_trials(make: StrategyFactory, space: SearchSpace) -> None:
    """A history of failed trials only (score ``None``) is no obstacle."""
    strategy = make(space)
    rng = np.random.default_rng(0)
    failed = [TrialRecord(number=i, arch=space.sample(rng), state="failed")
              for i in range(TRIALS)]
    strategy.tell(failed)
    archs = strategy.ask(failed, 1, _seed_rng(0, TRIALS))
    assert len(archs) == 1 and archs[0].space.name == space.name


def check_state_dict_round_trip(make: StrategyFactory, space: SearchSpace) -> None:
    """``state_dict`` → storage → a fresh strategy's ``load_state_dict`` continues alike."""
    original = make(space)
    _, history = _loop(original)
    restored = make(space)
    restored.load_state_dict(round_trip(original.state_dict()))
    a, _ = _loop(original, trials=4, seed=1, start=history)
    b, _ = _loop(restored, trials=4, seed=1, start=history)
    assert _hashes(a) == _hashes(b), (
        "after load_state_dict a fresh strategy proposes differently: its state_dict "
        "does not hold all it learned")


def check_config_rebuilds(make: StrategyFactory, space: SearchSpace) -> None:
    """``type(s)(space, **s.config())`` (JSON round-tripped) behaves like ``s``."""
    original = make(space)
    config = json.loads(json.dumps(original.config()))
    rebuilt = type(original)(space, **config)
    assert _hashes(_loop(original)[0]) == _hashes(_loop(rebuilt)[0]), (
        "the strategy rebuilt from config() proposes differently: config() misses a "
        "constructor argument")


def check_rejects_wrong_types(make: StrategyFactory, space: SearchSpace) -> None:
    """Each ``config()`` argument given a value of the wrong kind (text for a number,
    flag, list or table; a number for a name) raises
    :class:`~archsmith.errors.ConfigError` naming the argument — not a ``TypeError``
    from inside the strategy."""
    original = make(space)
    config = json.loads(json.dumps(original.config()))
    assert_rejects_wrong_kinds(lambda cfg: type(original)(space, **cfg), config)


def check_multi_objective(make: StrategyFactory, space: SearchSpace) -> None:
    """A strategy that declares ``multi_objective`` takes results with several values
    and infeasible trials (``violation`` > 0), and stays deterministic (others: skipped)."""
    if not getattr(make(space), "multi_objective", False):
        return
    first, history = _loop(make(space), multi=True)
    second, _ = _loop(make(space), multi=True)
    assert len(first) == TRIALS and all(a.space.name == space.name for a in first)
    assert any(not t.feasible for t in history)
    assert _hashes(first) == _hashes(second), (
        "same seed and multi-objective results, different proposals")


CHECKS: dict[str, Callable[[StrategyFactory, SearchSpace], None]] = {
    "proposals_are_valid": check_proposals_are_valid,
    "seeded_determinism": check_seeded_determinism,
    "no_duplicate_of_running_trials": check_no_duplicate_of_running_trials,
    "handles_failed_trials": check_handles_failed_trials,
    "state_dict_round_trip": check_state_dict_round_trip,
    "config_rebuilds": check_config_rebuilds,
    "rejects_wrong_types": check_rejects_wrong_types,
    "multi_objective": check_multi_objective,
}

#: Checks run on every space; the others run on the first space given.
EVERY_SPACE = ("proposals_are_valid", "seeded_determinism")


def strategy_checks(
    make: StrategyFactory, spaces: list[SearchSpace]
) -> Iterator[tuple[str, Callable[[], None]]]:
    """``(id, check)`` pairs for ``pytest.mark.parametrize`` (like scikit-learn's
    ``parametrize_with_checks``): every check on the first space, the cheap ones on all.
    A strategy made for some spaces only (it refuses the others with a
    :class:`~archsmith.errors.ConfigError`) is checked on the spaces it accepts."""
    from archsmith.errors import ConfigError

    accepted = []
    for space in spaces:
        try:
            make(space)
        except ConfigError:
            continue
        accepted.append(space)
    for i, space in enumerate(accepted):
        for name, fn in CHECKS.items():
            if i == 0 or name in EVERY_SPACE:
                yield f"{name}[{space.name}]", functools.partial(fn, make, space)


def check_strategy(make: StrategyFactory, spaces: list[SearchSpace]) -> None:
    """Runs every strategy check; raises ``AssertionError`` naming the first that fails."""
    run_checks("strategy", strategy_checks(make, spaces))
