"""Predictor (critic) interface: ``fit(archs, scores)`` and ``predict(archs)``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from archsmith.space import Architecture, SearchSpace

__all__ = ["Predictor"]


class Predictor:
    """Base class of performance predictors.

    A predictor learns ``score ≈ f(architecture)`` from evaluated architectures and
    predicts a mean and a variance (its uncertainty) for new ones. Scores are oriented
    so that higher is better. Constructor arguments are the whole configuration.

    Args:
        space: The search space the architectures belong to.
        seed: Seed of the predictor's own random generators (initialisation,
            mini-batches); ``fit`` may also be given an explicit generator.
    """

    name: str = "predictor"

    def __init__(self, space: SearchSpace, seed: int = 0) -> None:
        from archsmith._checks import check_integers

        check_integers(f"{self.name} critic", {"seed": (seed, 0)})
        self.space = space
        self.seed = seed

    def fit(
        self,
        archs: Sequence[Architecture],
        scores: Sequence[float] | np.ndarray,
        *,
        rng: np.random.Generator | None = None,
        warm_start: bool = False,
    ) -> Predictor:
        """Fits on ``archs`` with their ``scores``.

        Args:
            archs: Evaluated architectures.
            scores: Their scores (higher is better).
            rng: Generator for this fit (default: derived from ``seed``).
            warm_start: Continue from the current parameters instead of re-initialising
                (cheaper refits as results arrive).

        Returns:
            ``self``.
        """
        raise NotImplementedError

    def _checked_scores(
        self, archs: Sequence[Architecture], scores: Sequence[float] | np.ndarray
    ) -> np.ndarray:
        """``scores`` as float64, after checking there is one per architecture (≥ 1)."""
        from archsmith.errors import ConfigError

        y = np.asarray(scores, dtype=np.float64).reshape(-1)
        if len(archs) != len(y) or len(y) == 0:
            raise ConfigError(
                f"{self.name} critic: fit needs as many scores as architectures (≥ 1); "
                f"got {len(archs)} architectures and {len(y)} scores."
            )
        if not np.isfinite(y).all():
            raise ConfigError(f"{self.name} critic: fit got non-finite scores; drop failed "
                              "trials (NaN/inf) before fitting.")
        return y

    def predict(self, archs: Sequence[Architecture]) -> tuple[np.ndarray, np.ndarray]:
        """Predicted ``(mean, variance)`` arrays, one entry per architecture."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """Learned state (JSON values and tensors only)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores :meth:`state_dict` output."""
