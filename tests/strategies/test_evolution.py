from __future__ import annotations

import numpy as np
import pytest
from conftest import ToySpace

from archsmith.errors import ConfigError, UnknownNameError
from archsmith.strategies import TrialRecord, create_strategy, strategy_names


def _history(space: ToySpace, n: int, rng: np.random.Generator) -> list[TrialRecord]:
    out = []
    for i in range(n):
        arch = space.sample(rng)
        out.append(TrialRecord(i, arch, "complete", score=float(arch["a"]),  # type: ignore[arg-type]
                               metrics={}))
    return out


def test_registry() -> None:
    assert {"random", "evolution"} <= set(strategy_names())
    with pytest.raises(UnknownNameError, match="evolution"):
        create_strategy("evolutoin", ToySpace())


def test_population_is_the_most_recent() -> None:
    space = ToySpace()
    evo = create_strategy("evolution", space, population_size=4, sample_size=2)
    hist = _history(space, 10, np.random.default_rng(0))
    hist.insert(5, TrialRecord(99, hist[0].arch, "failed"))
    pop = evo.population(hist)  # type: ignore[attr-defined]
    assert [t.number for t in pop] == [6, 7, 8, 9]


def test_children_are_mutations_of_population_members() -> None:
    space = ToySpace(width=8)
    evo = create_strategy("evolution", space, population_size=5, sample_size=5)
    hist = _history(space, 5, np.random.default_rng(1))
    best = max(hist, key=lambda t: t.score or 0.0)
    for child in evo.ask(hist, 10, np.random.default_rng(2)):
        diff = sum(x != y for x, y in zip(child.indices, best.arch.indices, strict=True))
        assert diff == 1  # tournament of the whole population always picks the best


def test_bad_config() -> None:
    with pytest.raises(ConfigError, match="sample_size"):
        create_strategy("evolution", ToySpace(), population_size=4, sample_size=9)


def test_random_avoids_seen() -> None:
    space = ToySpace(width=2)  # 8 architectures
    rs = create_strategy("random", space)
    hist: list[TrialRecord] = []
    rng = np.random.default_rng(0)
    for i in range(8):
        arch = rs.ask(hist, 1, rng)[0]
        hist.append(TrialRecord(i, arch, "running"))
    assert len({t.arch.hash for t in hist}) == 8
