"""Pareto fronts of several objectives: non-dominated sorting, crowding, knee, hypervolume.

Every function takes values oriented so that **higher is better** in each column (the
search flips minimised objectives before calling them). Non-dominated sorting and the
hypervolume are ``moocore``'s (C implementations: ``O(n log n)`` sorting in 2-D and
3-D, the exact hypervolume algorithms of Fonseca et al. and Chan for ``d ≥ 4``), a
maintained library that pymoo also calls; crowding distance and the knee are numpy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["crowding_distance", "hypervolume", "knee_point", "nondominated", "pareto_ranks"]


def _as_array(values: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    a = np.asarray(values, dtype=float)
    if a.size == 0:
        return a.reshape(0, a.shape[-1] if a.ndim == 2 else 1)
    if a.ndim != 2:
        a = a.reshape(len(a), -1)
    return a


def nondominated(values: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """Boolean mask of the rows no other row dominates (higher is better everywhere).

    Row ``a`` dominates ``b`` when ``a ≥ b`` in every column and ``a > b`` in one.
    Duplicate rows do not dominate each other (both stay on the front).

    Example:
        >>> nondominated([[1, 5], [2, 3], [3, 1], [2, 2]]).tolist()
        [True, True, True, False]
    """
    import moocore

    a = _as_array(values)
    if len(a) == 0:
        return np.zeros(0, dtype=bool)
    return np.asarray(moocore.is_nondominated(a, maximise=True, keep_weakly=True), dtype=bool)


def pareto_ranks(values: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """Non-dominated sorting (NSGA-II): rank 0 is the front, rank 1 the front without
    rank 0, and so on.

    Example:
        >>> pareto_ranks([[1, 5], [2, 3], [3, 1], [2, 2], [0, 0]]).tolist()
        [0, 0, 0, 1, 2]
    """
    import moocore

    a = _as_array(values)
    if len(a) == 0:
        return np.zeros(0, dtype=int)
    return np.asarray(moocore.pareto_rank(a, maximise=True), dtype=int)


def crowding_distance(values: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """NSGA-II's crowding distance of each row within its set: the sum over objectives
    of the normalised gap between its two neighbours; the extremes get ``inf``.

    Example:
        >>> crowding_distance([[0, 4], [1, 2], [2, 1], [4, 0]]).tolist()
        [inf, 1.25, 1.25, inf]
    """
    a = _as_array(values)
    n, d = a.shape
    out = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for j in range(d):
        order = np.argsort(a[:, j], kind="stable")
        col = a[order, j]
        span = col[-1] - col[0]
        out[order[0]] = out[order[-1]] = np.inf
        if span > 0:
            out[order[1:-1]] += (col[2:] - col[:-2]) / span
    return out


def knee_point(values: Sequence[Sequence[float]] | np.ndarray) -> int | None:
    """Index of the knee of the non-dominated rows: the one closest (Euclidean) to the
    ideal point after scaling each objective to ``[0, 1]`` over the front.

    The front's best value in every objective is the ideal point; the knee is the
    balanced compromise a user would usually pick first. With one objective it is the
    best row. Ties go to the lower index; ``None`` for no rows.

    Example:
        >>> knee_point([[0.99, -9.0], [0.98, -2.0], [0.90, -1.0], [0.5, -5.0]])
        1
    """
    a = _as_array(values)
    if len(a) == 0:
        return None
    idx = np.flatnonzero(nondominated(a))
    f = a[idx]
    lo, hi = f.min(axis=0), f.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    dist = np.sqrt((((hi - f) / span) ** 2).sum(axis=1))
    return int(idx[int(np.argmin(dist))])


def hypervolume(values: Sequence[Sequence[float]] | np.ndarray,
                ref: Sequence[float] | np.ndarray) -> float:
    """Exact hypervolume dominated by the rows and bounded by ``ref`` (higher is
    better; rows not better than ``ref`` in every objective add nothing).

    Example:
        >>> hypervolume([[0.9, -2.0], [0.8, -1.0]], ref=[0.0, -10.0])
        8.0
    """
    import moocore

    a = _as_array(values)
    r = np.asarray(ref, dtype=float)
    if len(a) == 0:
        return 0.0
    a = a[(a > r).all(axis=1)]
    if len(a) == 0:
        return 0.0
    # moocore minimises by default: negate to minimise
    return float(moocore.hypervolume(-a, ref=-r))
