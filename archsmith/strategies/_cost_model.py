"""What a proposal will cost to evaluate, for cost-aware acquisition.

On real training the time of a trial depends on the network far more than on its
accuracy: on ``mnist1d`` the networks a strategy proposes differ tenfold in seconds per
epoch. An acquisition that ignores it spends a wall-clock budget on few large networks.
:func:`relative_costs` predicts each candidate's cost per budget unit (e.g. seconds per
epoch) by ridge regression of its logarithm on the one-hot encoding of the decisions,
relative to the median of the measured trials; :func:`per_cost` divides an
acquisition's gain by the cost (expected improvement per second, Snoek et al. 2012).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from archsmith.space import Architecture
    from archsmith.strategies._base import TrialRecord

__all__ = ["per_cost", "relative_costs"]

#: Measured trials needed before costs are predicted (else every cost is 1).
MIN_TRIALS = 5


def _one_hot(archs: Sequence[Architecture]) -> np.ndarray:
    space = archs[0].space
    sizes = [d.size + 1 for d in space.decisions]  # +1: inactive
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    X = np.zeros((len(archs), int(sum(sizes))))
    for i, a in enumerate(archs):
        X[i, offsets + np.asarray(a.indices) + 1] = 1.0
    return X


def relative_costs(pool: Sequence[Architecture], done: Sequence[TrialRecord],
                   metric: str = "train_seconds", ridge: float = 1.0) -> np.ndarray:
    """Predicted cost per budget unit of each candidate, relative to the measured median.

    A trial's cost per unit is ``metrics[metric] / budget`` (``budget``: the trial's
    budget under a scheduler, else its ``epochs`` metric, else 1). With fewer than
    :data:`MIN_TRIALS` measured trials every cost is 1.

    Example:
        >>> relative_costs([], [])
        array([], dtype=float64)
    """
    rows = [(t.arch, float(t.metrics[metric]) / float(t.budget or t.metrics.get("epochs", 1)))
            for t in done if metric in t.metrics and t.metrics[metric] > 0]
    if not pool:
        return np.zeros(0)
    if len(rows) < MIN_TRIALS:
        return np.ones(len(pool))
    X = _one_hot([a for a, _ in rows])
    y = np.log([c for _, c in rows])
    y0 = float(np.median(y))
    w = np.linalg.solve(X.T @ X + ridge * np.eye(X.shape[1]), X.T @ (y - y.mean()))
    pred = y.mean() + _one_hot(pool) @ w
    return np.exp(np.clip(pred - y0, -5.0, 5.0))


def per_cost(value: np.ndarray, best: float, cost: np.ndarray, exponent: float) -> np.ndarray:
    """``value``'s gain over ``best`` per ``cost^exponent``; a loss is multiplied by it
    instead, so that among candidates that do not improve, cheaper ones still rank first.

    Example:
        >>> per_cost(np.array([3.0, 3.0, 0.0]), 1.0, np.array([1.0, 2.0, 2.0]), 1.0)
        array([ 2.,  1., -2.])
    """
    c = np.asarray(cost, dtype=float) ** exponent
    d = np.asarray(value, dtype=float) - best
    return np.where(d > 0, d / c, d * c)
