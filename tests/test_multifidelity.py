"""Multi-fidelity searches (issue 13): schedulers in the search loop, promotions that
continue training, resume after a crash with the same final leaderboard, the
simulated-time path with no idle worker, every strategy and executor, clear refusals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from archsmith import Search, SearchConfig
from archsmith.cli import app
from archsmith.evaluators import EvalResult, FunctionEvaluator, TrainingEvaluator
from archsmith.executors import create_executor
from archsmith.space import Architecture, SearchSpace, create_space
from archsmith.store import Store

REPO = Path(__file__).resolve().parents[1]


def _rungs(out: Path) -> list[tuple[int, int, str, float | None]]:
    store = Store(f"sqlite:///{out / 'archsmith.db'}")
    try:
        sid = store.get_search("default").id  # type: ignore[union-attr]
        return [(r.number, r.budget, r.state, r.metrics.get("val_loss"))
                for r in store.rungs(sid)]
    finally:
        store.close()


def _leaderboard(out: Path) -> list[tuple[int, int | None, float]]:
    store = Store(f"sqlite:///{out / 'archsmith.db'}")
    try:
        sid = store.get_search("default").id  # type: ignore[union-attr]
        return [(t.number, t.budget, round(t.metrics["val_loss"], 6))
                for t in store.trials(sid) if t.state == "complete"]
    finally:
        store.close()


WINE = {"data": "wine", "space": "mlp", "scheduler": "asha", "epochs": 9, "budget": 4,
        "strategy": "evolution", "seed": 3, "export": False}


# -- promotion continues training ---------------------------------------------------------
def test_promoted_trial_ends_like_an_uninterrupted_run(tmp_path: Path) -> None:
    search = Search(SearchConfig(**WINE), tmp_path / "run")
    summary = search.run()
    assert summary["status"] == "finished"
    rungs = _rungs(tmp_path / "run")
    top = [n for n, b, _s, _l in rungs if b == 9]
    assert top, rungs
    store = Store(f"sqlite:///{tmp_path / 'run' / 'archsmith.db'}")
    sid = store.get_search("default").id  # type: ignore[union-attr]
    rows = {r.number: r for r in store.trials(sid)}
    by = {(r.number, r.budget): r for r in store.rungs(sid)}
    store.close()
    n = top[0]
    # 1 → 3 → 9 epochs cost 9 epochs, not 13: each rung trained only its new epochs
    assert [by[(n, b)].trained for b in (1, 3, 9)] == [1.0, 2.0, 6.0]
    assert by[(n, 3)].metrics["resumed_from_epoch"] == 1.0
    assert by[(n, 9)].metrics["resumed_from_epoch"] == 3.0
    # the same network trained 9 epochs without stopping: same curve, to 1e-6
    ev = TrainingEvaluator("wine", epochs=9, seed=3)
    arch = search.space.from_dict(rows[n].arch)
    fresh = ev.evaluate(arch, 9)
    got = by[(n, 9)].curve
    assert len(got) == 9
    for a, b in zip(got, fresh.curve, strict=True):
        assert abs(a["train_loss"] - b["train_loss"]) <= 1e-6
        assert abs(a["val_loss"] - b["val_loss"]) <= 1e-6
    # a finished search keeps no checkpoints; spent ≤ budget × epochs
    assert not (tmp_path / "run" / "checkpoints").exists()
    assert summary["epochs_trained"] <= 4 * 9


# -- kill -9, then resume ------------------------------------------------------------------
_CRASH = textwrap.dedent("""
    import os, sys
    from archsmith import Search, SearchConfig
    from archsmith._scheduled import ScheduledRun
    from archsmith.evaluators import TrainingEvaluator
    out, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    calls = [0]
    if mode == "save":  # odd n: a job started, unsaved; even n: a rung stored, unsaved
        orig = ScheduledRun._save
        def patched(self, *a, **k):
            calls[0] += 1
            if calls[0] == n:
                os._exit(9)
            orig(self, *a, **k)
        ScheduledRun._save = patched
    else:  # the checkpoint is written, the result never reaches the driver
        orig_ev = TrainingEvaluator.evaluate
        def patched_ev(self, *a, **k):
            r = orig_ev(self, *a, **k)
            calls[0] += 1
            if calls[0] == n:
                os._exit(9)
            return r
        TrainingEvaluator.evaluate = patched_ev
    Search(SearchConfig(**%r), out).run()
""") % WINE


@pytest.mark.parametrize(("mode", "n"), [("save", 7), ("save", 8), ("train", 5), ("train", 12)])
def test_crash_then_resume_gives_the_uninterrupted_leaderboard(
    tmp_path: Path, mode: str, n: int
) -> None:
    ref = tmp_path / "ref"
    Search(SearchConfig(**WINE), ref).run()
    out = tmp_path / "crashed"
    proc = subprocess.run([sys.executable, "-c", _CRASH, str(out), str(n), mode],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 9, proc.stderr
    before = _rungs(out)
    assert 0 < len(before) < len(_rungs(ref))
    summary = Search.resume(out).run()
    assert summary["status"] == "finished"
    after = _rungs(out)
    assert after[: len(before)] == before or set(before) <= set(after)  # nothing lost
    assert _leaderboard(out) == _leaderboard(ref)
    assert after == _rungs(ref)


_SLOW_CONTINUING = textwrap.dedent("""
    import json, os, time
    def fn(arch, budget, checkpoint=None):
        start, value = 0, 0.0
        if checkpoint and os.path.exists(checkpoint):
            with open(checkpoint) as f:
                state = json.load(f)
            start, value = state["epoch"], state["value"]
        q = sum(int(v) if str(v).isdigit() else len(str(v)) for v in arch["decisions"].values())
        for epoch in range(start + 1, budget + 1):
            time.sleep(0.03)
            value += (q % 17 + 1) / epoch
        if checkpoint:
            tmp = checkpoint + ".tmp"
            with open(tmp, "w") as f:
                json.dump({"epoch": budget, "value": value}, f)
            os.replace(tmp, checkpoint)
        return {"val_acc": value, "val_loss": -value, "resumed_from_epoch": float(start)}
""")


def test_sigkill_of_the_cli_then_resume(tmp_path: Path) -> None:
    ev = tmp_path / "slowfit.py"
    ev.write_text(_SLOW_CONTINUING)
    args = ["--space", "mlp", "--evaluator", f"{ev}:fn", "--strategy", "evolution",
            "--scheduler", "asha", "--epochs", "9", "--budget", "6", "--seed", "2"]
    ref, out = tmp_path / "ref", tmp_path / "run"
    assert CliRunner().invoke(app, ["search", *args, "--out", str(ref)]).exit_code == 0
    proc = subprocess.Popen([sys.executable, "-m", "archsmith", "search", *args, "--out",
                             str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if len(_rungs(out)) >= 8:
                break
        except Exception:  # the database is not there yet
            pass
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _rungs(out)
    assert 8 <= len(before) < len(_rungs(ref))
    assert any(f.name.startswith("trial-") for f in (out / "checkpoints").iterdir())
    result = CliRunner().invoke(app, ["resume", str(out)])
    assert result.exit_code == 0, result.output
    assert set(before) <= set(_rungs(out))
    assert _rungs(out) == _rungs(ref)
    shown = json.loads(CliRunner().invoke(app, ["show", str(out), "--json"]).output)
    assert all("rungs" in t and "budget" in t for t in shown["trials"])
    assert {"number", "state", "metrics", "arch"} <= set(shown["trials"][0])


# -- the simulated-time path ---------------------------------------------------------------
class CurveEvaluator:
    """Known curve per budget and a known cost per epoch (simulated seconds)."""

    default_objective = "val_acc"
    fidelity = "epochs"
    continues = True
    simulated_time_metric = "sim_seconds"

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def check_space(self, space: SearchSpace) -> None:
        pass

    def describe(self) -> dict[str, Any]:
        return {"kind": "curve"}

    @staticmethod
    def quality(arch: Architecture) -> float:
        return float(sum((i + 1) * (3 + x) for i, x in enumerate(arch.indices)) % 89)

    def evaluate(self, arch: Architecture, budget: int | None = None, *,
                 checkpoint: str | None = None) -> EvalResult:
        assert budget is not None
        start = 0
        if checkpoint and os.path.exists(checkpoint):
            start = int(Path(checkpoint).read_text())
        if checkpoint:
            Path(checkpoint).parent.mkdir(parents=True, exist_ok=True)
            Path(checkpoint).write_text(str(budget))
        per_epoch = 1.0 + (int(arch.hash[:6], 16) % 1000) / 997.0
        val = self.quality(arch) - 30.0 / budget
        return EvalResult(metrics={"val_acc": val, "sim_seconds": (budget - start) * per_epoch,
                                   "resumed_from_epoch": float(start)})


def test_simulated_asha_promotes_by_the_rules_and_no_worker_idles(tmp_path: Path) -> None:
    ex = create_executor("simulated", workers=16)
    cfg = SearchConfig(space="mlp", evaluator="python:curve", strategy="random",
                       scheduler="asha", epochs=27, min_epochs=1, eta=3, budget=40, seed=0,
                       export=False)
    search = Search(cfg, tmp_path / "sim", evaluator=CurveEvaluator(str(tmp_path)),
                    executor=ex)
    assert search.run()["status"] == "finished"
    jobs = sorted(ex.jobs, key=lambda j: (j[1], j[2]))  # type: ignore[attr-defined]
    assert sum(s == 0.0 for _n, s, _e in jobs) == 16
    ends = {e for _n, _s, e in jobs}
    for _n, s, _e in jobs:
        assert s == 0.0 or s in ends  # a job starts only when another one ends
        assert sum(a <= s < b for _m, a, b in jobs) == 16  # ... and all 16 are busy
    # every promotion out of rung k went to a trial in the top max(1, ⌊n/3⌋) of rung k's
    # results known when it started (ASHA's default min_top=1: Optuna's rule)
    store = search._store
    assert store is not None
    rungs = store.rungs(search._search_id)  # type: ignore[arg-type]
    budgets = [1, 3, 9, 27]
    end_of = {}
    order = sorted(ex.jobs, key=lambda j: j[2])  # type: ignore[attr-defined]
    per_trial: dict[int, list[tuple[float, float]]] = {}
    for n, s, e in order:
        per_trial.setdefault(n, []).append((s, e))
    for r in rungs:
        end_of[(r.number, r.budget)] = per_trial[r.number][budgets.index(r.budget)][1]
    promotions = 0
    for r in rungs:
        k = budgets.index(r.budget)
        if k == 0:
            continue
        promotions += 1
        started = per_trial[r.number][k][0]
        known = {x.number: x.metrics["val_acc"] for x in rungs
                 if x.budget == budgets[k - 1] and end_of[(x.number, x.budget)] <= started}
        top = sorted(known, key=lambda t: (-known[t], t))[: max(1, len(known) // 3)]
        assert r.number in top
    assert promotions >= 10 and any(r.budget == 27 for r in rungs)


# -- every strategy, every executor --------------------------------------------------------
def _curve_fn(arch: Architecture, budget: int | None) -> dict[str, float]:
    q = float(sum((i + 1) * (2 + x) for i, x in enumerate(arch.indices)) % 53)
    return {"val_acc": q - 20.0 / float(budget or 1)}


@pytest.mark.parametrize("strategy", ["random", "evolution", "local", "reinforce", "bananas",
                                      "bo", "gc", "optuna:tpe"])
def test_every_strategy_runs_under_asha(tmp_path: Path, strategy: str) -> None:
    cfg = SearchConfig(space="mlp", evaluator="python:curve", strategy=strategy,
                       scheduler="asha", epochs=9, budget=4, seed=1, export=False,
                       strategy_config={"num_init": 4} if strategy in ("bananas", "bo", "gc")
                       else {})
    search = Search(cfg, tmp_path / strategy, evaluator=FunctionEvaluator(_curve_fn))
    summary = search.run()
    assert summary["status"] == "finished", summary
    assert summary["rungs"][0] >= 9 and summary["rungs"][-1] >= 1
    assert summary["epochs_trained"] <= 4 * 9


@pytest.mark.parametrize("scheduler", ["sh", "hyperband", "median"])
def test_other_schedulers_finish(tmp_path: Path, scheduler: str) -> None:
    cfg = SearchConfig(space="mlp", evaluator="python:curve", strategy="random",
                       scheduler=scheduler, epochs=9, budget=5, seed=1, export=False)
    summary = Search(cfg, tmp_path / scheduler, evaluator=FunctionEvaluator(_curve_fn)).run()
    assert summary["status"] == "finished" and summary["rungs"][-1] >= 1


@pytest.mark.parametrize("executor", ["process", "ray"])
def test_parallel_executors_continue_from_checkpoints(tmp_path: Path, executor: str) -> None:
    if executor == "ray":
        pytest.importorskip("ray")
    cfg = SearchConfig(**{**WINE, "workers": 2, "executor": executor, "budget": 3})
    search = Search(cfg, tmp_path / executor)
    assert search.run()["status"] == "finished"
    rungs = _rungs(tmp_path / executor)
    assert any(b > 1 for _n, b, _s, _l in rungs)
    store = search._store
    assert store is not None
    resumed = [r.metrics.get("resumed_from_epoch") for r in
               store.rungs(search._search_id) if r.budget > 1]  # type: ignore[arg-type]
    assert resumed and all(v is not None and v >= 1 for v in resumed)


# -- refusals ------------------------------------------------------------------------------
@pytest.mark.parametrize(("args", "needle"), [
    (["--benchmark", "nb201/cifar10", "--scheduler", "asha"], "no learning curves"),
    (["--data", "iris", "--space", "mlp", "--scheduler", "asha", "--min-epochs", "9",
      "--epochs", "3"], "larger than max_budget"),
    (["--data", "iris", "--space", "mlp", "--scheduler", "asha", "--eta", "1"], "eta"),
    (["--data", "iris", "--space", "mlp", "--time-budget", "-5"],
     "time_budget must be a positive"),
    (["--data", "iris", "--space", "mlp", "--scheduler", "fastest"], "scheduler"),
])
def test_bad_scheduler_input_is_a_clear_error(tmp_path: Path, args: list[str],
                                              needle: str) -> None:
    result = CliRunner().invoke(app, ["search", *args, "--out", str(tmp_path / "x")])
    assert result.exit_code == 2, result.output
    assert needle in result.output
    assert "Traceback" not in result.output


def test_an_evaluator_without_a_budget_is_refused(tmp_path: Path) -> None:
    class NoBudget:
        default_objective = "val_acc"

        def check_space(self, space: SearchSpace) -> None:
            pass

        def describe(self) -> dict[str, Any]:
            return {"kind": "nobudget"}

        def evaluate(self, arch: Architecture, budget: int | None = None) -> EvalResult:
            return EvalResult(metrics={"val_acc": 1.0})

    cfg = SearchConfig(space="mlp", evaluator="python:x", scheduler="asha", epochs=9)
    with pytest.raises(Exception, match="declares no `fidelity`"):
        Search(cfg, tmp_path / "x", evaluator=NoBudget())


def test_a_search_without_scheduler_keeps_its_fingerprint() -> None:
    cfg = SearchConfig(space="mlp", data="iris", budget=3)
    d = cfg.to_dict()
    for k in SearchConfig.SCHEDULER_KEYS:
        d.pop(k)
    d.pop("checkpoint_mb")
    d.pop("constraints")  # added later still: left out of the fingerprint while empty
    for k in (*SearchConfig.INHERIT_KEYS, "teacher"):  # later again: left out while unused
        d.pop(k)
    import hashlib

    desc = {"kind": "x"}
    old = hashlib.sha256(json.dumps(
        [{k: v for k, v in d.items() if k not in SearchConfig.RUNTIME_KEYS}, desc],
        sort_keys=True, default=str).encode()).hexdigest()
    assert cfg.fingerprint(desc) == old
    assert SearchConfig(space="mlp", data="iris", scheduler="asha", epochs=9).fingerprint(
        desc) != old
    assert np.isfinite(1.0) and create_space("mlp").name == "mlp"


def test_optuna_strategies_see_rungs_as_a_pruner_reports_them() -> None:
    from archsmith.strategies import TrialRecord, create_strategy

    space = create_space("mlp")
    strat = create_strategy("optuna:tpe", space)
    rng = np.random.default_rng(0)
    a, b = strat.ask([], 2, rng)
    strat.tell([
        TrialRecord(0, a, "complete", score=50.0, budget=1, rungs={1: 50.0}, max_budget=9),
        TrialRecord(1, b, "complete", score=70.0, budget=9, rungs={1: 40.0, 3: 60.0,
                                                                  9: 70.0}, max_budget=9),
    ])
    strat.ask([], 1, rng)  # the study is rebuilt from the rung results
    trials = {tuple(sorted(t.params.items())): t for t in strat.study.trials
              if t.state.name != "RUNNING"}
    assert sorted(t.state.name for t in trials.values()) == ["COMPLETE", "PRUNED"]
    pruned = next(t for t in trials.values() if t.state.name == "PRUNED")
    done = next(t for t in trials.values() if t.state.name == "COMPLETE")
    assert pruned.intermediate_values == {1: 50.0}
    assert done.intermediate_values == {1: 40.0, 3: 60.0, 9: 70.0} and done.value == 70.0
    # trial 0 promoted and fully trained later: its entry is replaced, not duplicated
    strat.tell([TrialRecord(0, a, "complete", score=80.0, budget=9,
                            rungs={1: 50.0, 3: 65.0, 9: 80.0}, max_budget=9)])
    state = strat.state_dict()
    again = create_strategy("optuna:tpe", space)
    again.load_state_dict(state)
    finished = [t for t in again.study.trials if t.state.name != "RUNNING"]
    assert sorted(t.state.name for t in finished) == ["COMPLETE", "COMPLETE"]
    assert sorted(t.value for t in finished) == [70.0, 80.0]


def test_bench_on_real_training_against_seconds(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    result = CliRunner().invoke(app, [
        "bench", "--data", "iris", "--space", "mlp", "--strategies", "random",
        "--scheduler", "asha,none", "--time-budget", "4", "--epochs", "3", "--seeds", "1",
        "--workers", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    import csv

    with open(out / "results_time.csv") as f:
        rows = list(csv.DictReader(f))
    assert {(r["strategy"], r["scheduler"]) for r in rows} == {("random", "asha"),
                                                               ("random", "none")}
    for key in {(r["strategy"], r["scheduler"]) for r in rows}:
        best = [float(r["best_so_far"]) for r in rows if (r["strategy"], r["scheduler"]) == key]
        secs = [float(r["seconds"]) for r in rows if (r["strategy"], r["scheduler"]) == key]
        assert best == sorted(best) and all(0 <= s <= 4 for s in secs)
    assert "random | asha" in (out / "summary_time.md").read_text()
    assert (out / "curves_time.png").stat().st_size > 1000
    bad = CliRunner().invoke(app, ["bench", "--data", "iris", "--strategies", "random",
                                   "--out", str(tmp_path / "b2")])
    assert bad.exit_code == 2 and "--time-budget" in bad.output
