"""Random scalarisations of several objectives (ParEGO, Knowles 2006).

A single-objective model-based strategy searches several objectives by scoring every
trial, for one round, with the augmented Tchebycheff function of a weight vector drawn
uniformly from the simplex: each objective is replaced by its rank among the feasible
complete trials, scaled to ``[0, 1]`` (1 best; ParEGO scales by the range, which a few
dead networks squash — measured in ``benchmarks/RESULTS.md``), ``c_j = 1 − f̂_j`` and
``score = −(max_j λ_j c_j + ρ Σ_j λ_j c_j)`` (higher is better; ``ρ = 0.05`` as in the
paper). Different rounds draw different weights, so successive proposals spread along
the front, including its non-convex parts (which a weighted sum cannot reach).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from archsmith.strategies._base import TrialRecord

__all__ = [
    "critic_scores",
    "inheritance_effect",
    "is_multi_objective",
    "parego_scores",
    "penalise_infeasible",
]


def is_multi_objective(history: Sequence[TrialRecord]) -> bool:
    """Whether the trials carry several objective values."""
    return any(t.values is not None and len(t.values) > 1 for t in history)


def parego_scores(history: Sequence[TrialRecord], rng: np.random.Generator,
                  rho: float = 0.05) -> list[TrialRecord]:
    """``history`` with each feasible complete trial's ``score`` replaced by its
    augmented Tchebycheff value under one random weight vector (drawn from ``rng``).

    Example:
        >>> from archsmith.space import create_space
        >>> a = create_space("mlp").sample(np.random.default_rng(0))
        >>> h = [TrialRecord(0, a, "complete", 1.0, values=(1.0, -3.0)),
        ...      TrialRecord(1, a, "complete", 3.0, values=(3.0, -9.0)),
        ...      TrialRecord(2, a, "failed")]
        >>> out = parego_scores(h, np.random.default_rng(0))
        >>> [round(t.score, 3) if t.score is not None else None for t in out]
        [-0.42, -0.63, None]
    """
    ok = [t for t in history if t.complete and t.values is not None]
    if not ok:
        return list(history)
    vals = np.array([t.values for t in ok], dtype=float)
    lam = rng.dirichlet(np.ones(vals.shape[1]))
    # each objective by its rank among the trials (0 worst .. 1 best): scale-free, so a
    # few dead networks or one slow outlier do not squash the range that matters
    ranks = np.argsort(np.argsort(vals, axis=0, kind="stable"), axis=0, kind="stable")
    cost = 1.0 - ranks / max(len(vals) - 1, 1)
    scores = -((lam * cost).max(axis=1) + rho * (lam * cost).sum(axis=1))
    new = {t.number: float(s) for t, s in zip(ok, scores, strict=True)}
    return [dataclasses.replace(t, score=new[t.number]) if t.number in new else t
            for t in history]


def penalise_infeasible(history: Sequence[TrialRecord]) -> list[TrialRecord]:
    """``history`` with every infeasible trial (``violation`` > 0, trained or rejected
    before training) scored below all feasible ones, the lower the larger its
    violation — Deb's (2000) rule as a score, so a model-based strategy's predictor
    learns where the constraints fail instead of ignoring those trials. With no
    feasible score yet (no scale), ``history`` is returned unchanged.

    Example:
        >>> from archsmith.space import create_space
        >>> a = create_space("mlp").sample(np.random.default_rng(0))
        >>> h = [TrialRecord(0, a, "complete", 1.0), TrialRecord(1, a, "complete", 3.0),
        ...      TrialRecord(2, a, "failed", violation=0.5)]
        >>> [t.score for t in penalise_infeasible(h)]
        [1.0, 3.0, 0.6]
    """
    ok = [float(t.score) for t in history if t.complete and t.feasible and t.score is not None]
    if not ok or all(t.feasible for t in history):
        return list(history)
    lo, hi = min(ok), max(ok)
    span = hi - lo if hi > lo else max(abs(hi), 1.0)
    return [t if t.feasible or t.state == "running" else dataclasses.replace(
        t, state="complete", score=lo - span * (0.1 + 0.2 * min(t.violation, 10.0)))
        for t in history]


def inheritance_effect(done: Sequence[TrialRecord], ridge: float = 0.3) -> float:
    """What starting from a parent's weights adds to a trial's score, with the
    architecture held fixed: the inherited indicator's weight in a ridge regression of
    the scores on the one-hot decisions and that indicator (penalty ``ridge`` on the
    decisions only); 0 unless the history holds both kinds of trial.

    Example:
        >>> from archsmith.space import create_space
        >>> a = create_space("mlp").sample(np.random.default_rng(0))
        >>> h = [TrialRecord(0, a, "complete", 1.0), TrialRecord(1, a, "complete", 3.0),
        ...      TrialRecord(2, a, "complete", 8.0, parent=1)]
        >>> round(inheritance_effect(h), 6), inheritance_effect(h[:2])
        (6.0, 0.0)
    """
    rows = [t for t in done if t.score is not None]
    inherited = np.array([t.parent is not None for t in rows], dtype=float)
    if len(rows) == 0 or inherited.all() or not inherited.any():
        return 0.0
    scores = np.array([float(t.score) for t in rows])  # type: ignore[arg-type]
    X = np.stack([t.arch.space.encode(t.arch) for t in rows]).astype(float)
    A = np.column_stack([np.ones(len(rows)), inherited, X])
    penalty = np.full(A.shape[1], float(ridge))
    penalty[:2] = 1e-9  # intercept and inheritance effect: not shrunk
    w = np.linalg.solve(A.T @ A + np.diag(penalty), A.T @ scores)
    return float(w[1])


def critic_scores(done: Sequence[TrialRecord], ridge: float = 0.3) -> list[float]:
    """The scores a critic learns from: with weight inheritance, a trial that started
    from a parent's weights (``parent`` set) scores what its parent's training added on
    top of its architecture's worth, so inherited scores are shifted by that effect
    (:func:`inheritance_effect`, estimated with the architecture held fixed). The critic
    then learns scores on the scale of training from scratch. The two kinds are not
    simply centred on their own means: inherited trials are children of good trials, so
    much of their lead is their architectures', which the critic must keep. With one
    kind the scores are unchanged.

    Example:
        >>> from archsmith.space import create_space
        >>> a = create_space("mlp").sample(np.random.default_rng(0))
        >>> h = [TrialRecord(0, a, "complete", 1.0), TrialRecord(1, a, "complete", 3.0),
        ...      TrialRecord(2, a, "complete", 8.0, parent=1),
        ...      TrialRecord(3, a, "complete", 10.0, parent=2)]
        >>> [round(v, 6) for v in critic_scores(h)]
        [1.0, 3.0, 1.0, 3.0]
    """
    rows = [t for t in done if t.score is not None]
    effect = inheritance_effect(rows, ridge)
    return [float(t.score) - effect * (t.parent is not None) for t in rows]  # type: ignore[arg-type]
