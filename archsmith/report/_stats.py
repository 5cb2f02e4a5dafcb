"""Statistics of the benchmark harness: best-so-far curves, means, checkpoints.

Shared by the query-axis summary (:mod:`archsmith.report._bench`) and the simulated-time
one (:mod:`archsmith.report._simtime`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "CHECKPOINTS", "REFERENCES", "best_so_far", "checkpoint_queries", "first_query",
    "mean_sem", "num", "paired_difference", "reaches",
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


def paired_difference(
    a: np.ndarray, b: np.ndarray, direction: str = "max", level: float = 1e-9,
) -> dict[str, float | int | None]:
    """How much ``a`` beats ``b``, seed by seed (the harness shares seeds across strategies).

    ``diff`` is the mean of ``a - b`` (``b - a`` when minimising), so positive means
    ``a`` is better; ``low``/``high`` bound its 95 % confidence interval (paired t, i.e.
    Student's t on the per-seed differences); ``ahead``/``level``/``behind`` count the
    seeds where ``a`` is better, equal (within ``level``) or worse. Seeds where either
    value is not finite are left out.

    Example:
        >>> d = paired_difference(np.array([3.0, 2.0, 4.0, 1.0]), np.array([1.0, 2.0, 2.0, 0.0]))
        >>> round(d["diff"], 2), d["ahead"], d["level"], d["behind"]
        (1.25, 3, 1, 0)
        >>> round(d["low"], 2), round(d["high"], 2)  # 4 seeds: not resolved
        (-0.27, 2.77)
    """
    from scipy import stats as st

    sign = 1.0 if direction == "max" else -1.0
    d = sign * (np.asarray(a, dtype=float) - np.asarray(b, dtype=float))
    d = d[np.isfinite(d)]
    n = len(d)
    out: dict[str, float | int | None] = {
        "diff": num(d.mean()) if n else None, "low": None, "high": None,
        "ahead": int((d > level).sum()), "level": int((np.abs(d) <= level).sum()),
        "behind": int((d < -level).sum()), "seeds": n,
    }
    if n > 1:
        half = float(st.t.ppf(0.975, n - 1)) * float(d.std(ddof=1)) / np.sqrt(n)
        out["low"], out["high"] = num(d.mean() - half), num(d.mean() + half)
    return out


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


def num(x: Any) -> float | None:
    """``x`` as a float; ``None`` when it is missing, not a number or not finite (JSON
    has no NaN)."""
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None
