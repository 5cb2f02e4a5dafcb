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
