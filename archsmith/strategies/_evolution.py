"""Regularized (aging) evolution, Real et al. 2019."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from archsmith._checks import check_flags, check_integers
from archsmith.strategies import STRATEGIES
from archsmith.strategies._base import Strategy, TrialRecord

if TYPE_CHECKING:
    import numpy as np

    from archsmith.space import Architecture, SearchSpace

__all__ = ["RegularizedEvolution"]


class RegularizedEvolution(Strategy):
    """Regularized evolution (aging evolution).

    The population is the ``population_size`` most recently *finished* complete trials
    (the oldest is removed first, whatever its score). Until the population is full,
    proposals are random. Afterwards each proposal mutates the best of
    ``sample_size`` population members drawn uniformly at random (tournament).

    The population is recomputed from the history on every ``ask``, so the strategy's
    state after a resume is exactly what it was before the interruption.

    Args:
        space: The search space.
        population_size: Number of most recent architectures kept (P in the paper).
        sample_size: Tournament size (S in the paper).
        avoid_seen: Re-mutate (a few times) children already tried or running.

    Example:
        >>> import numpy as np
        >>> from archsmith.space import create_space
        >>> evo = RegularizedEvolution(create_space("mlp"), population_size=4, sample_size=2)
        >>> len(evo.ask([], 1, np.random.default_rng(0)))
        1
    """

    name = "evolution"

    def __init__(
        self,
        space: SearchSpace,
        population_size: int = 20,
        sample_size: int = 5,
        avoid_seen: bool = True,
    ) -> None:
        from archsmith.errors import ConfigError

        super().__init__(space)
        check_integers("evolution", {"population_size": (population_size, 2),
                                     "sample_size": (sample_size, 1)})
        check_flags("evolution", {"avoid_seen": avoid_seen})
        if sample_size > population_size:
            raise ConfigError(
                f"evolution: sample_size must be between 1 and population_size "
                f"({population_size}), got {sample_size}."
            )
        self.population_size = population_size
        self.sample_size = sample_size
        self.avoid_seen = avoid_seen

    def population(self, history: Sequence[TrialRecord]) -> list[TrialRecord]:
        """The current population: the last ``population_size`` complete trials."""
        done = [t for t in history if t.complete]
        return done[-self.population_size :]

    def ask(
        self, history: Sequence[TrialRecord], n: int, rng: np.random.Generator
    ) -> list[Architecture]:
        seen = {t.arch.hash for t in history} if self.avoid_seen else set()
        pop = self.population(history)
        out: list[Architecture] = []
        self._parents: dict[str, int] = {}
        for _ in range(n):
            if len(pop) < self.population_size:
                child = self.space.sample(rng)
                for _retry in range(20):
                    if child.hash not in seen:
                        break
                    child = self.space.sample(rng)
            else:
                idx = rng.choice(len(pop), size=self.sample_size, replace=False)
                parent = max((pop[int(i)] for i in idx), key=_score)
                child = self.space.mutate(parent.arch, rng)
                for _retry in range(20):
                    if child.hash not in seen:
                        break
                    child = self.space.mutate(parent.arch, rng)
                self._parents[child.hash] = parent.number
            seen.add(child.hash)
            out.append(child)
        return out

    def config(self) -> dict[str, Any]:
        return {
            "population_size": self.population_size,
            "sample_size": self.sample_size,
            "avoid_seen": self.avoid_seen,
        }


def _score(t: TrialRecord) -> float:
    return float(t.score) if t.score is not None else float("-inf")


STRATEGIES.add(
    "evolution",
    RegularizedEvolution,
    help="Regularized evolution (Real et al. 2019): tournament, mutation, aging.",
)
