"""Rung results of multi-fidelity searches: one row per trial and budget reached.

A trial under a scheduler trains in steps (rungs): 1 epoch, then on to 3, 9, …; each
step's result is a row of ``archsmith_rungs``, and the trial's own row holds its
latest successful rung (budget, metrics, curve) and the cost of all its rungs. Both
are written in one transaction, so a crash never leaves them disagreeing.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from archsmith.store._models import RungModel, SearchModel, TrialModel

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

__all__ = ["RungRow", "read_rungs", "write_rung"]


@dataclass
class RungRow:
    """A stored rung result.

    Attributes:
        number: The trial.
        rung: Index of the rung (0 = lowest budget).
        budget: The budget (epochs) the trial had reached.
        state: ``"complete"`` or ``"failed"``.
        metrics: Metrics at that budget.
        curve: The learning curve up to it.
        error: Why it failed.
        cost: Seconds this rung took (only its own epochs when it continued).
        trained: Budget units trained for this rung (``budget`` minus where it resumed).
    """

    number: int
    rung: int
    budget: int
    state: str
    metrics: dict[str, float] = field(default_factory=dict)
    curve: list[dict[str, float]] = field(default_factory=list)
    error: str | None = None
    cost: float | None = None
    trained: float = 0.0
    finished_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"trial": self.number, "rung": self.rung, "budget": self.budget,
                "state": self.state, "metrics": self.metrics, "error": self.error,
                "cost": self.cost, "trained": self.trained}


def write_rung(factory: sessionmaker[Session], search_id: int, row: RungRow) -> None:
    """Stores ``row`` and brings its trial's row up to date, in one transaction.

    A successful rung makes the trial ``complete`` at that budget (adding the rung's
    cost); a failed one fails a trial that had no successful rung yet and otherwise
    leaves the trial at its last successful budget.
    """
    now = time.time()
    with factory.begin() as s:
        s.add(RungModel(
            search_id=search_id, number=row.number, rung=row.rung, budget=row.budget,
            state=row.state, metrics=json.dumps(row.metrics), curve=json.dumps(row.curve),
            error=row.error, cost=row.cost, trained=float(row.trained), finished_at=now,
        ))
        trial = s.scalars(select(TrialModel).where(
            TrialModel.search_id == search_id, TrialModel.number == row.number)).one()
        cost = (trial.cost or 0.0) + (row.cost or 0.0)
        if row.state == "complete":
            trial.state, trial.budget = "complete", row.budget
            trial.metrics, trial.curve = json.dumps(row.metrics), json.dumps(row.curve)
            trial.error, trial.finished_at = None, now
        elif trial.state == "running":
            trial.state, trial.error, trial.finished_at = "failed", row.error, now
        trial.cost = cost
        s.execute(update(SearchModel).where(SearchModel.id == search_id)
                  .values(updated_at=now))


def read_rungs(factory: sessionmaker[Session], search_id: int) -> list[RungRow]:
    """Every rung result of a search, by trial then budget."""
    with factory() as s:
        q = (select(RungModel).where(RungModel.search_id == search_id)
             .order_by(RungModel.number, RungModel.budget))
        return [RungRow(number=r.number, rung=r.rung, budget=r.budget, state=r.state,
                        metrics=json.loads(r.metrics or "{}"),
                        curve=json.loads(r.curve or "[]"), error=r.error, cost=r.cost,
                        trained=r.trained, finished_at=r.finished_at)
                for r in s.scalars(q)]
