"""Random search."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from archsmith._checks import check_flags
from archsmith.strategies import STRATEGIES
from archsmith.strategies._base import Strategy, TrialRecord

if TYPE_CHECKING:
    import numpy as np

    from archsmith.space import Architecture, SearchSpace

__all__ = ["RandomSearch"]


class RandomSearch(Strategy):
    """Samples architectures uniformly, decision by decision.

    Args:
        space: The search space.
        avoid_seen: Resample (a few times) proposals whose hash was already tried or is
            running, so the budget is not spent on duplicates.

    Example:
        >>> import numpy as np
        >>> from archsmith.space import create_space
        >>> s = RandomSearch(create_space("mlp"))
        >>> a = s.ask([], 2, np.random.default_rng(1))
        >>> a == s.ask([], 2, np.random.default_rng(1))
        True
    """

    name = "random"
    multi_objective = True  # it ignores the results altogether

    def __init__(self, space: SearchSpace, avoid_seen: bool = True) -> None:
        super().__init__(space)
        check_flags("random", {"avoid_seen": avoid_seen})
        self.avoid_seen = avoid_seen

    def ask(
        self, history: Sequence[TrialRecord], n: int, rng: np.random.Generator
    ) -> list[Architecture]:
        seen = {t.arch.hash for t in history} if self.avoid_seen else set()
        out: list[Architecture] = []
        for _ in range(n):
            arch = self.space.sample(rng)
            for _retry in range(20):
                if arch.hash not in seen:
                    break
                arch = self.space.sample(rng)
            seen.add(arch.hash)
            out.append(arch)
        return out

    def config(self) -> dict[str, object]:
        return {"avoid_seen": self.avoid_seen}


STRATEGIES.add("random", RandomSearch, help="Uniform random sampling (avoids repeats).")
