"""The wall-clock harness of benchmarks/multifidelity_wallclock.py: runs real searches,
reads their stores, and can summarise runs already made without running them again."""

from __future__ import annotations

import json
from pathlib import Path

from archsmith.report._wallclock import archsmith_job, run_wallclock


def test_runs_then_summarises_again_without_running(tmp_path: Path) -> None:
    jobs = [archsmith_job("iris", "mlp", strategy, "none", 0, 2, 6.0, tmp_path,
                          settings={"space_config": {"max_layers": 1}} if strategy == "random"
                          else None)
            for strategy in ("random", "evolution")]
    first = run_wallclock(jobs, tmp_path / "a", 2, 6.0, parallel=2, baseline="random|none")
    again = run_wallclock(jobs, tmp_path / "b", 2, 6.0, baseline="random|none", run=False)
    assert json.dumps(first, sort_keys=True, default=str) == json.dumps(
        again, sort_keys=True, default=str)
    assert set(first["configs"]) == {"random|none", "evolution|none"}
    assert first["configs"]["random|none"]["mean"]["100%"] > 0
    assert (tmp_path / "b" / "summary_time.md").read_text() == \
        (tmp_path / "a" / "summary_time.md").read_text()


def _rows(name: str, seed: int, points: list[tuple[float, float]]) -> list[dict[str, object]]:
    return [{"strategy": "s", "scheduler": name, "seed": seed, "seconds": t,
             "best_so_far": b} for t, b in points]


def test_half_time_tests_against_the_baselines_final_level() -> None:
    from archsmith.report._wallclock import render_wallclock, summarize_wallclock

    rows = [*_rows("none", 0, [(10, 1.0), (80, 3.0)]), *_rows("none", 1, [(10, 2.0), (90, 5.0)]),
            *_rows("fast", 0, [(10, 2.0), (30, 4.0)]), *_rows("fast", 1, [(40, 4.0)]),
            *_rows("slow", 0, [(70, 3.0)]), *_rows("slow", 1, [(60, 3.0)])]
    summary = summarize_wallclock(rows, 100.0, "s|none")
    fast, slow = summary["configs"]["s|fast"], summary["configs"]["s|slow"]
    # the baseline ends at (3 + 5) / 2 = 4; fast's mean curve is (4 + 4) / 2 at 40 s
    assert fast["mean_curve_reach"] == 40.0
    assert slow["mean_curve_reach"] is None
    # at 50 s minus the baseline at 100 s: fast (4 - 3, 4 - 5), slow (nan: no result yet)
    assert fast["half_vs_final"]["diff"] == 0.0
    assert slow["half_vs_final"]["diff"] is None
    assert "half_vs_final" not in summary["configs"]["s|none"]
    text = render_wallclock(summary)
    assert "| s | fast | 40 s (40 %) | +0.00 [" in text and "| s | slow | never |" in text


def test_pooled_script_joins_files_and_rejects_a_repeated_seed(tmp_path: Path) -> None:
    import csv
    import importlib.util
    import re

    import pytest

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "wallclock_pooled.py"
    spec = importlib.util.spec_from_file_location("wallclock_pooled", script)
    assert spec is not None and spec.loader is not None
    pooled = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pooled)
    files = []
    for seed in (0, 1):
        path = tmp_path / f"r{seed}.csv"
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, ["strategy", "scheduler", "seed", "seconds", "best_so_far"])
            w.writeheader()
            w.writerows(_rows("none", seed, [(5.0, 1.0 + seed)]))
            w.writerows(_rows("fast", seed, [(2.0, 2.0 + seed)]))
        files.append(path)
    rows = pooled.read_rows(files)
    assert sorted({r["seed"] for r in rows}) == [0, 1] and isinstance(rows[0]["seconds"], float)
    again = tmp_path / "again.csv"
    again.write_text(files[0].read_text())
    with pytest.raises(SystemExit, match=re.escape("seed 0 of s|none")):
        pooled.read_rows([files[0], again])
    assert pooled.main(["--baseline", "s|none", "--time-budget", "10", *map(str, files)]) == 0
    assert pooled.main(["--baseline", "s|none", "--time-budget", "10", "nope.csv"]) == 2
