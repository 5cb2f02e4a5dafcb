"""Acquisition functions shared by the model-based strategies (``gc``, ``bo``)."""

from __future__ import annotations

import math

import numpy as np
import torch

from archsmith._checks import check_name
from archsmith.errors import ConfigError

__all__ = ["acquisition_values", "check_critic_and_acquisition", "expected_improvement"]


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


def acquisition_values(kind: str, mean: np.ndarray, std: np.ndarray, best: float,
                       beta: float, rng: np.random.Generator) -> np.ndarray:
    """The acquisition ``kind`` of Gaussian predictions: ``"ei"`` (expected improvement
    over ``best``), ``"ucb"`` (``mean + beta·std``) or ``"ts"`` (one draw per candidate).

    Example:
        >>> acquisition_values("ucb", np.array([1.0]), np.array([2.0]), 0.0, 0.5,
        ...                    np.random.default_rng(0))
        array([2.])
    """
    if kind == "ei":
        return expected_improvement(mean, std, best)
    if kind == "ucb":
        return mean + beta * std
    return mean + std * rng.standard_normal(len(mean))


#: What each acquisition name means, for error messages.
_ACQUISITION_NAMES = {
    "ei": "expected improvement",
    "ucb": "upper confidence bound",
    "ts": "Thompson sampling",
}


def check_critic_and_acquisition(
    strategy: str, critic: str, acquisition: str, allowed: tuple[str, ...]
) -> str:
    """Validates a critic-guided strategy's ``critic`` and ``acquisition`` arguments.

    Args:
        strategy: The strategy's registered name, used in the messages.
        critic: A critic name (see :func:`archsmith.critic.critic_names`).
        acquisition: An acquisition name; ``"its"`` (BANANAS's spelling) means ``"ts"``.
        allowed: The acquisitions the strategy implements.

    Returns:
        The acquisition's canonical name.

    Raises:
        ConfigError: Naming the field and the valid values.

    Example:
        >>> check_critic_and_acquisition("gc", "gnn", "its", ("ei", "ts"))
        'ts'
    """
    from archsmith.critic import critic_names

    check_name(strategy, "critic", critic)
    check_name(strategy, "acquisition", acquisition)
    if critic not in critic_names():
        raise ConfigError(
            f"{strategy}: unknown critic {critic!r}; valid critics: {critic_names()}."
        )
    canonical = "ts" if acquisition == "its" else acquisition
    if canonical not in allowed:
        meanings = ", ".join(f"{a!r} ({_ACQUISITION_NAMES.get(a, a)})" for a in allowed)
        raise ConfigError(
            f"{strategy}: acquisition must be one of {meanings}; got {acquisition!r}."
        )
    return canonical

