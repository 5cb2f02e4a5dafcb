"""Statistics of the benchmark harness: best-so-far curves, means, checkpoints.

Shared by the query-axis summary (:mod:`archsmith.report._bench`) and the simulated-time
one (:mod:`archsmith.report._simtime`).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "CHECKPOINTS", "REFERENCES", "best_so_far", "checkpoint_queries", "first_query",
    "mean_sem", "num", "reaches",
]

#: Fractions of the budget at which summary.md reports mean ± standard error.
CHECKPOINTS: tuple[int, ...] = (10, 25, 50, 100)
#: Strategies whose full-budget mean level the other strategies are timed against.
REFERENCES: tuple[str, ...] = ("evolution", "optuna:tpe")


def best_so_far(values: list[float], direction: str = "max") -> list[float]:
    """Running best of ``values``; NaN (failed trials) is skipped, NaN until a success.

    Example:
        >>> best_so_far([1.0, float("nan"), 3.0, 2.0])
        [1.0, 1.0, 3.0, 3.0]
        >>> best_so_far([float("nan"), 5.0, 4.0], "min")
        [nan, 5.0, 4.0]
    """
    out: list[float] = []
    best = math.nan
    for v in values:
        if not math.isnan(v) and (
            math.isnan(best) or (v > best if direction == "max" else v < best)
        ):
            best = v
        out.append(best)
    return out


def mean_sem(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard errors over the finite entries of ``matrix``."""
    finite = np.isfinite(matrix)
    n = finite.sum(axis=0)
    safe = np.where(finite, matrix, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = safe.sum(axis=0) / n
        var = (np.where(finite, (matrix - mean) ** 2, 0.0)).sum(axis=0) / (n - 1)
        sem = np.sqrt(var / n)
    return np.where(n > 0, mean, np.nan), np.where(n > 1, sem, np.nan)


def reaches(values: np.ndarray, level: float, direction: str) -> np.ndarray:
    tol = 1e-9 * max(1.0, abs(level))
    with np.errstate(invalid="ignore"):
        return values >= level - tol if direction == "max" else values <= level + tol


def first_query(curve: np.ndarray, level: float, direction: str) -> int | None:
    hit = np.flatnonzero(reaches(curve, level, direction))
    return int(hit[0]) + 1 if hit.size else None


def checkpoint_queries(budget: int) -> dict[str, int]:
    """Query numbers of the 10/25/50/100 % checkpoints (rounded up, at least 1).

    Example:
        >>> checkpoint_queries(100)
        {'10%': 10, '25%': 25, '50%': 50, '100%': 100}
        >>> checkpoint_queries(20)
        {'10%': 2, '25%': 5, '50%': 10, '100%': 20}
    """
    return {f"{p}%": max(1, -(-p * budget // 100)) for p in CHECKPOINTS}


def num(x: float) -> float | None:
    return None if not math.isfinite(float(x)) else float(x)
