"""Simulated-time executor: N virtual workers whose trials take the benchmark's own time.

A tabular benchmark answers instantly, but it also records how long each architecture
took to train (NAS-Bench-201: ``train_seconds`` of its 200-epoch run). This executor
replays an asynchronous search as if ``workers`` machines trained the networks: a
trial submitted at simulated time ``t`` finishes at ``t + train_seconds``, and
:meth:`SimulatedExecutor.wait` returns the trial that finishes first and moves the
clock there. The driver therefore sees exactly the order of events a real
``workers``-machine search would see (the idea of Syne Tune's simulator back-end), and a
64-worker search of NAS-Bench-201 runs in seconds.

Only evaluators that declare a simulated time (``simulated_time_metric``, set by the
NAS-Bench-201 benchmarks) can be used; NAS-Bench-Graph stores no training time.
The clock starts at 0 each time a search (re)starts; a trial's simulated start and end
are kept in :attr:`SimulatedExecutor.log`.

Example:
    >>> from archsmith.evaluators import create_benchmark
    >>> bench = create_benchmark("nb201/cifar10")
    >>> space = bench.default_space()
    >>> ex = SimulatedExecutor(workers=2)
    >>> edges = [d.name for d in space.decisions]
    >>> a = space.make(dict.fromkeys(edges, "nor_conv_3x3"))  # trains longer than b
    >>> b = space.make(dict.fromkeys(edges, "skip_connect"))
    >>> ex.submit(0, bench, a, None); ex.submit(1, bench, b, None)
    >>> [n for n, _ in ex.wait()], round(ex.now) > 0
    ([1], True)
"""

from __future__ import annotations

import heapq
import math
from typing import TYPE_CHECKING

from archsmith.errors import ConfigError
from archsmith.executors._inline import safe_evaluate

if TYPE_CHECKING:
    from archsmith.evaluators._base import EvalResult, Evaluator
    from archsmith.space import Architecture

__all__ = ["SimulatedExecutor"]


class SimulatedExecutor:
    """Runs tabular evaluations on ``workers`` simulated workers in simulated time.

    Args:
        workers: Number of simulated workers (trials in flight at once).

    Attributes:
        now: The simulated clock in seconds (the finish time of the last trial returned
            by :meth:`wait`).
        log: ``number → (start, end)`` simulated times of every trial returned (its
            last job, under a multi-fidelity scheduler).
        jobs: ``(number, start, end)`` of every job returned, in order (a trial of a
            multi-fidelity search has one job per rung).
    """

    name = "simulated"

    def __init__(self, workers: int = 1) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ConfigError(f"workers must be a positive integer, got {workers!r}.")
        self.workers = workers
        self.now = 0.0
        self.log: dict[int, tuple[float, float]] = {}
        self.jobs: list[tuple[int, float, float]] = []
        self._events: list[tuple[float, int, int, float, EvalResult]] = []
        self._seq = 0

    @staticmethod
    def check_evaluator(evaluator: Evaluator) -> str:
        """The metric holding ``evaluator``'s simulated time; raises if it has none."""
        from archsmith.evaluators._base import SimulatedTime

        metric = evaluator.simulated_time_metric if isinstance(
            evaluator, SimulatedTime) else None
        if not isinstance(metric, str):
            name = getattr(evaluator, "name", type(evaluator).__name__)
            raise ConfigError(
                f"executor 'simulated' needs a tabular benchmark that records training "
                f"time (e.g. --benchmark nb201/cifar10), or an evaluator with a "
                f"`simulated_time_metric`; {name!r} records none. Use "
                "--executor inline, process or ray for it."
            )
        return metric

    def submit(
        self, number: int, evaluator: Evaluator, arch: Architecture, budget: int | None,
        timeout: float | None = None, checkpoint: str | None = None,
    ) -> None:
        """Evaluates trial ``number`` now and schedules its result in simulated time.

        A trial whose simulated time exceeds ``timeout`` fails at ``start + timeout``.
        """
        metric = self.check_evaluator(evaluator)
        if len(self._events) >= self.workers:
            raise ConfigError(f"all {self.workers} simulated workers are busy.")
        result = safe_evaluate(evaluator, arch, budget, checkpoint=checkpoint)
        duration = float(result.metrics.get(metric, result.cost or 0.0)) if result.ok \
            else float(result.cost or 0.0)
        if not math.isfinite(duration) or duration < 0:
            duration = 0.0
        if timeout is not None and timeout > 0 and duration > timeout:
            from archsmith.evaluators._base import EvalResult

            result = EvalResult.failure(
                f"timeout: trial exceeded the time limit of {timeout:g} s "
                f"(simulated; it trains for {duration:g} s)", cost=float(timeout))
            duration = float(timeout)
        heapq.heappush(self._events, (self.now + duration, self._seq, number, self.now, result))
        self._seq += 1

    def wait(self) -> list[tuple[int, EvalResult]]:
        """Advances the clock to the next finishing trial and returns it."""
        if not self._events:
            return []
        end, _seq, number, start, result = heapq.heappop(self._events)
        self.now = end
        self.log[number] = (start, end)
        self.jobs.append((number, start, end))
        return [(number, result)]

    def cancel(self) -> None:
        """Forgets the trials in flight (they are re-run on resume)."""
        self._events.clear()

    def close(self) -> None:
        self._events.clear()
