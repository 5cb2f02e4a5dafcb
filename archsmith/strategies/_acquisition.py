"""Acquisition functions shared by the model-based strategies (``gc``, ``bo``)."""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["expected_improvement"]


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    """Expected improvement over ``best`` of Gaussian predictions (maximisation).

    Example:
        >>> ei = expected_improvement(np.array([0.0, 1.0]), np.array([1.0, 0.0]), 0.5)
        >>> [round(float(x), 3) for x in ei]
        [0.198, 0.5]
    """
    std = np.maximum(np.asarray(std, dtype=np.float64), 0.0)
    gap = np.asarray(mean, dtype=np.float64) - best
    safe = np.where(std > 0, std, 1.0)
    z = gap / safe
    cdf = 0.5 * (1.0 + torch.special.erf(torch.from_numpy(z / math.sqrt(2.0))).numpy())
    pdf = np.exp(-0.5 * z**2) / math.sqrt(2.0 * math.pi)
    ei = gap * cdf + std * pdf
    return np.asarray(np.where(std > 0, np.maximum(ei, 0.0), np.maximum(gap, 0.0)))
