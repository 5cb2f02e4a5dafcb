from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
import torch

from archsmith.errors import ConfigError
from archsmith.evaluators import create_benchmark
from archsmith.strategies import Strategy, TrialRecord, create_strategy, strategy_names

BENCH = create_benchmark("nb201/cifar10")
# Cheap critics keep each ask in the tens of milliseconds.
CONFIGS: dict[str, dict[str, Any]] = {
    "bananas": {"critic_config": {"epochs": 15, "layers": 3}, "num_init": 5},
    "bo": {"critic_config": {"iterations": 15}, "num_init": 5, "num_random": 30},
}


def _run(strat: Strategy, steps: int, seed: int = 0,
         running_every: int = 0) -> list[TrialRecord]:
    """Ask/tell loop as the search driver runs it; every ``running_every``-th trial is
    left running (pending)."""
    hist: list[TrialRecord] = []
    for i in range(steps):
        arch = strat.ask(hist, 1, np.random.default_rng([seed, i]))[0]
        if running_every and i % running_every == running_every - 1:
            hist.append(TrialRecord(i, arch, "running"))
            continue
        score = BENCH.evaluate(arch).metrics["val_acc"]
        rec = TrialRecord(i, arch, "complete", score=score)
        hist.append(rec)
        strat.tell([rec])
    return hist


def test_registered() -> None:
    assert {"bananas", "bo"} <= set(strategy_names())
    assert create_strategy("bananas:ucb", BENCH.default_space()).acquisition == "ucb"  # type: ignore[attr-defined]
    # Thompson sampling is spelled "ts" in bananas and gc; BANANAS's own "its" is accepted
    for name in ("bananas", "gc"):
        for spelled in ("ts", "its"):
            strat = create_strategy(f"{name}:{spelled}", BENCH.default_space())
            assert strat.acquisition == "ts"  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", ["bananas", "bo"])
def test_valid_non_duplicate_proposals(name: str) -> None:
    space = BENCH.default_space()
    strat = create_strategy(name, space, **CONFIGS[name])
    hist = _run(strat, 20, running_every=4)  # includes pending (running) trials
    hashes = [t.arch.hash for t in hist]
    assert len(set(hashes)) == len(hashes)
    for t in hist:
        assert space.from_indices(t.arch.indices) == t.arch
    batch = strat.ask(hist, 5, np.random.default_rng(99))
    assert len(batch) == 5
    assert len({a.hash for a in batch} | set(hashes)) == len(hashes) + 5


@pytest.mark.parametrize("name", ["bananas", "bo"])
def test_resume_gives_identical_proposals(name: str) -> None:
    space = BENCH.default_space()
    a = create_strategy(name, space, **CONFIGS[name])
    hist = _run(a, 30)
    buf = io.BytesIO()
    torch.save(a.state_dict(), buf)
    buf.seek(0)
    b = create_strategy(name, space, **CONFIGS[name])
    b.load_state_dict(torch.load(buf, weights_only=True))
    pa = a.ask(hist, 2, np.random.default_rng([0, 30]))
    pb = b.ask(hist, 2, np.random.default_rng([0, 30]))
    assert pa == pb
    assert a.ask(hist, 2, np.random.default_rng([0, 30])) == pa  # asking has no side effects


def test_bananas_ucb_and_gnn_critic() -> None:
    space = BENCH.default_space()
    strat = create_strategy("bananas", space, acquisition="ucb", critic="gnn",
                            critic_config={"epochs": 10}, num_init=5)
    hist = _run(strat, 8)
    assert len({t.arch.hash for t in hist}) == 8


def test_bad_configs() -> None:
    space = BENCH.default_space()
    with pytest.raises(ConfigError, match="acquisition"):
        create_strategy("bananas", space, acquisition="ei")
    with pytest.raises(ConfigError, match="critic"):
        create_strategy("bananas", space, critic="nope")
    with pytest.raises(ConfigError, match="num_init"):
        create_strategy("bo", space, num_init=0)
    with pytest.raises(ConfigError, match="critic_config"):
        create_strategy("bo", space, critic_config={"lengthscale": 2.0})
    with pytest.raises(ConfigError, match="xi"):
        create_strategy("bo", space, xi=-1.0)
