"""Runs evaluations in the driver's own process."""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from archsmith.errors import describe_exception
from archsmith.evaluators._base import EvalResult

if TYPE_CHECKING:
    from archsmith.evaluators._base import Evaluator
    from archsmith.space import Architecture

__all__ = ["InlineExecutor", "TrialTimeout", "describe_exception", "safe_evaluate"]


class TrialTimeout(Exception):
    """Raised inside a trial that ran past its time limit."""


@contextmanager
def _alarm(seconds: float | None) -> Iterator[None]:
    """Raises :class:`TrialTimeout` in the main thread after ``seconds`` (Unix only)."""
    usable = (
        seconds is not None and seconds > 0 and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def handler(_signum: int, _frame: Any) -> None:
        raise TrialTimeout(f"trial exceeded the time limit of {seconds:g} s")

    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))  # type: ignore[arg-type]
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def safe_evaluate(
    evaluator: Evaluator, arch: Architecture, budget: int | None, timeout: float | None = None,
    checkpoint: str | None = None,
) -> EvalResult:
    """Evaluates ``arch`` and turns every failure into a failed :class:`EvalResult`.

    With ``checkpoint``, an evaluator that continues training
    (:class:`~archsmith.evaluators.MultiFidelity` with ``continues``) is called as
    ``evaluate(arch, budget, checkpoint=checkpoint)``; others ignore it.

    Exceptions, out-of-memory errors, a time-out and non-finite objectives are all
    recorded as failures; ``KeyboardInterrupt`` propagates so Ctrl-C stops the search.
    """
    t0 = time.perf_counter()
    try:
        with _alarm(timeout):
            if checkpoint is not None and getattr(evaluator, "continues", False) is True:
                result = evaluator.evaluate(arch, budget, checkpoint=checkpoint)  # type: ignore[call-arg]
            else:
                result = evaluator.evaluate(arch, budget)
    except TrialTimeout as e:
        return EvalResult.failure(f"timeout: {e}", cost=time.perf_counter() - t0)
    except MemoryError:
        return EvalResult.failure("out of memory (MemoryError)", cost=time.perf_counter() - t0)
    except Exception as e:
        return EvalResult.failure(describe_exception(e), cost=time.perf_counter() - t0)
    if not isinstance(result, EvalResult):
        return EvalResult.failure(
            f"evaluator returned {type(result).__name__}, expected EvalResult",
            cost=time.perf_counter() - t0,
        )
    if result.cost is None or not math.isfinite(result.cost):
        result.cost = time.perf_counter() - t0
    return result


class InlineExecutor:
    """Evaluates trials one at a time in the calling process.

    ``timeout`` uses a SIGALRM timer, which interrupts Python code (training loops,
    ``time.sleep``) but not a hang inside one native call; the ``process`` executor
    kills such trials.
    """

    name = "inline"
    workers = 1

    def __init__(self) -> None:
        self._jobs: list[tuple[int, Evaluator, Architecture, int | None, float | None,
                               str | None]] = []

    def submit(
        self, number: int, evaluator: Evaluator, arch: Architecture, budget: int | None,
        timeout: float | None = None, checkpoint: str | None = None,
    ) -> None:
        """Queues trial ``number``; it runs in :meth:`wait`."""
        self._jobs.append((number, evaluator, arch, budget, timeout, checkpoint))

    def wait(self) -> list[tuple[int, EvalResult]]:
        """Runs the oldest queued trial and returns ``[(number, result)]``."""
        if not self._jobs:
            return []
        number, evaluator, arch, budget, timeout, checkpoint = self._jobs.pop(0)
        return [(number, safe_evaluate(evaluator, arch, budget, timeout, checkpoint))]

    def run(
        self, evaluator: Evaluator, arch: Architecture, budget: int | None,
        timeout: float | None = None,
    ) -> EvalResult:
        """Evaluates one architecture right away."""
        return safe_evaluate(evaluator, arch, budget, timeout)

    def cancel(self) -> None:
        """Forgets queued trials (they are re-run on resume)."""
        self._jobs.clear()

    def close(self) -> None:
        self._jobs.clear()
