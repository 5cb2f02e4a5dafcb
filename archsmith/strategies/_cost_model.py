"""What a proposal will cost to evaluate, for cost-aware acquisition.

On real training the time of a trial depends on the network far more than on its
accuracy: on ``mnist1d`` the networks a strategy proposes differ tenfold in seconds per
epoch. An acquisition that ignores it spends a wall-clock budget on few large networks.
:func:`relative_costs` predicts each candidate's cost per budget unit (e.g. seconds per
epoch) by ridge regression of its logarithm on the one-hot encoding of the decisions,
relative to the median of the measured trials; :func:`per_cost` divides an
acquisition's gain by the cost (expected improvement per second, Snoek et al. 2012).

With weight inheritance (``--inherit``) a child of a kept trial trains a fraction of
the epochs of a network trained from scratch; :func:`inherit_factor` measures that
fraction in the history, so an acquisition can charge a candidate that will inherit
only that much.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from archsmith.space import Architecture
    from archsmith.strategies._base import TrialRecord

__all__ = ["candidate_costs", "inherit_factor", "per_cost", "relative_costs"]

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


def inherit_factor(done: Sequence[TrialRecord]) -> float | None:
    """Epochs of a trial that inherited weights relative to one trained from scratch
    (medians over the history's trials with an ``epochs`` metric); ``None`` until
    both kinds are in the history.

    Example:
        >>> from archsmith.space import create_space
        >>> from archsmith.strategies import TrialRecord
        >>> a = create_space("mlp").sample(np.random.default_rng(0))
        >>> done = [TrialRecord(0, a, "complete", 90.0, {"epochs": 20.0}),
        ...         TrialRecord(1, a, "complete", 91.0, {"epochs": 5.0}, parent=0)]
        >>> inherit_factor(done), inherit_factor(done[:1])
        (0.25, None)
    """
    inherited = [float(t.metrics["epochs"]) for t in done
                 if t.parent is not None and t.metrics.get("epochs", 0) > 0]
    scratch = [float(t.metrics["epochs"]) for t in done
               if t.parent is None and t.metrics.get("epochs", 0) > 0]
    if not inherited or not scratch:
        return None
    return float(np.median(inherited) / np.median(scratch))


def candidate_costs(pool: Sequence[Architecture], done: Sequence[TrialRecord], *,
                    cost_exponent: float = 0.0, metric: str = "train_seconds",
                    inherit_exponent: float = 0.0,
                    inheriting: Collection[str] = ()) -> np.ndarray | None:
    """What each candidate's gain is divided by in a cost-aware acquisition.

    The predicted cost per epoch (:func:`relative_costs`) to the power
    ``cost_exponent``, times :func:`inherit_factor` to the power ``inherit_exponent``
    for the candidates whose hashes are in ``inheriting`` (those that will start from a
    kept parent's weights). ``None`` when neither applies (every cost equal).

    Example:
        >>> candidate_costs([], []) is None
        True
    """
    cost, aware = np.ones(len(pool)), False
    if cost_exponent:
        cost, aware = relative_costs(pool, done, metric) ** cost_exponent, True
    factor = inherit_factor(done) if inherit_exponent and inheriting else None
    if factor is not None:
        cost = cost * np.array([factor ** inherit_exponent if a.hash in inheriting else 1.0
                                for a in pool])
        aware = True
    return cost if aware else None
