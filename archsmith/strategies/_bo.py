"""Bayesian optimisation: a Gaussian process on the decision encoding with expected
improvement.

Each proposal fits the ``gp`` critic (exact GP, Hamming kernel with one relevance
weight per decision) on every complete trial and proposes the candidates with the
highest expected improvement over the best score found. Candidates are mutations of the
best architectures plus many random samples (the acquisition is optimised over this
pool, not by gradients: the space is categorical). The GP fit is deterministic and
recomputed from the history on every ``ask``, so the strategy keeps no state and a
resumed search proposes exactly what the original would have.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from archsmith._checks import check_numbers, check_table
from archsmith.strategies import STRATEGIES
from archsmith.strategies._acquisition import expected_improvement
from archsmith.strategies._bananas import (
    _check_counts,
    _validate_critic,
    mutation_candidates,
    random_fill,
)
from archsmith.strategies._base import Strategy, TrialRecord
from archsmith.strategies._scalarise import (
    critic_scores,
    is_multi_objective,
    parego_scores,
    penalise_infeasible,
)

if TYPE_CHECKING:
    from archsmith.space import Architecture, SearchSpace

__all__ = ["BayesianOptimization", "expected_improvement"]


class BayesianOptimization(Strategy):
    """GP-based Bayesian optimisation with expected improvement.

    Until ``num_init`` trials are complete, proposals are random (avoiding hashes
    already tried or running). Afterwards the ``gp`` critic is fit on the complete
    trials and the ``n`` candidates with the largest expected improvement over the best
    score are proposed (ties broken by the predicted mean). None was tried before or is
    running.

    Args:
        space: The search space.
        critic_config: Constructor arguments of the ``gp`` critic (kernel, target, …).
        num_init: Random architectures before the GP is used.
        num_parents: Best architectures mutated to make candidates.
        mutations: Children per parent.
        max_edits: Maximum successive mutations per child.
        num_random: Random candidates added to the pool.
        xi: Improvement margin of EI, in units of the GP's transformed target (about
            standard deviations of the scores).

    Example:
        >>> from archsmith.space import create_space
        >>> bo = BayesianOptimization(create_space("nb201"), num_init=2)
        >>> len(bo.ask([], 1, np.random.default_rng(0)))
        1
    """

    name = "bo"
    multi_objective = True  # by ParEGO's random scalarisations (strategies._scalarise)

    def __init__(
        self,
        space: SearchSpace,
        critic_config: dict[str, Any] | None = None,
        num_init: int = 10,
        num_parents: int = 10,
        mutations: int = 10,
        max_edits: int = 2,
        num_random: int = 100,
        xi: float = 0.0,
    ) -> None:
        super().__init__(space)
        _check_counts("bo", num_init=num_init, num_parents=num_parents, mutations=mutations,
                      max_edits=max_edits, num_random=num_random)
        check_numbers("bo", {"xi": xi})
        self.critic_config = check_table("bo", "critic_config", critic_config)
        _validate_critic("bo", "gp", space, self.critic_config)
        self.num_init = num_init
        self.num_parents = num_parents
        self.mutations = mutations
        self.max_edits = max_edits
        self.num_random = num_random
        self.xi = float(xi)

    def ask(
        self, history: Sequence[TrialRecord], n: int, rng: np.random.Generator
    ) -> list[Architecture]:
        from archsmith.critic._gp import GPPredictor

        if is_multi_objective(history):  # several objectives: a random scalarisation
            history = parego_scores(history, rng)
        history = penalise_infeasible(history)  # constraints: infeasible scores lowest
        seen = {t.arch.hash for t in history}
        done = [t for t in history if t.complete]
        if len(done) < self.num_init:
            return random_fill(self.space, seen, n, rng)
        scores = np.array(critic_scores(done))
        gp = GPPredictor(self.space, **self.critic_config)
        gp.fit([t.arch for t in done], scores, rng=rng)
        pool = mutation_candidates(
            self.space, done, seen, rng, self.num_parents, self.mutations, self.max_edits,
            self.num_random,
        )
        if not pool:
            return random_fill(self.space, seen, n, rng)
        # EI where the GP is Gaussian: on the transformed scores (see GPPredictor).
        mean, var = gp.predict_latent(pool)
        best = float(gp.transform.forward(scores.max()[None])[0])
        # xi: the improvement asked for beyond the incumbent
        ei = expected_improvement(mean, np.sqrt(np.maximum(var, 1e-18)), best + self.xi)
        order = np.lexsort((-mean, -ei))[:n]
        out = [pool[int(i)] for i in order]
        seen.update(a.hash for a in out)
        return out + random_fill(self.space, seen, n - len(out), rng)

    def config(self) -> dict[str, Any]:
        return {
            "critic_config": self.critic_config, "num_init": self.num_init,
            "num_parents": self.num_parents, "mutations": self.mutations,
            "max_edits": self.max_edits, "num_random": self.num_random, "xi": self.xi,
        }


STRATEGIES.add(
    "bo",
    BayesianOptimization,
    help="Bayesian optimisation: exact GP on the decision encoding, expected improvement.",
)
