from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from conftest import ToySpace

from archsmith.errors import ConfigError
from archsmith.evaluators._benchmark import create_benchmark
from archsmith.space import Architecture, create_space
from archsmith.strategies import TrialRecord, create_strategy
from archsmith.strategies._local import LocalSearch


def _toy_score(arch: Architecture) -> float:
    a, b = int(arch["a"]), int(arch["b"])  # type: ignore[arg-type]
    return 50.0 + 10 * a - (b - 2) ** 2 + (5 if arch["c"] == "y" else 0)


def _run(strategy: LocalSearch, score, n: int, seed: int = 0,
         history: list[TrialRecord] | None = None) -> list[TrialRecord]:
    hist = [] if history is None else history
    for _ in range(n):
        k = len(hist)
        arch = strategy.ask(hist, 1, np.random.default_rng([seed, k]))[0]
        rec = TrialRecord(k, arch, "complete", score=score(arch))
        hist.append(rec)
        strategy.tell([rec])
    return hist


def _diff(a: Architecture, b: Architecture) -> int:
    return sum(x != y for x, y in zip(a.indices, b.indices, strict=True))


def test_climbs_to_the_optimum_of_a_unimodal_function() -> None:
    space = ToySpace(width=5)
    ls = create_strategy("local", space, n_init=1)
    hist = _run(ls, _toy_score, 30)  # type: ignore[arg-type]
    scores = [t.score or 0.0 for t in hist]
    assert max(scores) == 50 + 40 + 5
    # separable score: no local optima, so until the optimum is found every proposal
    # is a neighbour of the best trial so far
    found = scores.index(max(scores))
    for k in range(1, found + 1):
        best = max(hist[:k], key=lambda t: t.score or 0.0)
        assert _diff(hist[k].arch, best.arch) == 1


def test_first_improvement_moves_the_centre() -> None:
    space = ToySpace(width=5)
    ls = LocalSearch(space, n_init=1)
    start = space.make({"a": 0, "b": 0, "c": "x"})
    better = space.make({"a": 1, "b": 0, "c": "x"})
    hist = [TrialRecord(0, start, "complete", score=1.0),
            TrialRecord(1, better, "complete", score=2.0)]
    assert ls.centre(hist) == better
    for arch in ls.ask(hist, 5, np.random.default_rng(0)):
        assert _diff(arch, better) == 1


def test_restart_at_a_local_optimum_and_state() -> None:
    space = ToySpace(width=3)
    ls = LocalSearch(space, n_init=1)
    centre = space.make({"a": 1, "b": 1, "c": "x"})
    hist = [TrialRecord(0, centre, "complete", score=10.0)]
    for nb in space.neighbours(centre):
        hist.append(TrialRecord(len(hist), nb, "complete", score=0.0))
    restart = ls.ask(hist, 1, np.random.default_rng(3))[0]
    assert restart.hash not in {t.arch.hash for t in hist}
    assert ls.state_dict() == {"roots": [list(restart.indices)]}
    # a restart that never reaches the history is forgotten: ask is repeatable
    assert ls.ask(hist, 1, np.random.default_rng(3))[0] == restart
    hist.append(TrialRecord(len(hist), restart, "running"))
    # while the restart runs, its neighbours are proposed
    nxt = ls.ask(hist, 1, np.random.default_rng(4))[0]
    assert _diff(nxt, restart) == 1
    # once it completes (even worse than the old optimum) it is the new centre
    hist[-1] = TrialRecord(hist[-1].number, restart, "complete", score=-5.0)
    assert ls.centre(hist) == restart


def test_skips_tried_and_running_hashes() -> None:
    space = ToySpace(width=2)  # 8 architectures
    ls = LocalSearch(space, n_init=2)
    hist: list[TrialRecord] = []
    for k in range(8):
        arch = ls.ask(hist, 1, np.random.default_rng(k))[0]
        state = "running" if k % 2 else "complete"
        hist.append(TrialRecord(k, arch, state, score=float(k) if state == "complete" else None))
    assert len({t.arch.hash for t in hist}) == 8


def test_batch_proposals_are_distinct_and_valid_with_conditions() -> None:
    space = create_space("mlp", max_layers=3)
    ls = LocalSearch(space, n_init=2)
    hist = _run(ls, lambda a: float(sum(a.indices)), 6)
    out = ls.ask(hist, 5, np.random.default_rng(9))
    assert len({a.hash for a in out}) == 5
    for arch in out:
        assert space.from_indices(arch.indices) == arch  # inactive decisions are -1
        n_layers = int(arch["n_layers"])  # type: ignore[arg-type]
        assert arch.indices[space.position(f"width_{n_layers}")] >= 0
        if n_layers < 3:
            assert arch.indices[space.position("width_3")] == -1


def test_deterministic_and_exact_resume_on_nb201() -> None:
    bench = create_benchmark("nb201/cifar10")
    space = bench.default_space()

    def score(a: Architecture) -> float:
        return float(bench.evaluate(a).metrics["val_acc"])

    a = create_strategy("local", space)
    hist = _run(a, score, 40)  # type: ignore[arg-type]
    again = _run(create_strategy("local", space), score, 40)  # type: ignore[arg-type]
    assert [t.arch for t in hist] == [t.arch for t in again]
    buf = io.BytesIO()
    torch.save(a.state_dict(), buf)
    b = create_strategy("local", space)
    b.load_state_dict(torch.load(io.BytesIO(buf.getvalue()), weights_only=True))
    for k in range(40, 60):
        rng_a, rng_b = np.random.default_rng([0, k]), np.random.default_rng([0, k])
        pa, pb = a.ask(hist, 1, rng_a)[0], b.ask(hist, 1, rng_b)[0]
        assert pa == pb
        rec = TrialRecord(k, pa, "complete", score=score(pa))
        hist.append(rec)
        a.tell([rec])
        b.tell([rec])


def test_bad_config() -> None:
    with pytest.raises(ConfigError, match="n_init"):
        create_strategy("local", ToySpace(), n_init=0)
