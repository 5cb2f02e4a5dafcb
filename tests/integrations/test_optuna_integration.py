"""archsmith strategies as Optuna samplers (archsmith.integrations.optuna)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import ToyEvaluator, ToySpace

optuna = pytest.importorskip("optuna")

from archsmith.errors import ConfigError  # noqa: E402
from archsmith.integrations.optuna import (  # noqa: E402
    ARCH_ATTR,
    SEED_ATTR,
    STATE_ATTR,
    ArchsmithSampler,
    suggest_architecture,
    trial_architecture,
)
from archsmith.search import Search, SearchConfig  # noqa: E402
from archsmith.space import create_space  # noqa: E402
from archsmith.strategies import Strategy  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)
EVO: dict[str, Any] = {"population_size": 6, "sample_size": 3}


def _toy_objective(space: ToySpace) -> Any:
    ev = ToyEvaluator()

    def objective(trial: Any) -> float:
        return float(ev.evaluate(suggest_architecture(trial, space)).metrics["val_acc"])

    return objective


def _run(space: ToySpace, n: int, storage: Any = None, name: str = "s", seed: int = 0,
         strategy: str = "evolution", **cfg: Any) -> Any:
    sampler = ArchsmithSampler(space, strategy, seed=seed, **(cfg or EVO))
    study = optuna.create_study(direction="maximize", sampler=sampler, storage=storage,
                                study_name=name, load_if_exists=True)
    study.optimize(_toy_objective(space), n_trials=n)
    return study


def _hashes(study: Any, space: Any) -> list[str]:
    return [trial_architecture(t, space).hash for t in study.trials]


def test_importing_the_package_imports_no_engine_and_missing_extras_are_named() -> None:
    import subprocess

    code = """
import sys, archsmith.integrations
print('optuna' in sys.modules, 'ray' in sys.modules)
for name in ('optuna', 'ray', 'ray.tune', 'ray.tune.search'):
    sys.modules[name] = None  # as if not installed
from archsmith.errors import ConfigError
try:
    import archsmith.integrations.optuna
except ConfigError as e:
    print('archsmith[optuna]' in str(e))
from archsmith.integrations.ray_tune import ArchsmithSearcher
from archsmith.space import create_space
try:
    ArchsmithSearcher(create_space('nb201'))
except ConfigError as e:
    print('archsmith[ray]' in str(e))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parents[2])
    assert out.stdout.split() == ["False", "False", "True", "True"]


def test_same_trials_as_the_archsmith_driver(tmp_path: Path) -> None:
    """Sequential Optuna + ArchsmithSampler proposes what `archsmith search` proposes."""
    space = ToySpace(width=6)
    cfg = SearchConfig(space="toy", strategy="evolution", budget=14, seed=4,
                       strategy_config=EVO, objective="val_acc", direction="max")
    search = Search(cfg, out=tmp_path, space=space, evaluator=ToyEvaluator())
    search.run()
    assert search._store is not None and search._search_id is not None
    rows = sorted(search._store.trials(search._search_id), key=lambda r: r.number)
    study = _run(space, 14, seed=4)
    assert _hashes(study, space) == [r.hash for r in rows]
    assert study.best_value == max(r.metrics["val_acc"] for r in rows)


def test_seeded_runs_repeat_and_seeds_differ() -> None:
    space = ToySpace(width=8)
    a, b, c = (_hashes(_run(space, 15, seed=s), space) for s in (1, 1, 2))
    assert a == b
    assert a != c


def test_minimize_orients_scores_and_history_states() -> None:
    space = ToySpace(width=6)
    sampler = ArchsmithSampler(space, "evolution", seed=0, **EVO)
    study = optuna.create_study(direction="minimize", sampler=sampler)
    seen: list[Any] = []
    orig = sampler.strategy.ask

    def spy(history: Any, n: int, rng: np.random.Generator) -> Any:
        seen.append(list(history))
        return orig(history, n, rng)

    sampler.strategy.ask = spy  # type: ignore[method-assign]

    def objective(trial: Any) -> float:
        arch = suggest_architecture(trial, space)
        if trial.number == 1:
            raise optuna.TrialPruned()
        if trial.number == 2:
            raise ValueError("boom")
        return float(arch["a"])  # type: ignore[arg-type]

    study.optimize(objective, n_trials=5, catch=(ValueError,))
    last = seen[-1]
    assert [r.state for r in last] == ["complete", "failed", "failed", "complete"]
    assert last[0].score == -study.trials[0].value
    assert last[0].metrics["value"] == study.trials[0].value


def test_running_trials_are_pending_in_the_history() -> None:
    space = ToySpace(width=6)
    sampler = ArchsmithSampler(space, "random", seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    t0 = study.ask()
    a0 = suggest_architecture(t0, space)
    t1 = study.ask()
    seen: list[Any] = []
    orig = sampler.strategy.ask
    sampler.strategy.ask = lambda h, n, r: seen.append(list(h)) or orig(h, n, r)  # type: ignore[method-assign, func-returns-value, assignment]
    a1 = suggest_architecture(t1, space)
    assert [(r.number, r.state, r.arch) for r in seen[0]] == [(0, "running", a0)]
    assert a1 != a0  # random avoids what is in flight
    assert study.trials[1].system_attrs[ARCH_ATTR] == a1.values
    study.tell(t0, 1.0)
    study.tell(t1, 2.0)
    assert sampler._told == {0, 1}


def test_conditional_decisions_only_active_ones_suggested() -> None:
    space = create_space("mlp")
    sampler = ArchsmithSampler(space, "evolution", seed=0, population_size=4, sample_size=2)
    study = optuna.create_study(direction="maximize", sampler=sampler)

    def objective(trial: Any) -> float:
        arch = suggest_architecture(trial, space)
        assert set(trial.params) == set(arch.values)
        return float(arch["n_layers"])  # type: ignore[arg-type]

    study.optimize(objective, n_trials=10)
    for t in study.trials:
        arch = trial_architecture(t, space)
        assert len([k for k in t.params if k.startswith("width_")]) == arch["n_layers"]


def test_extra_parameters_and_inactive_decisions_suggested_anyway() -> None:
    space = create_space("mlp")
    sampler = ArchsmithSampler(space, "random", seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)

    def objective(trial: Any) -> float:
        arch = suggest_architecture(trial, space)
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        w6 = trial.suggest_categorical("width_6", list(space.decisions[-4].choices))
        assert 1e-4 <= lr <= 1e-1 and w6 in space.decisions[-4].choices
        return float(arch["n_layers"])  # type: ignore[arg-type]

    assert space.decisions[-4].name == "width_6"
    study.optimize(objective, n_trials=4)
    assert all("lr" in t.params for t in study.trials)


def test_restart_from_rdb_storage_continues_exactly(tmp_path: Path) -> None:
    space = ToySpace(width=8)
    full = _hashes(_run(space, 12), space)
    url = f"sqlite:///{tmp_path / 'o.db'}"
    _run(space, 7, storage=url, name="cut")
    resumed = _run(space, 5, storage=url, name="cut")  # a new sampler and storage: a restart
    assert _hashes(resumed, space) == full
    attrs = resumed._storage.get_study_system_attrs(resumed._study_id)
    saved = json.loads(attrs[STATE_ATTR])
    assert saved["strategy"] == "evolution" and saved["told"] == list(range(12))


class TensorStrategy(Strategy):
    """A learned toy strategy whose state depends on how results were told.

    Each ``tell`` call halves the weights, then adds score-weighted encodings, so telling
    results one by one differs from telling them at once: only a restored state gives
    the same proposals after a restart.
    """

    name = "tensor-toy"

    def __init__(self, space: Any) -> None:
        import torch

        super().__init__(space)
        self.weights = torch.zeros(len(space.encode(space.sample(np.random.default_rng(0)))))

    def ask(self, history: Any, n: int, rng: np.random.Generator) -> list[Any]:
        import torch

        out = []
        for _ in range(n):
            cands = [self.space.sample(rng) for _ in range(4)]
            vals = [float(self.weights @ torch.as_tensor(self.space.encode(c))) for c in cands]
            out.append(cands[int(np.argmax(vals))])
        return out

    def tell(self, results: Any) -> None:
        import torch

        self.weights *= 0.5
        for r in results:
            if r.complete:
                self.weights += (r.score - 50.0) * torch.as_tensor(self.space.encode(r.arch))

    def state_dict(self) -> dict[str, Any]:
        return {"weights": self.weights.clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.weights = state["weights"].clone()


def _run_obj(space: Any, strategy: Strategy, n: int, storage: Any = None) -> Any:
    sampler = ArchsmithSampler(space, strategy, seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler, storage=storage,
                                study_name="t", load_if_exists=True)
    study.optimize(_toy_objective(space), n_trials=n)
    return study


def test_tensor_state_is_stored_and_restored() -> None:
    space = ToySpace(width=6)
    full = _run_obj(space, TensorStrategy(space), 12)
    storage = optuna.storages.InMemoryStorage()
    _run_obj(space, TensorStrategy(space), 7, storage)
    restarted = TensorStrategy(space)
    resumed = _run_obj(space, restarted, 5, storage)
    assert _hashes(resumed, space) == _hashes(full, space)
    saved = json.loads(resumed._storage.get_study_system_attrs(resumed._study_id)[STATE_ATTR])
    assert saved["state"]["format"] == "torch"
    assert restarted.weights.equal(full.sampler.strategy.weights)


def test_state_changed_by_ask_is_restored() -> None:
    space = ToySpace(width=6)
    full = _run(space, 10, strategy="local", n_init=3)
    storage = optuna.storages.InMemoryStorage()
    _run(space, 6, storage=storage, name="cut", strategy="local", n_init=3)
    resumed = _run(space, 4, storage=storage, name="cut", strategy="local", n_init=3)
    assert _hashes(resumed, space) == _hashes(full, space)


def test_state_of_another_strategy_is_ignored_with_a_warning() -> None:
    space = ToySpace(width=6)
    storage = optuna.storages.InMemoryStorage()
    _run(space, 4, storage=storage, name="w")
    with pytest.warns(UserWarning, match="Ignoring the archsmith strategy state"):
        study = _run(space, 2, storage=storage, name="w", strategy="random", avoid_seen=True)
    assert study.sampler._told == set(range(6))


def test_too_large_state_warns_and_replays(tmp_path: Path) -> None:
    space = ToySpace(width=6)
    sampler = ArchsmithSampler(space, "local", seed=0, max_state_chars=10)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    with pytest.warns(UserWarning, match="max_state_chars"):
        study.optimize(_toy_objective(space), n_trials=3)
    assert STATE_ATTR not in study._storage.get_study_system_attrs(study._study_id)


def test_unseeded_sampler_stores_its_seed() -> None:
    space = ToySpace(width=8)
    url = optuna.storages.InMemoryStorage()
    first = _run(space, 4, storage=url, name="u", seed=None)  # type: ignore[arg-type]
    stored = first._storage.get_study_system_attrs(first._study_id)[SEED_ATTR]
    assert stored == first.sampler._seed
    later = ArchsmithSampler(space, "evolution", **EVO)
    later._attach(optuna.load_study(study_name="u", storage=url, sampler=later))
    assert later._seed == stored


def test_errors_name_the_problem() -> None:
    space = ToySpace()
    with pytest.raises(ConfigError, match="sample_size"):
        ArchsmithSampler(space, "evolution", population_size=4, sample_size=9)
    with pytest.raises(ConfigError, match="strategy object"):
        from archsmith.strategies import create_strategy

        ArchsmithSampler(space, create_strategy("random", space), population_size=3)
    with pytest.raises(ConfigError, match="seed"):
        ArchsmithSampler(space, "random", seed="1")  # type: ignore[arg-type]
    sampler = ArchsmithSampler(space, "random", seed=0)
    multi = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    with pytest.raises(ConfigError, match="single-objective"):
        multi.optimize(lambda t: (float(suggest_architecture(t, space)["a"]), 0.0),  # type: ignore[arg-type]
                       n_trials=1)
    one = optuna.create_study(sampler=ArchsmithSampler(space, "random", seed=0))
    other = optuna.create_study(sampler=one.sampler)
    one.optimize(_toy_objective(space), n_trials=1)
    with pytest.raises(ConfigError, match="one sampler per study"):
        other.optimize(_toy_objective(space), n_trials=1)
    frozen = optuna.trial.create_trial(params={"x": 1}, distributions={
        "x": optuna.distributions.CategoricalDistribution([1, 2])}, value=1.0)
    with pytest.raises(ConfigError, match="suggest_architecture"):
        trial_architecture(frozen, space)


def test_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    import runpy

    root = Path(__file__).parents[2]
    argv = sys.argv
    sys.argv = ["optuna_integration.py", "--trials", "30"]
    try:
        runpy.run_path(str(root / "examples" / "optuna_integration.py"), run_name="__main__")
    finally:
        sys.argv = argv
    out = capsys.readouterr().out
    assert "30 trials" in out and "best trial #" in out
