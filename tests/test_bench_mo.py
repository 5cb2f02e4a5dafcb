"""`archsmith bench` with several objectives: hypervolume against queries, normalised by
the table's true front; fronts plot; paired comparison against nsga2."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from archsmith._objectives import Objectives
from archsmith._pareto import hypervolume, nondominated
from archsmith.cli import app
from archsmith.evaluators import create_evaluator
from archsmith.report._bench_mo import HypervolumeTracker, true_front


def test_true_front_of_nb201_and_its_hypervolume() -> None:
    ev = create_evaluator("nb201/cifar10")
    objs = Objectives.parse("val_acc,latency_ms", "max,min")
    front = true_front(ev, objs)
    assert front is not None
    rows = np.array([objs.values(m) for m in ev.all_metrics()])
    # no table row dominates a front point, and every front point is a table row
    for p in front:
        assert not ((rows >= p).all(axis=1) & (rows > p).any(axis=1)).any()
    assert len(front) == int(nondominated(np.unique(rows, axis=0)).sum())
    t = HypervolumeTracker(front)
    assert t.hv_true == hypervolume(front, t.ref) > 0
    assert t.curve([tuple(p) for p in front])[-1] == 1.0  # the whole front: 1.0


def test_bench_reports_normalised_hypervolume(tmp_path: Path) -> None:
    out = tmp_path / "b"
    res = CliRunner().invoke(app, [
        "bench", "--benchmark", "nb201/cifar10", "--strategies", "random,nsga2",
        "--budget", "30", "--seeds", "3", "--objective", "val_acc,latency_ms",
        "--direction", "max,min", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "normalised hypervolume" in res.output
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert len(rows) == 2 * 3 * 30 and "hypervolume" in rows[0]
    for s in ("random", "nsga2"):
        for k in range(3):
            hv = [float(r["hypervolume"]) for r in rows if r["strategy"] == s
                  and int(r["seed"]) == k]
            assert all(0 <= v <= 1 + 1e-12 for v in hv)
            assert hv == sorted(hv)  # a front only grows
    md = (out / "summary.md").read_text()
    assert "hypervolume" in md and "vs nsga2" in md and "true front" in md
    assert (out / "fronts.png").stat().st_size > 10_000
