"""NSGA-II (Deb et al. 2002) with constrained domination, steady state, mutation only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from archsmith._checks import check_integers
from archsmith._pareto import crowding_distance, pareto_ranks
from archsmith.errors import ConfigError
from archsmith.strategies import STRATEGIES
from archsmith.strategies._base import Strategy, TrialRecord

if TYPE_CHECKING:
    from archsmith.space import Architecture, SearchSpace

__all__ = ["NSGA2", "survivors"]


def survivors(history: Sequence[TrialRecord], k: int) -> list[TrialRecord]:
    """The ``k`` best trials by NSGA-II's crowded comparison under constrained
    domination (Deb 2000): feasible trials first, by non-dominated rank, then by crowding
    distance (larger first); then infeasible ones by their violation (smaller first).
    Failed trials (without values or a violation) are left out; ties go to the lower
    trial number.

    Example:
        >>> from archsmith.space import create_space
        >>> a = create_space("mlp").sample(np.random.default_rng(0))
        >>> h = [TrialRecord(0, a, "complete", 1.0, values=(1.0, -3.0)),
        ...      TrialRecord(1, a, "complete", 2.0, values=(2.0, -1.0)),
        ...      TrialRecord(2, a, "complete", None, values=(9.0, -9.0), violation=0.5),
        ...      TrialRecord(3, a, "failed")]
        >>> [t.number for t in survivors(h, 3)]
        [1, 0, 2]
    """
    ok = [t for t in history if t.state == "complete" and t.objective_values is not None
          and t.feasible]
    bad = [t for t in history if not t.feasible]
    order: list[TrialRecord] = []
    if ok:
        vals = np.array([t.objective_values for t in ok], dtype=float)
        ranks = pareto_ranks(vals)
        crowd = np.zeros(len(ok))
        for r in np.unique(ranks):
            idx = np.flatnonzero(ranks == r)
            crowd[idx] = crowding_distance(vals[idx])
        keys = sorted(range(len(ok)), key=lambda i: (ranks[i], -crowd[i], ok[i].number))
        order = [ok[i] for i in keys]
    order += sorted(bad, key=lambda t: (t.violation, t.number))
    return order[:k]


class NSGA2(Strategy):
    """Multi-objective evolution: NSGA-II selection, regularized-evolution mutation.

    The population is recomputed from the history on every ``ask`` (so a resumed search
    proposes what the uninterrupted one would): the ``population_size`` best trials by
    :func:`survivors` — elitist, as NSGA-II's (μ + λ) survival, but steady state (each
    finished trial joins at once). A proposal mutates the winner of a binary tournament
    (the better survivor wins: lower rank, then larger crowding distance; feasible
    before infeasible, as in Optuna's ``constraints_func``). Until ``population_size``
    trials have finished, proposals are uniform random. With one objective it is an
    elitist evolutionary search.

    Args:
        space: The search space.
        population_size: Survivors kept (μ).
        tournament: Survivors drawn per tournament.
        max_edits: Most successive mutations per child (1..``max_edits``, uniform).

    Example:
        >>> from archsmith.space import create_space
        >>> s = NSGA2(create_space("mlp"), population_size=4)
        >>> len(s.ask([], 2, np.random.default_rng(0)))
        2
    """

    name = "nsga2"
    multi_objective = True

    def __init__(self, space: SearchSpace, population_size: int = 20, tournament: int = 2,
                 max_edits: int = 1) -> None:
        super().__init__(space)
        check_integers("nsga2", {"population_size": (population_size, 2),
                                 "tournament": (tournament, 1), "max_edits": (max_edits, 1)})
        if tournament > population_size:
            raise ConfigError(f"nsga2: tournament ({tournament}) must not exceed "
                              f"population_size ({population_size}).")
        self.population_size = population_size
        self.tournament = tournament
        self.max_edits = max_edits

    def ask(
        self, history: Sequence[TrialRecord], n: int, rng: np.random.Generator
    ) -> list[Architecture]:
        seen = {t.arch.hash for t in history}
        judged = [t for t in history if t.state != "running"
                  and (t.objective_values is not None or not t.feasible)]
        pop = survivors(history, self.population_size)
        out: list[Architecture] = []
        for _ in range(n):
            child = None
            for _retry in range(20):
                if len(judged) < self.population_size or not pop:
                    child = self.space.sample(rng)
                else:
                    idx = rng.choice(len(pop), size=min(self.tournament, len(pop)),
                                     replace=False)
                    child = pop[int(min(idx))].arch  # survivors are best first
                    for _e in range(int(rng.integers(1, self.max_edits + 1))):
                        child = self.space.mutate(child, rng)
                if child.hash not in seen:
                    break
            assert child is not None
            seen.add(child.hash)
            out.append(child)
        return out

    def config(self) -> dict[str, Any]:
        return {"population_size": self.population_size, "tournament": self.tournament,
                "max_edits": self.max_edits}


STRATEGIES.add("nsga2", NSGA2, help="NSGA-II (Deb et al. 2002): non-dominated sorting, "
               "crowding distance, constrained domination; mutation of tournament winners.")
