"""The cost model of cost-aware selection: it learns which decisions make training slow."""

from __future__ import annotations

import numpy as np

from archsmith.space import create_space
from archsmith.strategies import TrialRecord, create_strategy
from archsmith.strategies._cost_model import per_cost, relative_costs


def _history(n: int) -> list[TrialRecord]:
    space = create_space("mlp")
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        a = space.sample(rng)
        width = float(a["width_1"])  # type: ignore[arg-type]
        out.append(TrialRecord(i, a, "complete", score=1.0,
                               metrics={"train_seconds": 5 * width / 16.0, "epochs": 5.0}))
    return out


def test_costs_follow_the_decision_that_makes_training_slow() -> None:
    hist = _history(60)
    cost = relative_costs([t.arch for t in hist], hist)
    width = np.array([float(t.arch["width_1"]) for t in hist])  # type: ignore[arg-type]
    rho = np.corrcoef(np.argsort(np.argsort(cost)), np.argsort(np.argsort(width)))[0, 1]
    assert rho > 0.9
    assert np.allclose(relative_costs([t.arch for t in hist[:3]], hist[:4]), 1.0)


def test_gain_per_cost_prefers_cheap_candidates_on_both_sides_of_the_incumbent() -> None:
    v = per_cost(np.array([2.0, 2.0, 0.5, 0.5]), 1.0, np.array([1.0, 4.0, 1.0, 4.0]), 1.0)
    assert list(np.argsort(-v)) == [0, 1, 2, 3]


def test_gc_with_cost_exponent_is_configurable_and_proposes() -> None:
    space = create_space("mlp")
    gc = create_strategy("gc", space, num_init=5, cost_exponent=1.0, policy_samples=32)
    hist = _history(8)
    picks = gc.ask(hist, 2, np.random.default_rng(1))
    assert len(picks) == 2 and gc.config()["cost_exponent"] == 1.0
