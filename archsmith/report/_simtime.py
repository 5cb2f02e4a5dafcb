"""Best-so-far against simulated wall-clock, for ``archsmith bench --workers-sim N``.

With the ``simulated`` executor every trial has a simulated start and end (NAS-Bench-201's
own training time on ``N`` virtual workers). A run's best-so-far at time ``t`` is the
best objective among the trials that *finished* by ``t``. Runs are sampled on one
time grid (``GRID_POINTS`` points from 0 to the *earliest* last finish of any run, so
every run is still searching over the whole grid: a strategy whose duplicate proposals
are answered from storage spends its query budget sooner), averaged over seeds, drawn
to ``curves_time.png``; ``results_time.csv`` holds every run's raw events.

Example:
    >>> t, b = time_curve([5.0, 2.0, 9.0], [80.0, 70.0, 90.0])
    >>> t, b
    ([2.0, 5.0, 9.0], [70.0, 80.0, 90.0])
    >>> on_grid(t, b, [0.0, 3.0, 10.0])
    [nan, 70.0, 90.0]
"""

from __future__ import annotations

import bisect
import csv
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from archsmith.report._stats import best_so_far, mean_sem, num

__all__ = ["GRID_POINTS", "on_grid", "summarise_time", "time_curve"]

#: Number of points of the common time grid.
GRID_POINTS = 200
#: Fractions of the grid's end at which summary.md reports the time curves.
TIME_CHECKPOINTS: tuple[int, ...] = (10, 25, 50, 100)


def time_curve(
    ends: Sequence[float], values: Sequence[float], direction: str = "max"
) -> tuple[list[float], list[float]]:
    """Finish times in order and the best-so-far after each (NaN = failed trial)."""
    order = sorted(range(len(ends)), key=lambda i: (ends[i], i))
    return [float(ends[i]) for i in order], best_so_far([values[i] for i in order], direction)


def on_grid(times: list[float], best: list[float], grid: Sequence[float]) -> list[float]:
    """The step function ``best(t)`` (NaN before the first finish) sampled at ``grid``."""
    out = []
    for g in grid:
        k = bisect.bisect_right(times, g + 1e-9)
        out.append(best[k - 1] if k else math.nan)
    return out


def summarise_time(
    strategies: list[str], seeds: int, direction: str, workers_sim: int,
    runs: dict[tuple[str, int], tuple[list[float], list[float]]], out: Path,
    optimum: float | None, title: str, ylabel: str,
) -> dict[str, Any]:
    """Writes ``results_time.csv`` and ``curves_time.png``; returns the summary part.

    Args:
        strategies: Strategy names in report order.
        seeds: Seeds per strategy.
        direction: ``"max"`` or ``"min"``.
        workers_sim: Number of simulated workers (for the labels).
        runs: ``(strategy, seed) → (finish times in order, best-so-far after each)``.
        out: Output folder.
        optimum: Benchmark optimum (dashed line) or ``None``.
        title: Plot title.
        ylabel: Plot y label.

    Returns:
        ``{"workers_sim", "end_seconds", "at": {strategy: {"10%": {seconds, mean,
        sem}, …}}, "mean_end_seconds": {strategy: …}}``.
    """
    from archsmith.report._plots import plot_curves

    end = min((t[-1] for t, _ in runs.values() if t), default=1.0)
    grid = np.linspace(0.0, end, GRID_POINTS).tolist()
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    at: dict[str, dict[str, dict[str, float | None]]] = {}
    for s in strategies:
        matrix = np.array([on_grid(*runs[s, k], grid) for k in range(seeds)], dtype=float)
        mean, sem = mean_sem(matrix)
        curves[s] = (mean, sem)
        at[s] = {}
        for p in TIME_CHECKPOINTS:
            i = min(len(grid) - 1, max(0, round(p / 100 * (len(grid) - 1))))
            at[s][f"{p}%"] = {"seconds": grid[i], "mean": num(mean[i]), "sem": num(sem[i])}
    with (out / "results_time.csv").open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["strategy", "seed", "finished", "sim_seconds", "best_so_far"])
        for s in strategies:
            for k in range(seeds):
                for n, (t, b) in enumerate(zip(*runs[s, k], strict=True), start=1):
                    w.writerow([s, k, n, repr(t), "" if math.isnan(b) else repr(b)])
    hours = [g / 3600.0 for g in grid]
    plot_curves(
        out / "curves_time.png",
        {s: (curves[s][0].tolist(), curves[s][1].tolist()) for s in strategies},
        optimum=optimum, direction=direction, title=title, ylabel=ylabel,
        xlabel=f"simulated wall-clock (hours) with {workers_sim} workers", x=hours,
        y_from=0.25,
    )
    return {
        "workers_sim": workers_sim,
        "end_seconds": end,
        "at": at,
        "grid_seconds": grid,
        "curves": {s: {"mean": [num(v) for v in curves[s][0]],
                       "sem": [num(v) for v in curves[s][1]]} for s in strategies},
        "mean_end_seconds": {
            s: float(np.mean([runs[s, k][0][-1] for k in range(seeds) if runs[s, k][0]]))
            for s in strategies
        },
    }
