"""benchmarks/optuna_reference.py: a tiny budgeted run gives well-formed, monotone rows."""

from __future__ import annotations

import importlib.util
import itertools
import math
import sys
from pathlib import Path

import pytest

pytest.importorskip("optuna")
pytest.importorskip("mnist1d")

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "optuna_reference.py"


def test_tiny_run_rows_are_well_formed_and_best_never_drops() -> None:
    spec = importlib.util.spec_from_file_location("optuna_reference", SCRIPT)
    assert spec is not None and spec.loader is not None
    ref = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = ref  # dataclasses look their module up while being created
    try:
        spec.loader.exec_module(ref)
        budget = 6.0
        rows = ref.run_reference("mnist1d", "cnn", epochs=2, time_budget=budget, seed=0)
    finally:
        sys.modules.pop(spec.name, None)
    assert rows, "no trial was fully trained in the budget"
    assert [list(r) for r in rows] == [list(ref.COLUMNS)] * len(rows)
    for r in rows:
        assert (r["strategy"], r["scheduler"], r["seed"]) == (
            "optuna-tpe-hyperband", "hyperband-pruner", 0)
        assert 0.0 < r["seconds"] <= budget
        assert 0.0 <= r["best_so_far"] <= 100.0 and not math.isnan(r["best_so_far"])
        assert r["epochs_trained_total"] >= 2
    for a, b in itertools.pairwise(rows):
        assert b["seconds"] >= a["seconds"]
        assert b["best_so_far"] >= a["best_so_far"]
        assert b["trial"] > a["trial"]
        assert b["epochs_trained_total"] >= a["epochs_trained_total"] + 2
    assert ref.best_at(rows, budget) == rows[-1]["best_so_far"]
