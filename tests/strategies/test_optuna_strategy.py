from __future__ import annotations

import io
import sys
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pytest
import torch

from archsmith.errors import ConfigError
from archsmith.evaluators._benchmark import create_benchmark
from archsmith.space import Architecture, Decision, SearchSpace, create_space
from archsmith.strategies import TrialRecord, create_strategy
from archsmith.strategies._optuna import SAMPLERS, OptunaStrategy

pytest.importorskip("optuna")


def _make(name: str, space: SearchSpace) -> OptunaStrategy:
    s = create_strategy(name, space)
    assert isinstance(s, OptunaStrategy)
    return s


@dataclass(frozen=True)
class NoRepeatSpace(SearchSpace):
    """``b`` may not repeat ``a`` (a space with invalid choice combinations)."""

    name: ClassVar[str] = "norepeat"

    def _decisions(self) -> list[Decision]:
        return [Decision("a", (0, 1, 2)), Decision("b", (0, 1, 2))]

    def choice_mask(self, i: int, indices: Any) -> np.ndarray:
        mask = np.ones(3, dtype=bool)
        if i == 1:
            mask[indices[0]] = False
        return mask

    def build(self, arch: Architecture, input_shape: tuple[int, ...], num_classes: int) -> Any:
        raise NotImplementedError


def _loop(strategy: Any, n: int, score: Any, hist: list[TrialRecord] | None = None,
          seed: int = 0) -> list[TrialRecord]:
    hist = [] if hist is None else hist
    for _ in range(n):
        k = len(hist)
        arch = strategy.ask(hist, 1, np.random.default_rng([seed, k]))[0]
        rec = TrialRecord(k, arch, "complete", score=score(arch))
        hist.append(rec)
        strategy.tell([rec])
    return hist


def test_create_by_family_variant() -> None:
    s = _make("optuna:tpe", create_space("nb201"))
    assert s.sampler_name == "tpe"
    assert s.config()["sampler"] == "tpe"
    assert type(s.study.sampler).__name__ == "TPESampler"


def test_unknown_and_unsupported_samplers() -> None:
    space = create_space("nb201")
    with pytest.raises(ConfigError, match=r"unknown sampler 'tp'.*tpe, random, gp"):
        create_strategy("optuna:tp", space)
    with pytest.raises(ConfigError, match=r"not supported.*categorical"):
        create_strategy("optuna:cmaes", space)
    with pytest.raises(ConfigError, match="sampler_options"):
        create_strategy("optuna:random", space, sampler_options={"bogus": 1})


def test_missing_optuna_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna -> ImportError
    with pytest.raises(ConfigError, match=r"archsmith\[optuna\]"):
        create_strategy("optuna:tpe", create_space("nb201"))


def test_conditional_decisions_are_suggested_only_when_active() -> None:
    space = create_space("mlp", max_layers=3)
    s = _make("optuna:tpe", space)
    hist = _loop(s, 15, lambda a: float(sum(a.indices)))
    for rec, trial in zip(hist, s.study.trials, strict=True):
        arch = rec.arch
        assert space.from_indices(arch.indices) == arch
        active = {d.name for d, i in zip(space.decisions, arch.indices, strict=True) if i >= 0}
        assert set(trial.params) == active
        assert all(trial.params[d] == arch.indices[space.position(d)] for d in active)


def test_choice_masks_are_respected() -> None:
    space = NoRepeatSpace()
    s = _make("optuna:random", space)
    hist = _loop(s, 12, lambda a: float(a.indices[0]))
    for rec in hist:
        assert rec.arch.indices[0] != rec.arch.indices[1]
    names = {n for t in s.study.trials for n in t.params}
    assert "a" in names and any(n.startswith("b[") for n in names)


def test_pending_failed_and_untold_trials() -> None:
    space = create_space("nb201")
    s = _make("optuna:tpe", space)
    archs = s.ask([], 3, np.random.default_rng(0))
    states = [t.state.name for t in s.study.trials]
    assert states == ["RUNNING"] * 3
    s.tell([TrialRecord(1, archs[1], "failed"), TrialRecord(0, archs[0], "complete", score=5.0)])
    assert [t.state.name for t in s.study.trials] == ["COMPLETE", "FAIL", "RUNNING"]
    assert s.study.trials[0].value == 5.0
    # a fresh strategy learns the finished trials of the history it is given
    fresh = _make("optuna:tpe", space)
    hist = [TrialRecord(0, archs[0], "complete", score=5.0), TrialRecord(1, archs[1], "failed"),
            TrialRecord(2, archs[2], "running")]
    fresh.ask(hist, 1, np.random.default_rng(1))
    assert [t.state.name for t in fresh.study.trials] == ["COMPLETE", "FAIL", "RUNNING"]


@pytest.mark.parametrize("sampler", ["tpe", "random", "nsga2"])
def test_deterministic_and_exact_resume(sampler: str) -> None:
    bench = create_benchmark("nb201/cifar10")
    space = bench.default_space()

    def score(a: Architecture) -> float:
        return float(bench.evaluate(a).metrics["val_acc"])

    name = f"optuna:{sampler}"
    a = create_strategy(name, space)
    hist = _loop(a, 20, score)
    again = _loop(create_strategy(name, space), 20, score)
    assert [t.arch for t in hist] == [t.arch for t in again]
    buf = io.BytesIO()
    torch.save(a.state_dict(), buf)
    b = create_strategy(name, space)
    b.load_state_dict(torch.load(io.BytesIO(buf.getvalue()), weights_only=True))
    for k in range(20, 30):
        pa = a.ask(hist, 1, np.random.default_rng([0, k]))[0]
        pb = b.ask(hist, 1, np.random.default_rng([0, k]))[0]
        assert pa == pb
        rec = TrialRecord(k, pa, "complete", score=score(pa))
        hist.append(rec)
        a.tell([rec])
        b.tell([rec])


def test_sampler_table() -> None:
    import optuna

    for cls in SAMPLERS.values():
        assert hasattr(optuna.samplers, cls)
