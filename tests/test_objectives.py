"""Several objectives and constraints (issue 14): Pareto arithmetic, parsing, the search's
front and knee, constraints checked before training, refusals."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from archsmith._config import SearchConfig
from archsmith._objectives import Constraint, Objectives, front_of
from archsmith._pareto import crowding_distance, hypervolume, knee_point, nondominated, pareto_ranks
from archsmith.cli import app
from archsmith.errors import ConfigError
from archsmith.search import Search

points = st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), min_size=1, max_size=25)


def _dominates(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all(x >= y for x, y in zip(a, b, strict=True)) and a != b


@given(points)
@settings(max_examples=60, deadline=None)
def test_nondominated_and_ranks_match_the_definition(pts: list[tuple[int, int]]) -> None:
    mask = nondominated(pts)
    for i, p in enumerate(pts):
        assert mask[i] == (not any(_dominates(q, p) for q in pts))
    ranks = pareto_ranks(pts)
    for i, j in itertools.permutations(range(len(pts)), 2):
        if _dominates(pts[i], pts[j]):
            assert ranks[i] < ranks[j]


def _hv_by_grid(pts: list[tuple[int, int]], ref: tuple[int, int]) -> float:
    """Unit cells of the integer grid dominated by some point (an independent count)."""
    cells = 0
    for x in range(ref[0], 7):
        for y in range(ref[1], 7):
            if any(px >= x + 1 and py >= y + 1 for px, py in pts):
                cells += 1
    return float(cells)


@given(points)
@settings(max_examples=60, deadline=None)
def test_hypervolume_counts_the_dominated_area(pts: list[tuple[int, int]]) -> None:
    assert hypervolume(pts, ref=(0, 0)) == pytest.approx(_hv_by_grid(pts, (0, 0)))
    assert hypervolume(pts, ref=(2, 1)) == pytest.approx(_hv_by_grid(pts, (2, 1)))


def test_three_objective_hypervolume_and_knee_and_crowding() -> None:
    cube = [(1.0, 1.0, 1.0)]
    assert hypervolume(cube, ref=(0, 0, 0)) == pytest.approx(1.0)
    two = [(2.0, 1.0, 1.0), (1.0, 2.0, 1.0)]
    assert hypervolume(two, ref=(0, 0, 0)) == pytest.approx(3.0)
    assert hypervolume([], ref=(0, 0)) == 0.0
    assert knee_point([[5.0]]) == 0 and knee_point([]) is None
    # the balanced point is the knee of a convex front
    assert knee_point([[1.0, 0.0], [0.8, 0.8], [0.0, 1.0]]) == 1
    d = crowding_distance([[0, 3], [1, 2], [3, 0]])
    assert np.isinf(d[0]) and np.isinf(d[2]) and d[1] == pytest.approx(2.0)


def test_objectives_and_constraints_parse_with_clear_errors() -> None:
    o = Objectives.parse("val_acc, latency_ms", None, ["params<=2e5", "val_acc>=50"])
    assert o.names == ("val_acc", "latency_ms") and o.directions == ("max", "min")
    assert o.values({"val_acc": 90, "latency_ms": 2}) == (90.0, -2.0)
    assert o.values({"val_acc": 90}) is None
    assert o.violation({"val_acc": 40, "params": 3e5}) == pytest.approx(0.5 + 0.2)
    assert o.violated({"val_acc": 40, "params": 1e5}) == ["val_acc=40 < 50"]
    assert [c.metric for c in o.pre_training()] == ["params"]
    assert Constraint.parse(" flops >= 1_000 ").bound == 1000.0
    for kw, match in [
        ({"objective": "val_acc,latency_ms", "direction": "max"}, "one per objective"),
        ({"objective": "val_acc,val_acc"}, "twice"),
        ({"objective": "a,b,c,d,e"}, "at most 4"),
        ({"objective": "val_acc,", "direction": None}, "empty name"),
        ({"direction": "up"}, "'max' or 'min'"),
        ({"constraints": ["params < 5"]}, "METRIC<=NUMBER"),
        ({"constraints": ["params<=inf"]}, "finite"),
        ({"constraints": "params<=5"}, "list of strings"),
    ]:
        with pytest.raises(ConfigError, match=match):
            SearchConfig(data="digits", **kw)  # type: ignore[arg-type]


def test_a_multi_objective_search_stores_its_front_and_exports_the_knee(tmp_path: Path) -> None:
    cfg = SearchConfig(benchmark="nb201/cifar10", strategy="nsga2", budget=40, seed=0,
                       objective="val_acc,latency_ms", direction="max,min",
                       strategy_config={"population_size": 10})
    summary = Search(cfg, tmp_path / "mo").run()
    assert summary["status"] == "finished"
    res = CliRunner().invoke(app, ["show", str(tmp_path / "mo"), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    done = [t for t in data["trials"] if t["state"] == "complete" and t["cached_from"] is None]
    vals = {t["number"]: (t["metrics"]["val_acc"], -t["metrics"]["latency_ms"]) for t in done}
    expect = sorted(n for n, v in vals.items()
                    if not any(_dominates(w, v) for w in vals.values()))
    assert data["pareto"] == summary["pareto"] == expect and len(expect) >= 2
    assert data["knee"] == data["best"]["number"] == summary["best"]["number"]
    assert data["knee"] in expect
    table = CliRunner().invoke(app, ["show", str(tmp_path / "mo")])
    assert "Pareto front of val_acc (max), latency_ms (min)" in table.output
    assert "knee" in table.output


def test_constraints_are_checked_before_training_and_infeasible_is_never_best(
        tmp_path: Path) -> None:
    cfg = SearchConfig(data="digits", space="mlp", strategy="random", budget=8, epochs=1,
                       export=False, seed=1, constraints=["params<=60000"])
    search = Search(cfg, tmp_path / "c")
    summary = search.run()
    assert summary["status"] == "finished"
    assert search._store is not None
    rows = search._store.trials(search._search_id)  # type: ignore[arg-type]
    rejected = [r for r in rows if r.state == "failed"]
    assert rejected and all(r.error.startswith("infeasible: params=") for r in rejected)
    assert all("train_seconds" not in r.metrics for r in rejected)  # nothing trained
    assert all(r.metrics["params"] > 60000 for r in rejected)
    assert all(r.metrics["params"] <= 60000 for r in rows if r.state == "complete")
    assert summary["best"]["metrics"]["params"] <= 60000
    data = json.loads(CliRunner().invoke(app, ["show", str(tmp_path / "c"), "--json"]).output)
    assert data["infeasible"] == [r.number for r in rejected]


def test_a_constraint_on_a_trained_metric_keeps_infeasible_trials_out_of_best(
        tmp_path: Path) -> None:
    cfg = SearchConfig(benchmark="nb201/cifar10", strategy="evolution", budget=30, seed=0,
                       constraints=["latency_ms<=15"])
    summary = Search(cfg, tmp_path / "lat").run()
    data = json.loads(CliRunner().invoke(app, ["show", str(tmp_path / "lat"), "--json"]).output)
    feasible = [t for t in data["trials"] if t["state"] == "complete"
                and t["metrics"]["latency_ms"] <= 15]
    assert data["infeasible"]  # some were too slow ...
    best = max(feasible, key=lambda t: (t["metrics"]["val_acc"], -t["number"]))
    assert summary["best"]["number"] == best["number"]  # ... and none of them is best


def test_all_infeasible_says_so(tmp_path: Path) -> None:
    cfg = SearchConfig(data="digits", space="mlp", strategy="random", budget=3, epochs=1,
                       export=False, constraints=["params<=10"])
    summary = Search(cfg, tmp_path / "none").run()
    assert summary["status"] == "failed"
    assert "none of the 3 trials satisfied the constraints (params<=10)" in summary["error"]


def test_several_objectives_are_refused_where_one_is_optimised(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"optimises one objective.*nsga2"):
        Search(SearchConfig(benchmark="nb201/cifar10", strategy="evolution",
                            objective="val_acc,latency_ms"), tmp_path / "a")
    with pytest.raises(ConfigError, match="--scheduler none"):
        Search(SearchConfig(data="digits", strategy="random", scheduler="asha", epochs=3,
                            objective="val_acc,params"), tmp_path / "b")
    res = CliRunner().invoke(app, ["search", "--benchmark", "nb201/cifar10", "--objective",
                                   "val_acc,latency_ms", "--direction", "max",
                                   "--out", str(tmp_path / "c")])
    assert res.exit_code == 2 and "one per objective" in res.output


def test_front_of_skips_infeasible_and_failed() -> None:
    o = Objectives.parse("val_acc,params", "max,min", ["params<=30"])
    rows = [(0, "complete", {"val_acc": 90.0, "params": 10.0}),
            (1, "complete", {"val_acc": 99.0, "params": 50.0}),  # infeasible
            (2, "failed", {"params": 5.0}),
            (3, "complete", {"val_acc": 95.0, "params": 20.0})]
    assert front_of(o, rows) == ([0, 3], 0)  # a tie of the knee goes to the lower number


@pytest.mark.parametrize("strategy", ["optuna:nsga2", "optuna:tpe"])
def test_optuna_samplers_search_several_objectives_with_constraints(
        tmp_path: Path, strategy: str) -> None:
    cfg = SearchConfig(benchmark="nb201/cifar10", strategy=strategy, budget=24, seed=0,
                       objective="val_acc,latency_ms", constraints=["latency_ms<=18"],
                       strategy_config={"sampler_options": {"population_size": 8}}
                       if strategy == "optuna:nsga2" else {})
    search = Search(cfg, tmp_path / "o")
    summary = search.run()
    assert summary["status"] == "finished" and summary["pareto"]
    study = search.strategy.study  # type: ignore[attr-defined]
    assert len(study.directions) == 2
    done = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert len(done) == 24
    bad = [t for t in done if t.system_attrs.get("constraints", [0])[0] > 0]
    assert bad and all(-t.values[1] > 18 for t in bad)  # told as infeasible to Optuna
    assert summary["best"]["metrics"]["latency_ms"] <= 18
    # a resumed strategy holds the same study
    clone = type(search.strategy)(search.space, **search.strategy.config())
    clone.load_state_dict(search.strategy.state_dict())
    assert [t.values for t in clone.study.trials] == [t.values for t in done]


def test_measured_cost_metrics_onnx_latency_and_peak_activation(tmp_path: Path) -> None:
    cfg = SearchConfig(data="digits", space="mlp", strategy="nsga2", budget=4, epochs=1,
                       export=False, objective="val_acc,onnx_latency_ms",
                       constraints=["peak_activation_mb<=0.01"])
    search = Search(cfg, tmp_path / "m")
    assert search.evaluator.onnx_latency is True  # type: ignore[attr-defined]
    search.run()
    assert search._store is not None
    rows = search._store.trials(search._search_id)  # type: ignore[arg-type]
    trained = [r for r in rows if r.state == "complete"]
    assert trained and all(r.metrics["onnx_latency_ms"] > 0 for r in trained)
    assert all(r.metrics["peak_activation_mb"] <= 0.01 for r in trained)
    for r in rows:  # rejected ones were measured before training, never trained
        if r.state == "failed":
            assert r.metrics["peak_activation_mb"] > 0.01 and "not trained" in r.error


def test_peak_activation_counts_live_tensors_not_weights() -> None:
    import torch

    from archsmith.evaluators._costs import peak_activation_mb

    wide = torch.nn.Sequential(torch.nn.Linear(10, 50_000), torch.nn.ReLU(),
                               torch.nn.Linear(50_000, 2))
    # input 40 B, hidden 200 kB (linear) + 200 kB (relu) alive together, then 8 B out
    assert peak_activation_mb(wide, (10,)) == pytest.approx(0.4, rel=1e-3)


@pytest.mark.parametrize("strategy", ["random", "nsga2", "gc", "bananas", "bo"])
def test_every_multi_objective_strategy_finds_a_front(tmp_path: Path, strategy: str) -> None:
    cfg = SearchConfig(benchmark="nb201/cifar10", strategy=strategy, budget=16, seed=1,
                       objective="val_acc,params", constraints=["latency_ms<=20"],
                       strategy_config={"num_init": 8} if strategy in ("gc", "bananas", "bo")
                       else {})
    summary = Search(cfg, tmp_path / strategy).run()
    assert summary["status"] == "finished" and summary["pareto"]
    assert summary["best"]["number"] in summary["pareto"]
    assert summary["best"]["metrics"]["latency_ms"] <= 20


@pytest.mark.parametrize(("args", "message"), [
    (["--constraint", "foo<=3"], "reports no metric 'foo'"),
    (["--constraint", "params=<3"], "METRIC<=NUMBER"),
    (["--constraint", "params<=3", "--constraint", "latency_ms>>2"], "METRIC<=NUMBER"),
    (["--objective", "val_acc,latency_ms", "--direction", "max,min,max"], "one per objective"),
    (["--objective", "val_acc,nope", "--strategy", "nsga2"], "no such metric"),
])
def test_bad_objectives_and_constraints_exit_2(tmp_path: Path, args: list[str],
                                               message: str) -> None:
    res = CliRunner().invoke(app, ["search", "--benchmark", "nb201/cifar10", "--out",
                                   str(tmp_path / "bad"), *args])
    assert res.exit_code == 2, res.output
    assert message in " ".join(res.output.split())
    assert not (tmp_path / "bad" / "archsmith.db").exists()
