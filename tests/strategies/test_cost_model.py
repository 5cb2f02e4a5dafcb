"""The cost model of cost-aware selection: it learns which decisions make training slow."""

from __future__ import annotations

import numpy as np

from archsmith.space import create_space
from archsmith.strategies import TrialRecord, create_strategy
from archsmith.strategies._cost_model import (
    candidate_costs,
    inherit_factor,
    per_cost,
    relative_costs,
)


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


def _inheriting_history(n: int) -> list[TrialRecord]:
    """Scratch trials (20 epochs) and children of trial 0 (5 epochs), scores ~80 ± 1."""
    space = create_space("mlp")
    rng = np.random.default_rng(3)
    out = []
    for i in range(n):
        a = space.sample(rng)
        parent = 0 if i % 2 and i > 1 else None
        out.append(TrialRecord(i, a, "complete", score=80.0 + rng.normal(),
                               metrics={"epochs": 20.0 if parent is None else 5.0},
                               parent=parent))
    return out


def test_inherit_factor_and_candidate_costs_charge_inheriting_candidates_less() -> None:
    hist = _inheriting_history(12)
    assert inherit_factor(hist) == 0.25
    assert inherit_factor([t for t in hist if t.parent is None]) is None
    pool = [t.arch for t in hist[:4]]
    cost = candidate_costs(pool, hist, inherit_exponent=1.0, inheriting={pool[1].hash})
    assert cost is not None and list(cost) == [1.0, 0.25, 1.0, 1.0]
    assert candidate_costs(pool, hist, inherit_exponent=0.0, inheriting={pool[1].hash}) is None


def test_gc_under_inheritance_prefers_edits_of_kept_parents() -> None:
    """With inherited trials in the history, gc picks more elite edits one move away
    (which inherit their parent's weights) the more it discounts them; here scores are
    noise, so the picks far from every trial have the larger uncertainty, and
    ``inherit_exponent=0`` (the cost-blind rule) picks none of the edits."""
    hist = _inheriting_history(30)
    named = {}
    for exponent in (0.0, 1.0, 2.0):
        hits = 0
        for seed in range(12):
            gc = create_strategy("gc", create_space("mlp"), num_init=5, policy_samples=64,
                                 inherit_exponent=exponent, seed=seed)
            pick = gc.ask(hist, 1, np.random.default_rng(seed))[0]
            hits += gc.parent_of(pick) is not None
        named[exponent] = hits
    assert named[2.0] >= named[1.0] > named[0.0], named
    assert create_strategy("gc", create_space("mlp")).config()["inherit_exponent"] == 1.0


def test_gc_names_the_parent_of_a_queued_proposal_across_rounds_and_a_resume() -> None:
    """A proposal served from the queue of an earlier round (``round_size`` > 1), or
    after ``load_state_dict``, still names the trial it was edited from."""
    hist = _inheriting_history(30)
    kw = {"num_init": 5, "policy_samples": 16, "round_size": 4, "seed": 4}
    gc = create_strategy("gc", create_space("mlp"), **kw)
    rng = np.random.default_rng(4)  # (a seed whose queue starts with a named edit)
    first = gc.ask(hist, 1, rng)[0]
    state = gc.state_dict()
    assert len(state["queue"]) == 3 and len(state["queue_parents"]) == 3
    twin = create_strategy("gc", create_space("mlp"), **kw)
    twin.load_state_dict(state)
    for s in (gc, twin):
        nxt = s.ask([*hist, TrialRecord(30, first, "running")], 1, np.random.default_rng(1))[0]
        assert s.parent_of(nxt) == state["queue_parents"][0]
    assert state["queue_parents"][0] is not None
    assert gc.parent_of(first) is None  # only the last ask's proposals are named
