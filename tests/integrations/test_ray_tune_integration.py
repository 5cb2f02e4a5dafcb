"""archsmith strategies as Ray Tune searchers (archsmith.integrations.ray_tune)."""

from __future__ import annotations

import logging
import math
import pickle
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("ray.tune", reason="Ray Tune is not installed (pip install 'archsmith[ray]')")

from archsmith.errors import ConfigError
from archsmith.integrations.ray_tune import (
    HASH_KEY,
    ArchsmithSearcher,
    config_to_architecture,
)
from archsmith.search import Search, SearchConfig
from archsmith.space import create_space
from archsmith.strategies import Strategy, TrialRecord

EVO: dict[str, Any] = {"population_size": 6, "sample_size": 3}


def _score(config: dict[str, Any]) -> float:
    """A cheap deterministic stand-in for accuracy on NB-201 cells."""
    points = {"nor_conv_3x3": 3.0, "nor_conv_1x1": 2.0, "skip_connect": 1.0}
    return 50.0 + sum(points.get(str(config[f]), 0.0) * (i + 1) for i, f in enumerate(
        ("edge_1_0", "edge_2_0", "edge_2_1", "edge_3_0", "edge_3_1", "edge_3_2")))


def _drive(searcher: ArchsmithSearcher, n: int, start: int = 0) -> list[dict[str, Any]]:
    """Sequential suggest/complete, as Tune does with one trial at a time."""
    out = []
    for i in range(start, start + n):
        config = searcher.suggest(f"t{i}")
        assert config is not None
        searcher.on_trial_complete(f"t{i}", {"val_acc": _score(config), "iter": 1})
        out.append(config)
    return out


class TensorStrategy(Strategy):
    """A learned toy strategy with tensor state that depends on how results were told."""

    name = "tensor-toy"

    def __init__(self, space: Any) -> None:
        import torch

        super().__init__(space)
        self.weights = torch.zeros(len(space.encode(space.sample(np.random.default_rng(0)))))

    def ask(self, history: Any, n: int, rng: np.random.Generator) -> list[Any]:
        import torch

        cands = [self.space.sample(rng) for _ in range(4 * n)]
        vals = [float(self.weights @ torch.as_tensor(self.space.encode(c))) for c in cands]
        order = np.argsort(vals)[::-1][:n]
        return [cands[int(i)] for i in order]

    def tell(self, results: Any) -> None:
        import torch

        self.weights *= 0.5
        for r in results:
            if r.complete:
                self.weights += (r.score - 60.0) * torch.as_tensor(self.space.encode(r.arch))

    def state_dict(self) -> dict[str, Any]:
        return {"weights": self.weights.clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.weights = state["weights"].clone()


# -- the searcher alone (no Ray runtime) ------------------------------------------------------
def test_config_format_and_history() -> None:
    space = create_space("mlp")
    s = ArchsmithSearcher(space, "random", seed=0, metric="loss", mode="min")
    c0, c1, c2 = (s.suggest(f"t{i}") for i in range(3))
    assert c0 is not None and c1 is not None and c2 is not None
    a0 = config_to_architecture(space, c0)
    assert c0 == {**a0.values, HASH_KEY: a0.hash}  # active decisions only, flat
    assert set(c0) - {HASH_KEY} == set(a0.values)
    s.on_trial_complete("t0", {"loss": 0.5, "note": "x"})
    s.on_trial_complete("t1", None, error=True)
    s.on_trial_complete("t2", {"loss": math.nan})
    s.on_trial_complete("unknown", {"loss": 1.0})  # ignored
    states = [(r.state, r.score) for r in s.history]
    assert states == [("complete", -0.5), ("failed", None), ("failed", None)]
    assert s.history[0].metrics == {"loss": 0.5}
    assert s.suggest("t0") == c0  # a repeated id gets its config again


def test_running_trials_are_pending_in_the_history() -> None:
    space = create_space("nb201")
    s = ArchsmithSearcher(space, "random", seed=0, metric="val_acc", mode="max")
    seen: list[list[TrialRecord]] = []
    orig = s.strategy.ask
    s.strategy.ask = lambda h, n, r: seen.append(list(h)) or orig(h, n, r)  # type: ignore[method-assign, func-returns-value, assignment]
    s.suggest("a")
    s.suggest("b")
    assert [(r.number, r.state) for r in seen[1]] == [(0, "running")]


def test_same_trials_as_the_archsmith_driver(tmp_path: Path) -> None:
    bench_free = SearchConfig(space="nb201", strategy="evolution", budget=14, seed=5,
                              strategy_config=EVO, objective="val_acc", direction="max",
                              export=False)

    class Evaluator:
        default_objective = "val_acc"

        def check_space(self, space: Any) -> None:
            pass

        def describe(self) -> dict[str, Any]:
            return {"kind": "score"}

        def evaluate(self, arch: Any, budget: int | None = None) -> Any:
            from archsmith.evaluators import EvalResult

            return EvalResult(metrics={"val_acc": _score(arch.values)})

    search = Search(bench_free, out=tmp_path, evaluator=Evaluator())  # type: ignore[arg-type]
    search.run()
    assert search._store is not None and search._search_id is not None
    rows = sorted(search._store.trials(search._search_id), key=lambda r: r.number)
    s = ArchsmithSearcher(search.space, "evolution", seed=5, metric="val_acc", mode="max", **EVO)
    assert [c[HASH_KEY] for c in _drive(s, 14)] == [r.hash for r in rows]


def test_seeded_runs_repeat() -> None:
    space = create_space("nb201")

    def run(seed: int) -> list[str]:
        s = ArchsmithSearcher(space, "evolution", seed=seed, metric="val_acc", mode="max",
                              **EVO)
        return [c[HASH_KEY] for c in _drive(s, 12)]

    assert run(1) == run(1) != run(2)


def test_save_restore_continues_exactly(tmp_path: Path) -> None:
    space = create_space("nb201")

    def searcher() -> ArchsmithSearcher:
        return ArchsmithSearcher(space, TensorStrategy(space), seed=3, metric="val_acc",
                                 mode="max")

    full = searcher()
    ref = _drive(full, 12)
    first = searcher()
    _drive(first, 7)
    pending = first.suggest("t7")  # in flight at the checkpoint
    path = tmp_path / "searcher-state-x.pkl"
    first.save(str(path))
    restored = searcher()
    restored.restore(str(path))
    assert restored.history == first.history
    assert restored.suggest("t7") == pending
    assert pending is not None
    restored.on_trial_complete("t7", {"val_acc": _score(pending)})
    assert _drive(restored, 4, start=8) == ref[8:]
    assert restored.strategy.weights.equal(full.strategy.weights)  # type: ignore[attr-defined]


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_restore_refuses_pickles_and_other_configurations(tmp_path: Path) -> None:
    space = create_space("nb201")
    s = ArchsmithSearcher(space, "evolution", seed=0, metric="val_acc", mode="max", **EVO)
    _drive(s, 2)
    good = tmp_path / "good.pkl"
    s.save(str(good))

    class Evil:
        def __reduce__(self) -> tuple[Any, ...]:
            return (print, ("pwned",))

    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps({"format": "archsmith-ray-searcher", "x": Evil()}))
    with pytest.raises(ConfigError, match="not an ArchsmithSearcher checkpoint"):
        s.restore(str(evil))
    other = ArchsmithSearcher(space, "evolution", seed=0, metric="val_acc", mode="max",
                              population_size=7, sample_size=3)
    with pytest.raises(ConfigError, match="strategy_config"):
        other.restore(str(good))


def test_metric_mode_and_param_space_errors() -> None:
    from ray import tune

    space = create_space("nb201")
    with pytest.raises(ConfigError, match="mode"):
        ArchsmithSearcher(space, "random", mode="maximize")
    s = ArchsmithSearcher(space, "random", seed=0)
    with pytest.raises(ConfigError, match="metric"):
        s.suggest("t0")
    assert s.set_search_properties("val_acc", "max", {"epochs": 5})
    assert (s.metric, s.mode) == ("val_acc", "max")
    with pytest.raises(ConfigError, match="metric='val_acc'"):
        s.set_search_properties("loss", None, {})
    with pytest.raises(ConfigError, match="lr"):
        s.set_search_properties(None, None, {"opt": {"lr": tune.loguniform(1e-4, 1e-1)}})
    with pytest.raises(ConfigError, match="none of the decisions"):
        config_to_architecture(space, {"lr": 0.1})


def test_add_evaluated_point_feeds_the_history() -> None:
    space = create_space("nb201")
    s = ArchsmithSearcher(space, "random", seed=0, metric="val_acc", mode="max")
    arch = space.sample(np.random.default_rng(0))
    s.add_evaluated_point(dict(arch.values), 77.0)
    s.add_evaluated_point(dict(arch.values), 0.0, error=True)
    assert [(r.state, r.score) for r in s.history] == [("complete", 77.0), ("failed", None)]


# -- on a local Ray ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """A local Ray on loopback, started in a thread with a 60 s limit (skip if it cannot)."""
    import sys

    import ray
    import ray.cloudpickle

    # the trainables below use this module's helpers, which Ray workers cannot import
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    if ray.is_initialized():
        yield None
        return
    started, stop = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def run() -> None:  # Ray's processes live as long as the thread that started them
        try:
            ray.init(address="local", num_cpus=2, include_dashboard=False,
                     _node_ip_address="127.0.0.1",
                     log_to_driver=False, logging_level=logging.ERROR)
        except BaseException as e:
            errors.append(e)
        finally:
            started.set()
        stop.wait()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    if not started.wait(60):
        pytest.skip("a local Ray did not start within 60 s on this machine")
    if errors:
        pytest.skip(f"a local Ray could not start: {errors[0]!r}")
    try:
        yield None
    finally:
        ray.shutdown()
        stop.set()


@pytest.mark.timeout(240)
def test_tuner_fit_on_local_ray(local_ray: None, tmp_path: Path) -> None:
    from ray import tune

    space = create_space("nb201")

    def trainable(config: dict[str, Any]) -> dict[str, float]:
        arch = config_to_architecture(space, config)
        assert arch.hash == config[HASH_KEY] and config["epochs"] == 3
        if arch["edge_1_0"] == "none":
            raise RuntimeError("boom")
        return {"val_acc": _score(config)}

    searcher = ArchsmithSearcher(space, "evolution", seed=0, **EVO)
    tuner = tune.Tuner(
        trainable,
        param_space={"epochs": 3},
        tune_config=tune.TuneConfig(search_alg=searcher, num_samples=10, metric="val_acc",
                                    mode="max", max_concurrent_trials=2, reuse_actors=True),
        run_config=tune.RunConfig(name="exp", storage_path=str(tmp_path), verbose=0),
    )
    results = tuner.fit()
    assert len(results) == 10
    hist = searcher.history
    assert len(hist) == 10 and all(r.state != "running" for r in hist)
    trials = [results[i] for i in range(len(results))]
    errored = {r.config[HASH_KEY] for r in trials if r.error is not None}  # type: ignore[index]
    assert {r.arch.hash for r in hist if r.state == "failed"} == errored
    best = results.get_best_result()
    assert best.metrics is not None and best.config is not None
    assert best.metrics["val_acc"] == max(r.score for r in hist if r.score is not None)
    # Tune checkpointed the searcher in the experiment folder; a new one restores it
    again = ArchsmithSearcher(space, "evolution", seed=0, **EVO)
    again.restore_from_dir(str(tmp_path / "exp"))
    assert again.history == hist and (again.metric, again.mode) == ("val_acc", "max")


@pytest.mark.timeout(240)
def test_example_runs(local_ray: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
                      ) -> None:
    import runpy
    import sys

    root = Path(__file__).parents[2]
    argv = sys.argv
    sys.argv = ["ray_tune_integration.py", "--trials", "8", "--storage", str(tmp_path)]
    try:
        runpy.run_path(str(root / "examples" / "ray_tune_integration.py"), run_name="__main__")
    finally:
        sys.argv = argv
    out = capsys.readouterr().out
    assert "8 trials (8 complete)" in out and "best cell:" in out
