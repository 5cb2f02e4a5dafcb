"""An ask/tell loop a user drives from their own code (like Optuna's ``study.ask()``).

:class:`AskTell` keeps the history that a strategy's ``ask(history, n, rng)`` needs, so
a user's own training loop only asks for an architecture, trains it however it likes
and tells the result. Proposals are seeded per trial number exactly as in
:class:`~archsmith.search.Search`, so the same seed and results give the same
architectures; :meth:`AskTell.state_dict` saves the loop (strategy included) and
:meth:`AskTell.load_state_dict` continues it.

Example:
    >>> import archsmith
    >>> loop = archsmith.AskTell("nb201", strategy="evolution", seed=0)
    >>> for _ in range(5):
    ...     trial = loop.ask()
    ...     _ = loop.tell(trial, float(sum(trial.arch.indices)))  # train it here
    >>> len(loop.trials), loop.best.number in range(5)
    (5, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from archsmith._config import default_direction
from archsmith.errors import ConfigError
from archsmith.integrations import decode_state, encode_state
from archsmith.strategies import TrialRecord, create_strategy
from archsmith.strategies._base import best_of

if TYPE_CHECKING:
    from archsmith.space import Architecture, SearchSpace
    from archsmith.strategies import Strategy

__all__ = ["AskTell", "Trial"]


@dataclass(frozen=True)
class Trial:
    """An architecture handed out by :meth:`AskTell.ask`, waiting for its result."""

    number: int
    arch: Architecture


class AskTell:
    """Ask for architectures, tell their results: a search loop in the user's hands.

    Args:
        space: A space object, or a registered space name.
        strategy: A strategy name (``archsmith strategies``) or a strategy object built
            for ``space``.
        seed: Seed of every proposal (trial ``n`` uses ``default_rng([seed, n])``).
        objective: The metric the values told are (used when a dict is told).
        direction: ``"max"`` or ``"min"`` (default from the objective's name).
        strategy_config: Constructor arguments when ``strategy`` is a name.

    Raises:
        ConfigError: an unknown name, a bad direction or a strategy of another space.
    """

    def __init__(
        self, space: SearchSpace | str, strategy: Strategy | str = "evolution", *,
        seed: int = 0, objective: str = "val_acc", direction: str | None = None,
        strategy_config: dict[str, Any] | None = None,
    ) -> None:
        from archsmith.space import create_space

        self.space = create_space(space) if isinstance(space, str) else space
        if isinstance(strategy, str):
            self.strategy = create_strategy(strategy, self.space, **(strategy_config or {}))
        else:
            if strategy_config:
                raise ConfigError("strategy_config is for a strategy given by name; "
                                  "configure the strategy object itself.")
            if getattr(strategy, "space", self.space) is not self.space:
                raise ConfigError("The strategy object was built for another space object; "
                                  "build it for the space given here.")
            self.strategy = strategy
        self.seed = int(seed)
        self.objective = objective
        self.direction = direction or default_direction(objective)
        if self.direction not in ("max", "min"):
            raise ConfigError(f"direction must be 'max' or 'min', got {direction!r}.")
        self._finished: dict[int, TrialRecord] = {}
        self._running: dict[int, Trial] = {}
        self._next = 0
        #: Why each failed trial failed, by trial number.
        self.errors: dict[int, str] = {}

    # -- the loop ---------------------------------------------------------------------
    def ask(self) -> Trial:
        """The next architecture to evaluate (several may be out at once)."""
        number = self._next
        history = [self._finished[n] for n in sorted(self._finished)] + [
            TrialRecord(number=t.number, arch=t.arch, state="running")
            for t in self._running.values()
        ]
        arch = self.strategy.ask(history, 1, np.random.default_rng([self.seed, number]))[0]
        self._next += 1
        trial = Trial(number, arch)
        self._running[number] = trial
        return trial

    def tell(self, trial: Trial | int, value: float | dict[str, float] | None = None, *,
             error: str | None = None) -> TrialRecord:
        """Records the result of a trial handed out by :meth:`ask`.

        Args:
            trial: The trial (or its number).
            value: The objective's value, or a dict of metrics holding it; ``None``
                (or a NaN / infinite value) records a failed trial.
            error: Why the trial failed (recorded with it).

        Returns:
            The finished trial's record.

        Raises:
            ConfigError: the trial is unknown or was told already, or a dict value
                lacks the objective.
        """
        number = trial.number if isinstance(trial, Trial) else int(trial)
        if number not in self._running:
            state = "already told" if number in self._finished else "never asked"
            raise ConfigError(f"Trial {number} was {state}; tell each asked trial once.")
        metrics = self._metrics(number, value)
        pending = self._running.pop(number)
        v = metrics.get(self.objective)
        ok = v is not None and math.isfinite(v) and error is None
        score = (v if self.direction == "max" else -v) if ok and v is not None else None
        rec = TrialRecord(number=number, arch=pending.arch,
                          state="complete" if ok else "failed", score=score, metrics=metrics)
        if not ok:
            self.errors[number] = error or f"no finite {self.objective!r} was told"
        self._finished[number] = rec
        self.strategy.tell([rec])
        return rec

    def _metrics(self, number: int, value: float | dict[str, float] | None
                 ) -> dict[str, float]:
        """The told value as a metrics dict; anything not a number is a ConfigError."""
        raw = value if isinstance(value, dict) else (
            {} if value is None else {self.objective: value})
        if isinstance(value, dict) and self.objective not in value:
            raise ConfigError(f"The metrics told for trial {number} lack the objective "
                              f"{self.objective!r}: {sorted(value)}.")
        metrics: dict[str, float] = {}
        for k, v in raw.items():
            try:
                metrics[str(k)] = float(v)
            except (TypeError, ValueError):
                raise ConfigError(f"Metric {k!r} told for trial {number} is not a number: "
                                  f"{v!r}. Tell numbers only.") from None
        return metrics

    # -- reading ----------------------------------------------------------------------
    @property
    def trials(self) -> list[TrialRecord]:
        """Finished trials in order of their numbers."""
        return [self._finished[n] for n in sorted(self._finished)]

    @property
    def best(self) -> TrialRecord | None:
        """The best complete trial (lowest number among ties), or ``None``."""
        return best_of(self.trials)

    # -- saving -----------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable state: finished trials, pending ones and the strategy's
        (tensors in it are stored base64-encoded, read back with ``weights_only=True``)."""
        return {
            "seed": self.seed, "objective": self.objective, "direction": self.direction,
            "next": self._next, "strategy": encode_state(self.strategy.state_dict()),
            "finished": [{"number": r.number, "arch": r.arch.to_dict(), "state": r.state,
                          "score": r.score, "metrics": r.metrics} for r in self.trials],
            "running": [{"number": t.number, "arch": t.arch.to_dict()}
                        for t in self._running.values()],
            "errors": {str(k): v for k, v in self.errors.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores :meth:`state_dict` (on a loop built with the same space and strategy)."""
        self.seed, self._next = int(state["seed"]), int(state["next"])
        self.objective, self.direction = state["objective"], state["direction"]
        self.strategy.load_state_dict(decode_state(state["strategy"]))
        self._finished = {
            d["number"]: TrialRecord(number=d["number"], arch=self.space.from_dict(d["arch"]),
                                     state=d["state"], score=d["score"], metrics=d["metrics"])
            for d in state["finished"]
        }
        self._running = {d["number"]: Trial(d["number"], self.space.from_dict(d["arch"]))
                         for d in state["running"]}
        self.errors = {int(k): v for k, v in state.get("errors", {}).items()}
