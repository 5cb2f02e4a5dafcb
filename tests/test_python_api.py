"""The Python API (issue 12): AskTell, FunctionalSpace + FunctionEvaluator searches that
resume, the stored configuration is what ran, create_* by name."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ToyEvaluator, ToySpace

import archsmith
from archsmith.errors import ConfigError
from archsmith.evaluators import FunctionEvaluator
from archsmith.search import Search, SearchConfig


def _value(arch: archsmith.space.Architecture) -> float:
    return float(ToyEvaluator().evaluate(arch).metrics["val_acc"])


@pytest.mark.parametrize("strategy", ["random", "evolution", "gc"])
def test_ask_tell_proposes_what_a_search_would(tmp_path: Path, strategy: str) -> None:
    cfg = {"population_size": 4, "sample_size": 2} if strategy == "evolution" else {}
    if strategy == "gc":
        cfg = {"num_random": 3, "policy_samples": 16}
    s = Search(SearchConfig(space="toy", strategy=strategy, budget=8, seed=3,
                            strategy_config=cfg), tmp_path, space=ToySpace(),
               evaluator=ToyEvaluator())
    s.run()
    searched = [t["arch"] for t in _stored(tmp_path)]
    loop = archsmith.AskTell(ToySpace(), strategy=strategy, seed=3, strategy_config=cfg)
    asked = []
    for _ in range(8):
        trial = loop.ask()
        asked.append(trial.arch.to_dict())
        loop.tell(trial, _value(trial.arch))
    assert asked == searched
    assert loop.best is not None and loop.best.metrics["val_acc"] == max(
        t.metrics["val_acc"] for t in loop.trials)


def _stored(out: Path) -> list[dict]:
    from archsmith.store import Store, sqlite_url

    store = Store(sqlite_url(out / "archsmith.db"))
    try:
        row = store.get_search("default")
        assert row is not None
        return [t.to_dict() for t in store.trials(row.id)]
    finally:
        store.close()


def test_ask_tell_state_round_trip_continues_identically() -> None:
    def run(n: int, loop: archsmith.AskTell) -> list[dict]:
        out = []
        for _ in range(n):
            t = loop.ask()
            out.append(t.arch.to_dict())
            loop.tell(t, _value(t.arch))
        return out

    whole = run(10, archsmith.AskTell(ToySpace(), "evolution", seed=1,
                                      strategy_config={"population_size": 4, "sample_size": 2}))
    first = archsmith.AskTell(ToySpace(), "evolution", seed=1,
                              strategy_config={"population_size": 4, "sample_size": 2})
    head = run(6, first)
    state = json.loads(json.dumps(first.state_dict()))
    second = archsmith.AskTell(ToySpace(), "evolution", seed=1,
                               strategy_config={"population_size": 4, "sample_size": 2})
    second.load_state_dict(state)
    assert head + run(4, second) == whole


def test_ask_tell_failures_and_misuse() -> None:
    loop = archsmith.AskTell(ToySpace(), "random", seed=0)
    a, b = loop.ask(), loop.ask()  # two out at once
    assert a.arch.hash != b.arch.hash
    rec = loop.tell(a, float("nan"))
    assert rec.state == "failed" and "val_acc" in loop.errors[a.number]
    loop.tell(b, None, error="out of memory")
    assert loop.errors[b.number] == "out of memory" and loop.best is None
    with pytest.raises(ConfigError, match="already told"):
        loop.tell(a, 1.0)
    with pytest.raises(ConfigError, match="never asked"):
        loop.tell(99, 1.0)
    c = loop.ask()
    with pytest.raises(ConfigError, match="lack the objective"):
        loop.tell(c, {"acc": 1.0})
    loop.tell(c, {"val_acc": 2.0, "params": 10.0})
    assert loop.best is not None and loop.best.number == c.number


def test_objects_are_recorded_as_they_ran(tmp_path: Path) -> None:
    def score(arch: object, budget: object) -> dict[str, float]:
        return {"val_acc": 1.0}

    s = Search(SearchConfig(strategy="random", budget=2), tmp_path,
               space=ToySpace(), evaluator=FunctionEvaluator(score))
    assert s.config.space == "toy" and s.config.epochs is None and s.config.data is None
    assert s.config.evaluator == "python:test_objects_are_recorded_as_they_ran.<locals>.score"
    s.run()
    with pytest.raises(ConfigError,
                       match=r"Search\.resume\(.*space=.toy.*evaluator=\.\.\. \(a Python object"):
        Search.resume(tmp_path)
    again = Search.resume(tmp_path, space=ToySpace(), evaluator=FunctionEvaluator(score),
                          budget=3)
    assert again.run()["trials"] == 3


def test_benchmark_config_from_python_needs_no_space() -> None:
    cfg = SearchConfig(benchmark="nb201/cifar10")
    assert cfg.space == "nb201"


def test_create_by_name() -> None:
    space = archsmith.create_space("mlp")
    assert archsmith.create_strategy("random", space).space is space
    assert archsmith.create_critic("gp", space) is not None
    assert archsmith.create_evaluator("nb201/cifar10").default_objective == "val_acc"
    with pytest.raises(archsmith.ArchsmithError, match="Valid evaluator names"):
        archsmith.create_evaluator("nope")


_MODULE = '''
import torch
from archsmith.space import Decision, FunctionalSpace


def build(arch, input_shape, num_classes):
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(num_classes))


def make_space():
    return FunctionalSpace("tiny", [Decision("a", tuple(range(8))),
                                    Decision("b", tuple(range(8)))], build)


def score(arch, budget):
    import time
    time.sleep(0.1)
    return {"val_acc": float(arch["a"] * 8 + arch["b"])}
'''

_DRIVER = '''
import sys
from archsmith.search import Search, SearchConfig
from archsmith.evaluators import FunctionEvaluator
from tinyspace import make_space, score

cfg = SearchConfig(strategy="evolution", budget=int(sys.argv[2]), seed=2,
                   strategy_config={"population_size": 6, "sample_size": 2})
Search(cfg, sys.argv[1], space=make_space(), evaluator=FunctionEvaluator(score)).run()
'''


def test_functional_space_and_function_evaluator_resume_after_kill_9(tmp_path: Path) -> None:
    from tests.test_cli import _wait_complete

    (tmp_path / "tinyspace.py").write_text(textwrap.dedent(_MODULE))
    (tmp_path / "driver.py").write_text(textwrap.dedent(_DRIVER))
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    full = tmp_path / "full"
    subprocess.run([sys.executable, "driver.py", str(full), "24"], cwd=tmp_path, env=env,
                   check=True, timeout=120)
    cut = tmp_path / "cut"
    proc = subprocess.Popen([sys.executable, "driver.py", str(cut), "24"], cwd=tmp_path,
                            env=env)
    _wait_complete(cut / "archsmith.db", 6)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = {t["number"]: t for t in _stored(cut) if t["state"] == "complete"}
    assert 6 <= len(before) < 24
    # the CLI rebuilds the space and the evaluator from their references
    res = subprocess.run([sys.executable, "-m", "archsmith", "resume", str(cut)],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    after, reference = _stored(cut), _stored(full)
    assert [t["state"] for t in after] == ["complete"] * 24
    for n, t in before.items():
        assert after[n]["arch"] == t["arch"] and after[n]["metrics"] == t["metrics"]
    assert [(t["arch"], t["metrics"]) for t in after] == \
        [(t["arch"], t["metrics"]) for t in reference]


def test_an_evaluator_missing_a_method_is_named_up_front(tmp_path: Path) -> None:
    class NoDescribe:
        default_objective = "val_acc"

        def check_space(self, space: object) -> None: ...

        def evaluate(self, arch: object, budget: object = None) -> None: ...

    with pytest.raises(ConfigError, match=r"lacks describe\(\)"):
        Search(SearchConfig(budget=1), tmp_path, space=ToySpace(), evaluator=NoDescribe())
    from archsmith.evaluators import TabularBenchmark, TrainsFinal, create_evaluator

    assert isinstance(create_evaluator("nb201/cifar10"), TabularBenchmark)
    assert isinstance(create_evaluator("training", data="iris"), TrainsFinal)


def test_a_training_evaluator_object_is_recorded_so_that_resume_rebuilds_it(
        tmp_path: Path) -> None:
    from archsmith.evaluators import TrainingEvaluator

    ev = TrainingEvaluator("iris", epochs=1, lr=0.01, batch_size=16)
    s = Search(SearchConfig(space="mlp", strategy="random", budget=1, export=False),
               tmp_path / "a", evaluator=ev)
    s.run()
    assert s.config.data == "iris" and s.config.training["lr"] == 0.01
    again = Search.resume(tmp_path / "a", budget=2)  # rebuilt from the stored config
    assert again.evaluator.describe() == ev.describe()
    assert again.run()["trials"] == 2
    odd = TrainingEvaluator("iris", epochs=1, val_fraction=0.2)  # not rebuildable
    Search(SearchConfig(space="mlp", strategy="random", budget=1, export=False),
           tmp_path / "b", evaluator=odd).run()
    with pytest.raises(ConfigError,
                       match=r"Search\.resume\(.*evaluator=\.\.\. \(a Python object: iris"):
        Search.resume(tmp_path / "b")


def test_fingerprint_ignores_threads_and_the_preprocessing_record() -> None:
    cfg = SearchConfig(data="iris")
    old = {"kind": "training", "num_threads": None, "dataset": {"sha256": "x"}}
    new = {"kind": "training", "num_threads": 1,
           "dataset": {"sha256": "x", "preprocessing": {"scale": 1.0}}}
    assert cfg.fingerprint(old) == cfg.fingerprint(new)
    assert cfg.fingerprint(old) != cfg.fingerprint({**old, "dataset": {"sha256": "y"}})


def test_ask_tell_state_is_json_with_tensor_strategies_and_bad_values_are_refused() -> None:
    loop = archsmith.AskTell("nb201", "reinforce", seed=0)
    for _ in range(3):
        t = loop.ask()
        loop.tell(t, float(sum(t.arch.indices)))
    state = json.loads(json.dumps(loop.state_dict()))
    copy = archsmith.AskTell("nb201", "reinforce", seed=0)
    copy.load_state_dict(state)
    assert loop.ask().arch == copy.ask().arch
    pending = loop.ask()
    with pytest.raises(ConfigError, match="not a number"):
        loop.tell(pending, {"val_acc": 1.0, "note": "x"})
    assert loop.tell(pending, 2.0).state == "complete"  # the trial was not lost
