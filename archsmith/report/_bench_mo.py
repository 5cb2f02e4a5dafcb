"""Hypervolume of multi-objective benchmark runs, normalised by the table's true front.

A tabular benchmark holds every architecture, so its true Pareto front is known: the
harness reports, after each query, the hypervolume of the feasible trials found so far
divided by the true front's (1.0: the whole front found). The reference point
(:func:`table_reference`) is, per objective, the table's median for a maximised one and
its worst value for a minimised one — for NAS-Bench-201 with (``val_acc``,
``latency_ms``): (median accuracy 87.31 %, maximum latency), the reference of issue 14's
targets. Without a table, the reference is the front's nadir moved out by 10 % of its
range.

Example:
    >>> t = HypervolumeTracker([[3.0, 1.0], [1.0, 3.0]])
    >>> t.ref.tolist(), round(t.hv_true, 2)
    ([0.8, 0.8], 0.84)
    >>> [round(v, 3) for v in t.curve([(1.0, 3.0), None, (0.9, 0.9), (3.0, 1.0)])]
    [0.524, 0.524, 0.524, 1.0]
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from archsmith._pareto import hypervolume, nondominated

__all__ = ["MO_REFERENCES", "HypervolumeTracker", "table_reference", "table_tracker",
           "true_front"]

#: Strategies multi-objective runs are compared against (paired intervals).
MO_REFERENCES: tuple[str, ...] = ("nsga2", "optuna:nsga2", "optuna:tpe")


def _table_values(evaluator: Any, objectives: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """The oriented values of every table row with all objectives, and which of them are
    feasible (one pass over the table; ``None`` without a table)."""
    rows_fn = getattr(evaluator, "all_metrics", None)
    if rows_fn is None:
        return None
    vals, ok = [], []
    for m in rows_fn():
        v = objectives.values(m)
        if v is not None:
            vals.append(v)
            ok.append(objectives.violation(m) == 0)
    return np.asarray(vals, dtype=float).reshape(len(vals), -1), np.asarray(ok, dtype=bool)


def true_front(evaluator: Any, objectives: Any) -> np.ndarray | None:
    """The oriented values of the feasible, non-dominated rows of ``evaluator``'s table
    (``None`` when the evaluator has no table or no feasible row)."""
    table = _table_values(evaluator, objectives)
    return None if table is None else _front(table[0][table[1]])


def _front(vals: np.ndarray) -> np.ndarray | None:
    if not len(vals):
        return None
    a = np.unique(vals, axis=0)
    return a[nondominated(a)]


def table_reference(evaluator: Any, objectives: Any) -> np.ndarray | None:
    """The reference point (higher-is-better orientation): per objective the median of
    the table's values when it is maximised, the worst value when it is minimised."""
    table = _table_values(evaluator, objectives)
    return None if table is None else _reference(table[0], objectives.directions)


def _reference(vals: np.ndarray, directions: Sequence[str]) -> np.ndarray | None:
    if not len(vals):
        return None
    return np.array([np.median(vals[:, j]) if d == "max" else vals[:, j].min()
                     for j, d in enumerate(directions)])


@functools.lru_cache(maxsize=8)
def table_tracker(evaluator: Any, objectives: Any) -> HypervolumeTracker | None:
    """The tracker of ``evaluator``'s table for ``objectives``: its true front and
    reference point from one pass over the table, cached per process (every run of a
    benchmark asks for the same one). ``None`` without a table or a feasible row."""
    table = _table_values(evaluator, objectives)
    if table is None:
        return None
    front = _front(table[0][table[1]])
    return None if front is None else HypervolumeTracker(
        front, _reference(table[0], objectives.directions))


class HypervolumeTracker:
    """Normalised hypervolume of a growing set of points against a true front.

    Args:
        front: The true front (rows of higher-is-better values).
        ref: The reference point (default: the front's nadir moved out by ``margin``).
        margin: How far beyond the front's nadir the default reference point lies, as a
            fraction of the front's range per objective.
    """

    def __init__(self, front: Sequence[Sequence[float]] | np.ndarray,
                 ref: Sequence[float] | np.ndarray | None = None, margin: float = 0.1) -> None:
        f = np.asarray(front, dtype=float)
        lo, hi = f.min(axis=0), f.max(axis=0)
        span = np.where(hi > lo, hi - lo, np.maximum(np.abs(hi), 1.0))
        self.front = f
        self.ref = lo - margin * span if ref is None else np.asarray(ref, dtype=float)
        self.hv_true = hypervolume(f, self.ref)

    def curve(self, values: Sequence[Sequence[float] | None]) -> list[float]:
        """Normalised hypervolume after each query (``None``: failed or infeasible)."""
        front = np.zeros((0, len(self.ref)))
        hv = 0.0
        out = []
        for v in values:
            if v is not None:
                p = np.asarray(v, dtype=float)
                dominated = len(front) and bool(
                    ((front >= p).all(axis=1) & (front > p).any(axis=1)).any()
                    or (front == p).all(axis=1).any())
                if not dominated:
                    front = np.vstack([front[~((p >= front).all(axis=1))], p])
                    hv = hypervolume(front, self.ref)
            out.append(hv / self.hv_true if self.hv_true > 0 else float("nan"))
        return out
