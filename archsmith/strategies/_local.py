"""Local search from the incumbent (White et al., "Local search is state of the art for
neural architecture search benchmarks"; NASLib's ``LocalSearch``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from archsmith._checks import check_integers
from archsmith.strategies import STRATEGIES
from archsmith.strategies._base import Strategy, TrialRecord

if TYPE_CHECKING:
    import numpy as np

    from archsmith.space import Architecture, SearchSpace

__all__ = ["LocalSearch"]


class LocalSearch(Strategy):
    """First-improvement hill climbing with random restarts.

    The search runs in *runs*. The first run begins with ``n_init`` random
    architectures; later runs begin with one random architecture (a restart). Within a
    run the *centre* is the best complete trial of the run so far; each proposal is a
    neighbour of the centre (:meth:`SearchSpace.neighbours`: one decision changed)
    drawn uniformly from those whose hash is not yet in the history (complete, failed or
    running). As soon as a neighbour scores higher it becomes the centre, so the search
    moves on the first improvement. When every neighbour of the centre has been tried
    (a local optimum) the next proposal is a random restart.

    The state is derived from the history on every ``ask`` except for the list of
    restart architectures (which trials began a run), kept in :meth:`state_dict`; a
    restart that never reached the history is forgotten, so ``ask`` is repeatable.

    With parallel workers, neighbours still running count as tried: the strategy
    restarts when only running neighbours are left rather than wait for them.

    Args:
        space: The search space.
        n_init: Random architectures evaluated before the first climb (≥ 1).

    Example:
        >>> import numpy as np
        >>> from archsmith.space import create_space
        >>> space = create_space("nb201")
        >>> ls = LocalSearch(space, n_init=1)
        >>> first = ls.ask([], 1, np.random.default_rng(0))[0]
        >>> hist = [TrialRecord(0, first, "complete", score=1.0)]
        >>> nxt = ls.ask(hist, 1, np.random.default_rng(1))[0]
        >>> sum(a != b for a, b in zip(first.indices, nxt.indices))
        1
    """

    name = "local"

    def __init__(self, space: SearchSpace, n_init: int = 5) -> None:
        super().__init__(space)
        check_integers("local", {"n_init": (n_init, 1)})
        self.n_init = n_init
        self._roots: list[tuple[int, ...]] = []

    # -- state derived from the history -------------------------------------------------
    def _run_start(self, history: Sequence[TrialRecord]) -> int:
        """Position in ``history`` where the current run begins.

        Restarts that are not in the history (proposed but never recorded) are dropped.
        """
        while self._roots:
            root = self._roots[-1]
            for pos in range(len(history) - 1, -1, -1):
                if history[pos].arch.indices == root:
                    return pos
            self._roots.pop()
        return 0

    def centre(self, history: Sequence[TrialRecord]) -> Architecture | None:
        """The architecture whose neighbours are proposed next (``None``: none yet)."""
        start = self._run_start(history)
        run = history[start:]
        done = [t for t in run if t.complete]
        if done:
            return max(done, key=_score).arch
        if self._roots and run:  # the restart is still running: climb from it anyway
            return run[0].arch
        return None

    # -- ask ----------------------------------------------------------------------------
    def ask(
        self, history: Sequence[TrialRecord], n: int, rng: np.random.Generator
    ) -> list[Architecture]:
        seen = {t.arch.hash for t in history}
        hist = list(history)
        out: list[Architecture] = []
        self._parents: dict[str, int] = {}
        for _ in range(n):
            arch = self._propose(hist, seen, rng)
            seen.add(arch.hash)
            out.append(arch)
            # later proposals of the same call see this one as running
            hist.append(TrialRecord(-1, arch, "running"))
        return out

    def _propose(
        self, history: list[TrialRecord], seen: set[str], rng: np.random.Generator
    ) -> Architecture:
        if not self._roots and len(history) < self.n_init:
            return self._random(seen, rng)
        centre = self.centre(history)
        if centre is None:  # only failures (or nothing finished) so far
            return self._random(seen, rng)
        cand: dict[str, Architecture] = {}
        for nb in self.space.neighbours(centre):
            if nb.hash not in seen and nb.hash != centre.hash:
                cand.setdefault(nb.hash, nb)
        if cand:
            options = list(cand.values())
            pick = options[int(rng.integers(len(options)))]
            for t in history:  # the centre's trial: the proposal's parent
                if t.complete and t.arch.hash == centre.hash:
                    self._parents[pick.hash] = t.number
                    break
            return pick
        arch = self._random(seen, rng)  # local optimum: restart
        self._roots.append(arch.indices)
        return arch

    def _random(self, seen: set[str], rng: np.random.Generator) -> Architecture:
        arch = self.space.sample(rng)
        for _retry in range(50):
            if arch.hash not in seen:
                break
            arch = self.space.sample(rng)
        return arch

    # -- state --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"roots": [list(r) for r in self._roots]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._roots = [tuple(int(i) for i in r) for r in state.get("roots", [])]

    def config(self) -> dict[str, Any]:
        return {"n_init": self.n_init}


def _score(t: TrialRecord) -> float:
    return float(t.score) if t.score is not None else float("-inf")


STRATEGIES.add(
    "local",
    LocalSearch,
    help="Local search (White et al.): first-improvement hill climbing over "
    "one-decision neighbours with random restarts.",
)
