from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pytest
import torch

from archsmith.errors import ConfigError
from archsmith.evaluators._benchmark import create_benchmark
from archsmith.space import Architecture, Decision, SearchSpace, create_space
from archsmith.strategies import TrialRecord, create_strategy
from archsmith.strategies._policy import Policy, build_policy
from archsmith.strategies._reinforce import Reinforce


@dataclass(frozen=True)
class NoRepeatSpace(SearchSpace):
    """``b`` may not repeat ``a``; ``c`` is active only when ``a == 2``."""

    name: ClassVar[str] = "norepeat2"

    def _decisions(self) -> list[Decision]:
        return [Decision("a", (0, 1, 2)), Decision("b", (0, 1, 2)),
                Decision("c", ("x", "y"), parent="a", active_if=(2,))]

    def choice_mask(self, i: int, indices: Any) -> np.ndarray:
        mask = np.ones(self.decisions[i].size, dtype=bool)
        if i == 1:
            mask[indices[0]] = False
        return mask

    def build(self, arch: Architecture, input_shape: tuple[int, ...], num_classes: int) -> Any:
        raise NotImplementedError


# -- the policy ---------------------------------------------------------------------------
def test_policy_samples_valid_sequences_with_conditions() -> None:
    space = create_space("mlp", max_layers=3)
    policy = build_policy(space, seed=0)
    rows, logp, ent = policy.sample(64, torch.Generator().manual_seed(1))
    assert logp.shape == ent.shape == (64,)
    assert bool((logp < 0).all()) and bool((ent > 0).all())
    for row in rows:
        arch = space.from_indices(row)
        assert list(arch.indices) == row  # inactive decisions already -1
    assert {int(space.from_indices(r)["n_layers"]) for r in rows} == {1, 2, 3}  # type: ignore[arg-type]
    lp2, ent2 = policy.log_prob(rows)
    assert torch.allclose(lp2, logp, atol=1e-5) and torch.allclose(ent2, ent, atol=1e-5)


def test_policy_masks_invalid_choices() -> None:
    space = NoRepeatSpace()
    policy = build_policy(space, seed=0)
    rows, _, _ = policy.sample(200, torch.Generator().manual_seed(0))
    assert all(r[0] != r[1] for r in rows)
    assert all((r[2] >= 0) == (r[0] == 2) for r in rows)
    with pytest.raises(ConfigError, match="forbidden"):
        policy.log_prob([[1, 1, -1]])
    # the masked distributions sum to one: enumerate every valid architecture
    total = policy.log_prob([a.indices for a in space.enumerate()])[0].detach().exp().sum()
    assert abs(float(total) - 1.0) < 1e-5


def test_policy_build_is_seeded_and_leaves_global_rng_alone() -> None:
    space = create_space("nb201")
    before = torch.random.get_rng_state()
    a, b, c = build_policy(space, 1), build_policy(space, 1), build_policy(space, 2)
    assert torch.equal(before, torch.random.get_rng_state())
    pa, pb, pc = (torch.cat([p.flatten() for p in x.parameters()]) for x in (a, b, c))
    assert torch.equal(pa, pb) and not torch.equal(pa, pc)
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert a.sample(4, g1)[0] == b.sample(4, g2)[0]


def test_reinforce_learns_a_rewarded_architecture() -> None:
    space = create_space("nb201")
    target = space.from_indices([3, 3, 3, 1, 3, 2])
    s = Reinforce(space, lr=0.05, seed=0)
    s.ask([], 1, np.random.default_rng(0))  # builds the policy
    assert isinstance(s.policy, Policy)
    with torch.no_grad():
        lp0, ent0 = s.policy.log_prob([target.indices])
    rng = np.random.default_rng(1)
    for k in range(60):
        arch = target if k % 2 == 0 else space.sample(rng)
        score = float(sum(x == y for x, y in zip(arch.indices, target.indices, strict=True)))
        s.tell([TrialRecord(k, arch, "complete", score=score)])
    with torch.no_grad():
        lp1, ent1 = s.policy.log_prob([target.indices])
    assert float(lp1) > float(lp0) + 2.0
    assert float(ent1) < float(ent0)


def test_failed_trials_and_state_is_serialisable() -> None:
    space = create_space("nb201")
    s = Reinforce(space)
    a, b, c = s.ask([], 3, np.random.default_rng(0))
    assert len({a.hash, b.hash, c.hash}) == 3
    s.tell([TrialRecord(0, a, "failed")])  # nothing to compare with yet: skipped
    assert s.updates == 0
    s.tell([TrialRecord(1, b, "complete", score=80.0), TrialRecord(2, c, "failed")])
    assert s.updates == 2
    s.tell([TrialRecord(1, b, "complete", score=80.0)])  # told twice: learned once
    assert s.updates == 2
    state = s.state_dict()

    def check(x: Any) -> None:
        if isinstance(x, dict):
            assert all(isinstance(k, str) for k in x)
            for v in x.values():
                check(v)
        elif isinstance(x, list):
            for v in x:
                check(v)
        elif not isinstance(x, torch.Tensor):
            json.dumps(x)

    check(state)


def test_pending_architectures_are_not_proposed_again() -> None:
    space = NoRepeatSpace()  # 9 architectures
    s = Reinforce(space, lr=0.5)
    hist: list[TrialRecord] = []
    for k in range(len(space.enumerate())):
        arch = s.ask(hist, 1, np.random.default_rng(k))[0]
        hist.append(TrialRecord(k, arch, "running"))
    assert len({t.arch.hash for t in hist}) == len(hist)


def test_deterministic_and_exact_resume_on_nb201() -> None:
    bench = create_benchmark("nb201/cifar10")
    space = bench.default_space()

    def run(s: Reinforce, hist: list[TrialRecord], start: int, stop: int,
            twin: Reinforce | None = None) -> None:
        for k in range(start, stop):
            arch = s.ask(hist, 1, np.random.default_rng([7, k]))[0]
            if twin is not None:
                assert twin.ask(hist, 1, np.random.default_rng([7, k]))[0] == arch
            rec = TrialRecord(k, arch, "complete",
                              score=float(bench.evaluate(arch).metrics["val_acc"]))
            hist.append(rec)
            s.tell([rec])
            if twin is not None:
                twin.tell([rec])

    a = create_strategy("reinforce", space)
    assert isinstance(a, Reinforce)
    hist: list[TrialRecord] = []
    run(a, hist, 0, 20)
    again: list[TrialRecord] = []
    run(create_strategy("reinforce", space), again, 0, 20)  # type: ignore[arg-type]
    assert [t.arch for t in hist] == [t.arch for t in again]
    buf = io.BytesIO()
    torch.save(a.state_dict(), buf)
    b = create_strategy("reinforce", space)
    assert isinstance(b, Reinforce)
    b.load_state_dict(torch.load(io.BytesIO(buf.getvalue()), weights_only=True))
    run(a, hist, 20, 30, twin=b)  # same proposals, same updates
    assert a.policy is not None and b.policy is not None
    for pa, pb in zip(a.policy.parameters(), b.policy.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_bad_config() -> None:
    space = create_space("nb201")
    with pytest.raises(ConfigError, match="reward"):
        create_strategy("reinforce", space, reward="raw")
    with pytest.raises(ConfigError, match="lr"):
        create_strategy("reinforce", space, lr=0.0)
    with pytest.raises(ConfigError, match="baseline_decay"):
        create_strategy("reinforce", space, baseline_decay=1.0)
