from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from archsmith.errors import ConfigError
from archsmith.evaluators._benchmark import create_benchmark
from archsmith.space import Architecture, SearchSpace, create_space
from archsmith.strategies import STRATEGIES, TrialRecord, create_strategy
from archsmith.strategies._acquisition import expected_improvement
from archsmith.strategies._gc import GeneratorCritic
from archsmith.strategies._gc_generator import Generator, local_noise, normal_rewards

# small and fast settings for the tests
FAST: dict[str, Any] = {
    "num_init": 4,
    "policy_samples": 16,
    "mutations": 4,
    "critic_config": {"ensemble": 2, "hidden": 16, "epochs": 10, "warm_epochs": 3},
}


def _synthetic(space: SearchSpace) -> Callable[[Architecture], float]:
    """A deterministic score: a fixed random weight per (decision, choice)."""
    w = np.random.default_rng(123).normal(size=sum(d.size for d in space.decisions))
    return lambda a: float(space.encode(a) @ w)


def _loop(
    strategy: GeneratorCritic, score: Callable[[Architecture], float], budget: int, seed: int,
    resume_every: bool = False,
) -> tuple[list[Architecture], GeneratorCritic]:
    """The driver's loop (one proposal at a time); optionally a state round trip each tell."""
    history: list[TrialRecord] = []
    for number in range(budget):
        arch = strategy.ask(history, 1, np.random.default_rng([seed, number]))[0]
        rec = TrialRecord(number, arch, "complete", score=score(arch))
        history.append(rec)
        strategy.tell([rec])
        if resume_every:
            strategy = _reload(strategy)
    return [t.arch for t in history], strategy


def _reload(strategy: GeneratorCritic) -> GeneratorCritic:
    buf = io.BytesIO()
    torch.save(strategy.state_dict(), buf)
    state = torch.load(io.BytesIO(buf.getvalue()), weights_only=True)
    fresh = GeneratorCritic(strategy.space, **strategy.config())
    fresh.load_state_dict(state)
    return fresh


def test_registered_and_variants() -> None:
    assert "gc" in STRATEGIES
    space = create_space("nb201")
    s = create_strategy("gc:ucb", space)
    assert isinstance(s, GeneratorCritic) and s.acquisition == "ucb"
    assert GeneratorCritic(space, **s.config()).config() == s.config()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"acquisition": "pi"}, "acquisition"), ({"critic": "nope"}, "critic"),
     ({"num_init": 0}, "num_init"), ({"lr": 0.0}, "lr"), ({"round_size": 1.5}, "round_size"),
     ({"policy_samples": 0, "num_parents": 0, "num_random": 0}, "policy_samples"),
     ({"noise_weight": -1.0}, "noise_weight"), ({"noise_length": 0}, "noise_length")],
)
def test_config_errors_name_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        GeneratorCritic(create_space("nb201"), **kwargs)


def test_proposals_are_new_and_respect_pending() -> None:
    space = create_space("nb201")
    score = _synthetic(space)
    rng = np.random.default_rng(0)
    done = [TrialRecord(i, space.sample(rng), "complete", score=0.0) for i in range(6)]
    done = [TrialRecord(t.number, t.arch, t.state, score=score(t.arch)) for t in done]
    running = [TrialRecord(6 + i, space.sample(rng), "running") for i in range(3)]
    history = done + running
    gc = GeneratorCritic(space, round_size=3, **FAST)
    seen = {t.arch.hash for t in history}
    out = gc.ask(history, 5, np.random.default_rng(1))
    hashes = [a.hash for a in out]
    assert len(out) == 5 and len(set(hashes)) == 5 and not seen & set(hashes)
    # queued picks that became pending meanwhile are not proposed again
    gc2 = GeneratorCritic(space, round_size=4, **FAST)
    first = gc2.ask(history, 1, np.random.default_rng(2))[0]
    assert len(gc2.state_dict()["queue"]) == 3
    queued = space.from_indices(gc2.state_dict()["queue"][0])
    pending = [*history, TrialRecord(9, first, "running"), TrialRecord(10, queued, "running")]
    nxt = gc2.ask(pending, 1, np.random.default_rng(3))[0]
    assert nxt.hash not in {t.arch.hash for t in pending}


def test_same_seed_same_proposals_and_exact_resume() -> None:
    space = create_space("nb201")
    score = _synthetic(space)
    a, _ = _loop(GeneratorCritic(space, **FAST), score, 14, seed=5)
    b, _ = _loop(GeneratorCritic(space, **FAST), score, 14, seed=5)
    c, _ = _loop(GeneratorCritic(space, **FAST), score, 14, seed=5, resume_every=True)
    assert a == b == c
    assert len({x.hash for x in a}) == len(a)


def test_resume_mid_search_gives_the_same_next_proposal() -> None:
    space = create_space("nb201")
    score = _synthetic(space)
    archs, gc = _loop(GeneratorCritic(space, round_size=2, **FAST), score, 9, seed=1)
    history = [TrialRecord(i, x, "complete", score=score(x)) for i, x in enumerate(archs)]
    state = gc.state_dict()
    assert state["generator"] is not None and state["critic"]
    restored = _reload(gc)
    for k in range(3):
        rng_a, rng_b = np.random.default_rng([1, 9 + k]), np.random.default_rng([1, 9 + k])
        x, y = gc.ask(history, 1, rng_a)[0], restored.ask(history, 1, rng_b)[0]
        assert x == y
        history.append(TrialRecord(9 + k, x, "complete", score=score(x)))
        gc.tell(history[-1:])
        restored.tell(history[-1:])


def test_conditional_mlp_space_and_failures() -> None:
    space = create_space("mlp", max_layers=3)
    score = _synthetic(space)
    gc = GeneratorCritic(space, **FAST)
    history: list[TrialRecord] = []
    for number in range(10):
        arch = gc.ask(history, 1, np.random.default_rng([0, number]))[0]
        assert space.from_indices(arch.indices) == arch  # valid, inactive are -1
        failed = number % 4 == 3
        history.append(TrialRecord(number, arch, "failed" if failed else "complete",
                                   score=None if failed else score(arch)))
        gc.tell(history[-1:])
    assert len({t.arch.hash for t in history}) == 10
    assert gc.rounds > 0


def test_nbgraph_space() -> None:
    bench = create_benchmark("nbgraph/cora")
    space = bench.default_space()
    gc = GeneratorCritic(space, **FAST)
    history: list[TrialRecord] = []
    for number in range(8):
        arch = gc.ask(history, 1, np.random.default_rng([0, number]))[0]
        val = bench.evaluate(arch).metrics[bench.default_objective]
        history.append(TrialRecord(number, arch, "complete", score=float(val)))
        gc.tell(history[-1:])
    assert len({t.arch.hash for t in history}) == 8
    assert gc.rounds == 4


def test_short_run_on_nb201_beats_its_initial_design() -> None:
    bench = create_benchmark("nb201/cifar10")
    space = bench.default_space()
    gc = GeneratorCritic(space, **FAST)
    history: list[TrialRecord] = []
    for number in range(20):
        arch = gc.ask(history, 1, np.random.default_rng([3, number]))[0]
        val = float(bench.evaluate(arch).metrics["val_acc"])
        history.append(TrialRecord(number, arch, "complete", score=val))
        gc.tell(history[-1:])
    scores = [float(t.score) for t in history]  # type: ignore[arg-type]
    assert len({t.arch.hash for t in history}) == 20
    assert max(scores[4:]) > max(scores[:4])


def test_generator_update_moves_towards_rewarded_sequences() -> None:
    space = create_space("nb201")
    gen = Generator(space, seed=0, lr=0.05)
    good, bad = [3] * 6, [0] * 6
    before = gen.log_prob([good, bad])
    for _ in range(5):
        gen.update([good, bad], gen.log_prob([good, bad]), np.array([1.0, -1.0]), epochs=4)
    after = gen.log_prob([good, bad])
    assert float(after[0]) > float(before[0]) and float(after[1]) < float(before[1])


def test_rewards_and_expected_improvement() -> None:
    ref = [0.80, 0.81, 0.82]
    r1 = normal_rewards(ref, np.array([0.79, 0.81, 0.83]))
    r2 = normal_rewards([100 * x for x in ref], np.array([79.0, 81.0, 83.0]))
    assert np.allclose(r1, r2) and r1[0] < r1[1] < r1[2]
    ei = expected_improvement(np.array([1.0, 1.0, 2.0]), np.array([0.1, 1.0, 0.0]), 1.5)
    assert ei[1] > ei[0] > 0 and ei[2] == pytest.approx(0.5)


def test_local_noise_follows_the_residuals_of_similar_architectures() -> None:
    observed = np.array([[0, 0, 0, 0], [0, 0, 0, 1], [3, 3, 3, 3], [3, 3, 3, 2]])
    residuals2 = np.array([0.0, 0.0, 1.0, 1.0])
    cand = np.array([[0, 0, 1, 0], [3, 3, 2, 3], [1, 2, 1, 2]])
    plateau, scattered, far = local_noise(cand, observed, residuals2, chunk=2)
    assert plateau < 0.5 < scattered  # the search-wide mean squared residual is 0.5
    assert far == pytest.approx(0.5, abs=0.02)
    assert np.array_equal(local_noise(cand, observed[:0], residuals2[:0]), np.zeros(3))


def test_noise_term_prefers_candidates_near_scattered_measurements() -> None:
    """Equal critic predictions: the candidate next to measurements that scatter around
    the critic's mean is worth more than the one on a measured plateau."""
    space = create_space("nb201")
    done = [TrialRecord(i, space.from_indices([0, 0, 0, 0, 0, i]), "complete", score=1.0)
            for i in range(5)]
    done += [TrialRecord(5 + i, space.from_indices([4, 4, 4, 4, 4, i]), "complete",
                         score=float(2 * (i % 2))) for i in range(5)]
    pool = [space.from_indices([0, 0, 0, 0, 1, 0]), space.from_indices([4, 4, 4, 4, 3, 0])]
    pred = {a.hash: (1.0, 0.01) for a in [*pool, *(t.arch for t in done)]}
    rng = np.random.default_rng(0)
    with_noise = GeneratorCritic(space, acquisition="ucb", noise_weight=1.0)._select(
        pool, pred, done, 1, rng)
    without = GeneratorCritic(space, acquisition="ucb", noise_weight=0.0)._select(
        pool, pred, done, 1, rng)
    assert with_noise == [pool[1]] and without == [pool[0]]
