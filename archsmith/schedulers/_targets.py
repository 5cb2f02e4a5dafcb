"""What a strategy learns from a trial stopped below the top rung."""

from __future__ import annotations

import numpy as np

__all__ = ["rung_targets"]


def rung_targets(scores: dict[int, dict[int, float]], n_rungs: int) -> dict[int, float]:
    """Each trial's score at its highest rung, calibrated to the top rung.

    A trial stopped at rung ``k`` gets its score there plus the mean gain, rung by
    rung up to the top, of the trials that went on (``Σ_j≥k mean(s_{j+1} − s_j)`` over
    trials with results at both ``j`` and ``j + 1``; 0 where no trial has gone on yet).
    Within one rung the order is unchanged; across rungs a 1-epoch score no longer
    looks as bad as it is raw (or as good, for a loss). Scores are higher-is-better.

    Args:
        scores: ``scores[trial][rung]``: the successful results of each trial.
        n_rungs: Number of rungs (the top one is ``n_rungs - 1``).

    Returns:
        ``trial → calibrated score`` for every trial with a result.

    Example:
        >>> rung_targets({0: {0: 50.0, 1: 70.0}, 1: {0: 40.0}, 2: {0: 60.0, 1: 90.0}}, 2)
        {0: 70.0, 1: 65.0, 2: 90.0}
    """
    gains = np.zeros(n_rungs)
    for j in range(n_rungs - 1):
        diffs = [s[j + 1] - s[j] for s in scores.values() if j in s and j + 1 in s]
        if diffs:
            gains[j] = float(np.mean(diffs))
    to_top = np.concatenate([np.cumsum(gains[::-1])[::-1], [0.0]])  # Σ_{j≥k} gains[j]
    out: dict[int, float] = {}
    for t, s in scores.items():
        if s:
            k = max(s)
            out[t] = float(s[k] + to_top[k])
    return out
