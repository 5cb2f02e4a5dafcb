"""Input checks and output files of the benchmark harness (:mod:`archsmith.report._bench`)."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archsmith.errors import ConfigError

if TYPE_CHECKING:
    from archsmith.report._bench import _JobResult

__all__ = ["bench_command", "final_points", "validate_numbers", "write_results_csv"]


def validate_numbers(
    strategies: list[str], budget: int, seeds: int, workers: int,
    configs: dict[str, dict[str, Any]], workers_sim: int | None = None,
) -> None:
    if not strategies:
        raise ConfigError("strategies: give at least one strategy name, e.g. random,evolution.")
    dup = sorted({s for s in strategies if strategies.count(s) > 1})
    if dup:
        raise ConfigError(f"strategies: {dup} listed more than once; list each strategy once.")
    numbers = [("budget", budget), ("seeds", seeds), ("workers", workers)]
    if workers_sim is not None:
        numbers.append(("workers_sim", workers_sim))
    for key, v in numbers:
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ConfigError(f"{key} must be a positive integer, got {v!r}.")
    extra = sorted(set(configs) - set(strategies))
    if extra:
        raise ConfigError(
            f"strategy_configs names {extra}, which are not among the strategies {strategies}."
        )


def write_results_csv(
    path: Path, strategies: list[str], seeds: int, results: dict[tuple[str, int], _JobResult],
    multi: bool = False,
) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["strategy", "seed", "query", "best_so_far",
                    *(["hypervolume"] if multi else [])])
        for s in strategies:
            for k in range(seeds):
                r = results[s, k]
                for q, v in enumerate(r.curve, start=1):
                    w.writerow([s, k, q, "" if math.isnan(v) else repr(v),
                                *([repr(r.hv[q - 1])] if multi else [])])


def final_points(r: _JobResult) -> list[tuple[float, ...]]:
    """The oriented values of a run's feasible trials (its front is drawn from them)."""
    return list(r.points)


def bench_command(
    space: str, benchmark: str, strategies: list[str], budget: int, seeds: int, workers: int,
    out: Path, workers_sim: int | None = None, mo: dict[str, Any] | None = None,
) -> str:
    mo_flags = ""
    if mo:
        mo_flags = (f" --objective {','.join(mo['objectives'])} "
                    f"--direction {','.join(mo['directions'])}"
                    + "".join(f' --constraint "{c}"' for c in mo["constraints"]))
    return (
        f"archsmith bench --space {space} --benchmark {benchmark} "
        f"--strategies {','.join(strategies)} --budget {budget} --seeds {seeds} "
        f"--workers {workers} --out {out}"
        + (f" --workers-sim {workers_sim}" if workers_sim else "") + mo_flags
    )

