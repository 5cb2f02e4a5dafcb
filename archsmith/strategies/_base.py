"""Ask/tell strategy base class and the trial record strategies see."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from archsmith.space import Architecture, SearchSpace

__all__ = ["Strategy", "TrialRecord"]


@dataclass(frozen=True)
class TrialRecord:
    """What a strategy knows about one trial.

    Attributes:
        number: Trial number (0-based, in order of proposal).
        arch: The architecture.
        state: ``"running"``, ``"complete"`` or ``"failed"``.
        score: The objective oriented so that *higher is better* (``None`` unless
            complete and feasible); with several objectives, the first one.
        metrics: All metrics of the trial.
        budget: Under a multi-fidelity scheduler, the budget (epochs) the trial reached;
            ``score`` is then its result there, calibrated to the top budget (see
            :func:`archsmith.schedulers.rung_targets`). ``None`` without a scheduler.
        rungs: Under a scheduler, the trial's own score at each budget it reached.
        max_budget: Under a scheduler, the top budget (a trial with ``budget ==
            max_budget`` is fully trained); ``None`` without a scheduler.
        values: Every objective, higher is better (a complete trial, feasible or not;
            ``None`` otherwise or when the search told only ``score``).
        violation: Sum of the constraints' relative violations (0: feasible; a trial
            rejected before training has its violation and ``state == "failed"``).
        parent: With weight inheritance, the trial whose trained weights this one
            started from (``None``: trained from scratch). Its score then reflects the
            parent's training too, so critics keep the two kinds apart.
    """

    number: int
    arch: Architecture
    state: str
    score: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    budget: int | None = None
    rungs: dict[int, float] = field(default_factory=dict)
    max_budget: int | None = None
    values: tuple[float, ...] | None = None
    violation: float = 0.0
    parent: int | None = None

    @property
    def complete(self) -> bool:
        return self.state == "complete" and self.score is not None

    @property
    def feasible(self) -> bool:
        return self.violation == 0

    @property
    def objective_values(self) -> tuple[float, ...] | None:
        """``values``, or ``(score,)`` when only a score was told; ``None`` when the
        trial has no result."""
        if self.values is not None:
            return self.values
        return None if self.score is None else (float(self.score),)


def best_of(history: Sequence[TrialRecord]) -> TrialRecord | None:
    """The best complete trial (highest score, the lowest number among ties), or ``None``.

    Example:
        >>> best_of([]) is None
        True
    """
    done = [t for t in history if t.complete]
    if not done:
        return None
    return max(done, key=lambda t: (float(t.score or 0.0), -t.number))


class Strategy:
    """Base class of ask/tell search strategies.

    Strategies never see storage or executors. The search loop calls
    ``ask(history, n, rng)`` for proposals, passing every trial so far (including
    ``running`` ones, so strategies can avoid proposing what is already in flight), and
    ``tell(results)`` with newly finished trials. ``state_dict()`` must return
    JSON-serialisable values or ``torch.Tensor`` objects only (stored with the search
    and reloaded with ``torch.load(weights_only=True)``).

    Args:
        space: The search space.
    """

    #: Registry name, set by subclasses.
    name: str = "strategy"
    #: Whether the strategy optimises several objectives (reads ``TrialRecord.values``);
    #: a search with several objectives refuses the others.
    multi_objective: bool = False

    def __init__(self, space: SearchSpace) -> None:
        self.space = space

    def ask(
        self, history: Sequence[TrialRecord], n: int, rng: np.random.Generator
    ) -> list[Architecture]:
        """Proposes ``n`` architectures."""
        raise NotImplementedError

    def tell(self, results: Sequence[TrialRecord]) -> None:
        """Receives finished trials (complete or failed)."""

    def parent_of(self, arch: Architecture) -> int | None:
        """The trial whose architecture ``arch`` (a proposal of the last ``ask``) was
        made from, if the strategy made it by mutation; a search with weight inheritance
        starts ``arch`` from that trial's weights. Default: ``None`` (no parent named)."""
        return getattr(self, "_parents", {}).get(arch.hash)

    def state_dict(self) -> dict[str, Any]:
        """Learned state for resuming (JSON values and tensors only)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores :meth:`state_dict` output."""

    def config(self) -> dict[str, Any]:
        """Constructor arguments other than ``space`` (JSON-serialisable)."""
        return {}
