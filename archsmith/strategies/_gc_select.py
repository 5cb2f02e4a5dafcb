"""Selection step of the generator–critic strategy (``gc``): which candidates to measure.

Step 3 of a ``gc`` round (:mod:`archsmith.strategies._gc`): the critic's predictions
become acquisition values, optionally widened by a local measurement-noise estimate,
raised for elite edits that will inherit their parent's weights, divided by predicted
cost, and a share of the picks may be reserved for such inheriting edits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from archsmith.strategies import _scalarise
from archsmith.strategies._acquisition import acquisition_values
from archsmith.strategies._gc_generator import local_noise, reserved_first

if TYPE_CHECKING:
    from archsmith.space import Architecture
    from archsmith.strategies._base import TrialRecord

__all__ = ["reserved_count", "select_candidates"]


def reserved_count(rounds: int, share: float, k: int) -> int:
    """Picks reserved for named elite edits in round ``rounds`` (0-based) of ``k`` picks.

    Over many rounds the reserved picks add up to ``share`` of all picks: round ``r``
    reserves ``⌊(r+1)·share·k⌋ − ⌊r·share·k⌋``.

    Example:
        >>> [reserved_count(r, 0.5, 1) for r in range(4)]
        [0, 1, 0, 1]
        >>> reserved_count(0, 0.0, 8)
        0
    """
    return int((rounds + 1) * share * k + 1e-9) - int(rounds * share * k + 1e-9)


def select_candidates(
    pool: Sequence[Architecture],
    pred: Mapping[str, tuple[float, float]],
    done: Sequence[TrialRecord],
    k: int,
    rng: np.random.Generator,
    *,
    acquisition: str,
    beta: float = 1.0,
    noise_weight: float = 0.0,
    noise_length: float = 1.0,
    parents: Mapping[str, int] | None = None,
    cost_exponent: float = 0.0,
    cost_metric: str = "train_seconds",
    inherit_exponent: float = 1.0,
    reserve: int = 0,
) -> list[Architecture]:
    """The ``k`` candidates of ``pool`` to measure next, best first.

    Args:
        pool: Unseen candidates.
        pred: The critic's ``(mean, variance)`` by architecture hash, for the pool and
            (with ``noise_weight``) for every measured architecture.
        done: Complete trials (scores, costs, inheritance).
        k: Number of picks.
        rng: Randomness of the acquisition (Thompson draws).
        acquisition: ``"ts"``, ``"ucb"`` or ``"ei"``.
        beta: UCB exploration weight.
        noise_weight: Weight of :func:`local_noise` in the acquisition's variance.
        noise_length: Decisions changed per ``e``-fold drop in :func:`local_noise`.
        parents: Candidates that are elite edits and will inherit, by hash → parent
            trial number (``--inherit``; empty: none).
        cost_exponent: Cost-aware selection (0: off).
        cost_metric: The metric whose value per budget unit is the cost.
        inherit_exponent: Weight of an inheriting candidate's shorter training.
        reserve: Picks reserved for the best named candidates (``inherit_share``).

    Returns:
        Up to ``k`` architectures of ``pool``.
    """
    if not pool:
        return []
    parents = parents or {}
    mean = np.array([pred[a.hash][0] for a in pool])
    var = np.maximum([pred[a.hash][1] for a in pool], 0.0)
    if noise_weight:
        residuals2 = [(float(t.score) - pred[t.arch.hash][0]) ** 2 for t in done]  # type: ignore[arg-type]
        var = var + noise_weight * local_noise(
            np.array([a.indices for a in pool]), np.array([t.arch.indices for t in done]),
            np.array(residuals2), noise_length)
    named = [a.hash in parents for a in pool] if parents else []
    if parents:  # an elite edit starts from its parent's weights (--inherit)
        mean = mean + _scalarise.inheritance_effect(done) * np.array(named)  # raw scale
    best = max(float(t.score) for t in done)  # type: ignore[arg-type]
    value = acquisition_values(acquisition, mean, np.sqrt(var), best, beta, rng)
    from archsmith.strategies._cost_model import candidate_costs, per_cost

    cost = candidate_costs(  # gain per predicted cost (EI per second for "ei")
        pool, done, cost_exponent=cost_exponent, metric=cost_metric,
        inherit_exponent=inherit_exponent, inheriting=parents.keys())
    if cost is not None:
        value = per_cost(value, 0.0 if acquisition == "ei" else best, cost, 1.0)
    # ties (e.g. zero EI everywhere) are broken by the predicted mean
    order = np.lexsort((-mean, -value))
    if reserve and parents:  # (no named candidate: nothing to move forward)
        order = reserved_first(order, named, reserve)
    return [pool[int(i)] for i in order[:k]]
