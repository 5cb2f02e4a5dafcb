"""The simulated-time executor: event order, clock, time-outs, searches and the harness."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from archsmith.cli import app
from archsmith.errors import ConfigError
from archsmith.evaluators import create_benchmark
from archsmith.executors import create_executor
from archsmith.executors._simulated import SimulatedExecutor
from archsmith.report import run_bench
from archsmith.search import Search, SearchConfig


@pytest.fixture(scope="module")
def bench():  # type: ignore[no-untyped-def]
    return create_benchmark("nb201/cifar10")


def test_trials_finish_in_order_of_simulated_time(bench) -> None:  # type: ignore[no-untyped-def]
    space = bench.default_space()
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(6)]
    times = [bench.evaluate(a).metrics["train_seconds"] for a in archs]
    ex = create_executor("simulated", workers=3)
    assert isinstance(ex, SimulatedExecutor)
    for i in range(3):
        ex.submit(i, bench, archs[i], None)
    with pytest.raises(ConfigError, match="busy"):
        ex.submit(9, bench, archs[3], None)
    first = min(range(3), key=lambda i: times[i])
    [(number, result)] = ex.wait()
    assert number == first and result.ok
    assert ex.now == pytest.approx(times[first])
    # a new trial starts at the current clock
    ex.submit(3, bench, archs[3], None)
    rest = {n: ex.log.get(n) for n in range(4)}
    assert rest[first] == (0.0, pytest.approx(times[first]))
    ends = []
    while True:
        out = ex.wait()
        if not out:
            break
        ends.append(ex.now)
    assert ends == sorted(ends)
    assert ex.log[3][0] == pytest.approx(times[first])
    assert ex.log[3][1] == pytest.approx(times[first] + times[3])


def test_timeout_fails_at_the_limit(bench) -> None:  # type: ignore[no-untyped-def]
    space = bench.default_space()
    arch = space.sample(np.random.default_rng(1))
    ex = SimulatedExecutor(workers=1)
    ex.submit(0, bench, arch, None, timeout=1.0)
    [(_, res)] = ex.wait()
    assert not res.ok and "timeout" in (res.error or "") and "simulated" in (res.error or "")
    assert ex.now == pytest.approx(1.0)


def test_benchmark_without_training_time_is_refused(tmp_path: Path) -> None:
    cfg = SearchConfig(space="nbgraph", benchmark="nbgraph/cora", executor="simulated",
                       workers=4, budget=5, export=False)
    with pytest.raises(ConfigError, match=r"simulated.*nbgraph/cora"):
        Search(cfg, out=tmp_path)


def _run(tmp_path: Path, name: str, strategy: str, workers: int = 64,
         budget: int = 150) -> tuple[list[tuple[str, float | None]], float]:
    cfg = SearchConfig(space="nb201", benchmark="nb201/cifar10", strategy=strategy,
                       executor="simulated", workers=workers, budget=budget, seed=3,
                       export=False)
    s = Search(cfg, out=tmp_path / name)
    summary = s.run()
    assert summary["trials"] == budget and summary["status"] == "finished"
    assert s._store is not None and s._search_id is not None
    rows = s._store.trials(s._search_id)
    return [(r.hash, r.metrics.get("val_acc")) for r in rows], float(s.executor.now)  # type: ignore[attr-defined]


@pytest.mark.parametrize("strategy", ["random", "evolution", "gc"])
def test_64_worker_search_is_fast_and_reproducible(tmp_path: Path, strategy: str) -> None:
    budget = 150 if strategy != "gc" else 90
    a, end_a = _run(tmp_path, "a", strategy, budget=budget)
    b, end_b = _run(tmp_path, "b", strategy, budget=budget)
    assert a == b and end_a == end_b
    # 64 workers finish far sooner (in simulated time) than one would
    _, end_1 = _run(tmp_path, "one", "random", workers=1, budget=budget)
    if strategy == "random":
        assert end_a < end_1 / 10


def test_bench_workers_sim_writes_time_curves(tmp_path: Path) -> None:
    res = run_bench("nb201", "nb201/cifar10", ["random", "evolution"], budget=80, seeds=2,
                    out=tmp_path, workers_sim=16)
    sim = res["simulated"]
    assert sim["workers_sim"] == 16 and sim["end_seconds"] > 0
    for f in ("results_time.csv", "curves_time.png"):
        assert (tmp_path / f).is_file()
    with (tmp_path / "results_time.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 * 2 * 80
    for s in ("random", "evolution"):
        run = [r for r in rows if r["strategy"] == s and r["seed"] == "0"]
        t = [float(r["sim_seconds"]) for r in run]
        best = [float(r["best_so_far"]) for r in run if r["best_so_far"]]
        assert t == sorted(t) and best == sorted(best)
        at = sim["at"][s]
        assert at["100%"]["mean"] >= at["50%"]["mean"]
    text = (tmp_path / "summary.md").read_text()
    assert "simulated wall-clock (16 asynchronous workers)" in text
    assert "--workers-sim 16" in json.loads((tmp_path / "summary.json").read_text())["command"]


def test_cli_bench_workers_sim(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["bench", "--benchmark", "nb201/cifar10", "--strategies",
                                 "random", "--budget", "70", "--seeds", "1", "--workers-sim",
                                 "64", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "simulated wall-clock" in r.output
    assert (tmp_path / "curves_time.png").is_file()
    r = CliRunner().invoke(app, ["bench", "--benchmark", "nb201/cifar10", "--strategies",
                                 "random", "--budget", "5", "--seeds", "1", "--workers-sim",
                                 "0", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "workers_sim" in r.output


def test_cli_search_reports_simulated_clock(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["search", "--benchmark", "nb201/cifar10", "--strategy",
                                 "random", "--budget", "40", "--workers", "16", "--executor",
                                 "simulated", "--out", str(tmp_path / "s")])
    assert r.exit_code == 0, r.output
    assert "simulated wall-clock on 16 workers" in r.output


class _InFlightCheck(SimulatedExecutor):
    """Counts submissions whose architecture is already running (duplicates in flight)."""

    def __init__(self, workers: int) -> None:
        super().__init__(workers)
        self.flying: dict[int, str] = {}
        self.duplicates = 0

    def submit(self, number, evaluator, arch, budget, timeout=None) -> None:  # type: ignore[no-untyped-def]
        self.duplicates += arch.hash in self.flying.values()
        self.flying[number] = arch.hash
        super().submit(number, evaluator, arch, budget, timeout)

    def wait(self):  # type: ignore[no-untyped-def]
        out = super().wait()
        for n, _ in out:
            self.flying.pop(n, None)
        return out


@pytest.mark.parametrize(
    "strategy", ["random", "evolution", "local", "reinforce", "bananas", "bo", "optuna:tpe", "gc"])
def test_every_strategy_runs_asynchronously_without_duplicates_in_flight(
        tmp_path: Path, strategy: str) -> None:
    ex = _InFlightCheck(8)
    cfg = SearchConfig(space="nb201", benchmark="nb201/cifar10", strategy=strategy,
                       budget=24, seed=1, export=False, executor="simulated", workers=8)
    summary = Search(cfg, out=tmp_path, storage="sqlite://", executor=ex).run()
    assert summary["trials"] == 24 and summary["status"] == "finished"
    assert ex.duplicates == 0
