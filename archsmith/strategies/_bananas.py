"""BANANAS: Bayesian optimisation with neural architectures (White et al., AAAI 2021).

Each proposal fits a predictor (by default the ``mlp-ensemble`` critic on the path
encoding) on every complete trial, generates candidates by mutating the best
architectures found so far (plus a few random ones), and evaluates the one the
acquisition function prefers: independent Thompson sampling (each candidate's value is
drawn from the ensemble's predictive distribution) or UCB.

The predictor is refit from scratch on every ``ask`` with a seed drawn from the ``rng``
passed to it, so the strategy keeps no state between calls: a resumed search proposes
exactly what the original would have.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from archsmith._checks import check_integers, check_numbers, check_table
from archsmith.errors import ConfigError
from archsmith.strategies import STRATEGIES
from archsmith.strategies._acquisition import check_critic_and_acquisition
from archsmith.strategies._base import Strategy, TrialRecord
from archsmith.strategies._scalarise import (
    critic_scores,
    is_multi_objective,
    parego_scores,
    penalise_infeasible,
)

if TYPE_CHECKING:
    from archsmith.critic import Predictor
    from archsmith.space import Architecture, SearchSpace

__all__ = ["Bananas", "mutation_candidates", "random_fill"]


def random_fill(
    space: SearchSpace, seen: set[str], n: int, rng: np.random.Generator, retries: int = 20
) -> list[Architecture]:
    """``n`` random architectures, resampling (a few times) hashes in ``seen``.

    ``seen`` is updated with the proposals.

    Example:
        >>> from archsmith.space import create_space
        >>> space = create_space("nb201")
        >>> len(random_fill(space, set(), 3, np.random.default_rng(0)))
        3
    """
    out: list[Architecture] = []
    for _ in range(n):
        arch = space.sample(rng)
        for _retry in range(retries):
            if arch.hash not in seen:
                break
            arch = space.sample(rng)
        seen.add(arch.hash)
        out.append(arch)
    return out


def mutation_candidates(
    space: SearchSpace,
    done: Sequence[TrialRecord],
    seen: set[str],
    rng: np.random.Generator,
    num_parents: int = 10,
    mutations: int = 10,
    max_edits: int = 2,
    num_random: int = 20,
) -> list[Architecture]:
    """Candidate pool: mutations of the best complete trials plus random samples.

    Each of the ``num_parents`` best distinct architectures yields ``mutations``
    children, each made by 1..``max_edits`` successive :meth:`SearchSpace.mutate`
    calls; ``num_random`` uniform samples are added. Candidates whose hash is in
    ``seen`` (evaluated or running) and duplicates are dropped.

    Example:
        >>> from archsmith.space import create_space
        >>> space = create_space("nb201")
        >>> rng = np.random.default_rng(0)
        >>> done = [TrialRecord(i, space.sample(rng), "complete", score=float(i))
        ...         for i in range(5)]
        >>> seen = {t.arch.hash for t in done}
        >>> cands = mutation_candidates(space, done, seen, rng, num_parents=2, mutations=5)
        >>> all(c.hash not in seen for c in cands), len({c.hash for c in cands}) == len(cands)
        (True, True)
    """
    ranked = sorted(done, key=lambda t: float(t.score or 0.0), reverse=True)
    parents: list[Architecture] = []
    parent_hashes: set[str] = set()
    for t in ranked:
        if t.arch.hash not in parent_hashes:
            parent_hashes.add(t.arch.hash)
            parents.append(t.arch)
        if len(parents) >= num_parents:
            break
    pool: list[Architecture] = []
    taken = set(seen)
    for parent in parents:
        for _ in range(mutations):
            child = parent
            for _edit in range(int(rng.integers(1, max_edits + 1))):
                child = space.mutate(child, rng)
            if child.hash not in taken:
                taken.add(child.hash)
                pool.append(child)
    for _ in range(num_random):
        arch = space.sample(rng)
        if arch.hash not in taken:
            taken.add(arch.hash)
            pool.append(arch)
    return pool


def _check_counts(strategy: str, **values: int) -> None:
    check_integers(strategy, {f: (v, 0 if f == "num_random" else 1) for f, v in values.items()})


def _validate_critic(
    strategy: str, critic: str, space: SearchSpace, config: dict[str, Any]
) -> None:
    """Creates the critic once so a bad ``critic_config`` fails at construction."""
    from archsmith.critic import create_critic

    try:
        create_critic(critic, space, **config)
    except TypeError as e:
        raise ConfigError(
            f"{strategy}: invalid critic_config {config!r} for critic {critic!r} ({e})."
        ) from None


class Bananas(Strategy):
    """BANANAS with a configurable critic and acquisition.

    Until ``num_init`` trials are complete, proposals are random (avoiding hashes
    already tried or running). Afterwards the critic is fit on all complete trials and
    the candidates of :func:`mutation_candidates` are ranked by the acquisition:

    * ``"ts"`` — independent Thompson sampling (BANANAS's default, which it calls
      ``"its"``; that name is accepted too): one draw from ``N(mean, variance)`` per
      candidate;
    * ``"ucb"`` — ``mean + beta * std``.

    The ``n`` best candidates are proposed; none was tried before or is running.

    Args:
        space: The search space.
        critic: Critic name (``"mlp-ensemble"`` as in BANANAS; ``"gnn"``, ``"gp"``).
        critic_config: Constructor arguments of the critic.
        acquisition: ``"ts"`` (``"its"``) or ``"ucb"``, spelled as in ``gc``.
        beta: UCB exploration weight.
        num_init: Random architectures before the critic is used.
        num_parents: Best architectures mutated to make candidates.
        mutations: Children per parent.
        max_edits: Maximum successive mutations per child.
        num_random: Random candidates added to the pool.

    Example:
        >>> from archsmith.space import create_space
        >>> strat = Bananas(create_space("nb201"), num_init=2)
        >>> len(strat.ask([], 2, np.random.default_rng(0)))
        2
    """

    name = "bananas"
    multi_objective = True  # by ParEGO's random scalarisations (strategies._scalarise)
    #: ``bananas:ucb`` selects the acquisition (see :func:`create_strategy`).
    variant_arg = "acquisition"

    def __init__(
        self,
        space: SearchSpace,
        critic: str = "mlp-ensemble",
        critic_config: dict[str, Any] | None = None,
        acquisition: str = "ts",
        beta: float = 1.0,
        num_init: int = 10,
        num_parents: int = 10,
        mutations: int = 10,
        max_edits: int = 2,
        num_random: int = 20,
    ) -> None:
        super().__init__(space)
        acquisition = check_critic_and_acquisition("bananas", critic, acquisition, ("ts", "ucb"))
        _check_counts("bananas", num_init=num_init, num_parents=num_parents,
                      mutations=mutations, max_edits=max_edits, num_random=num_random)
        check_numbers("bananas", {"beta": beta})
        self.critic = critic
        self.critic_config = check_table("bananas", "critic_config", critic_config)
        _validate_critic("bananas", critic, space, self.critic_config)
        self.acquisition = acquisition
        self.beta = float(beta)
        self.num_init = num_init
        self.num_parents = num_parents
        self.mutations = mutations
        self.max_edits = max_edits
        self.num_random = num_random

    def _fit(self, done: Sequence[TrialRecord], rng: np.random.Generator) -> Predictor:
        from archsmith.critic import create_critic

        seed = int(rng.integers(2**31))
        model = create_critic(self.critic, self.space, **{**self.critic_config, "seed": seed})
        return model.fit([t.arch for t in done], critic_scores(done),
                         rng=np.random.default_rng(seed))

    def ask(
        self, history: Sequence[TrialRecord], n: int, rng: np.random.Generator
    ) -> list[Architecture]:
        if is_multi_objective(history):  # several objectives: a random scalarisation
            history = parego_scores(history, rng)
        history = penalise_infeasible(history)  # constraints: infeasible scores lowest
        seen = {t.arch.hash for t in history}
        done = [t for t in history if t.complete]
        if len(done) < self.num_init:
            return random_fill(self.space, seen, n, rng)
        model = self._fit(done, rng)
        pool = mutation_candidates(
            self.space, done, seen, rng, self.num_parents, self.mutations, self.max_edits,
            self.num_random,
        )
        if not pool:
            return random_fill(self.space, seen, n, rng)
        mean, var = model.predict(pool)
        std = np.sqrt(np.maximum(var, 0.0))
        if self.acquisition == "ts":
            value = mean + std * rng.standard_normal(len(pool))
        else:
            value = mean + self.beta * std
        order = np.argsort(-value, kind="stable")[:n]
        out = [pool[int(i)] for i in order]
        seen.update(a.hash for a in out)
        return out + random_fill(self.space, seen, n - len(out), rng)

    def config(self) -> dict[str, Any]:
        return {
            "critic": self.critic, "critic_config": self.critic_config,
            "acquisition": self.acquisition, "beta": self.beta, "num_init": self.num_init,
            "num_parents": self.num_parents, "mutations": self.mutations,
            "max_edits": self.max_edits, "num_random": self.num_random,
        }


STRATEGIES.add(
    "bananas",
    Bananas,
    help="BANANAS (White et al. 2021): MLP-ensemble predictor on path encodings, "
    "Thompson sampling, mutation-based acquisition optimisation.",
)
