"""The conformance checks every executor passes: same trials as inline, faults recorded.

The fault evaluator is defined here, at module level, so that worker processes and Ray
workers can unpickle it.
"""

from __future__ import annotations

import functools
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from archsmith.evaluators import EvalResult
from archsmith.testing._common import run_checks
from archsmith.testing._critics import graph_score
from archsmith.testing._spaces import toy_space

if TYPE_CHECKING:
    from archsmith.executors import Executor
    from archsmith.space import Architecture, SearchSpace

__all__ = ["ExecutorFactory", "FaultyEvaluator", "check_executor", "executor_checks"]

#: Builds an executor with ``workers`` parallel evaluations.
ExecutorFactory = Callable[[int], "Executor"]

#: What each fault ends as: a failed trial whose error contains the text.
FAULT_ERRORS = {"raise": "RuntimeError: injected fault", "nan": "val_acc",
                "hang": "time limit", "die": "died"}


class FaultyEvaluator:
    """Scores the conformance toy space; trials of chosen widths fail on purpose.

    Args:
        faults: ``{width: "raise" | "nan" | "hang" | "die"}`` — raise an exception,
            return a NaN objective, sleep past the trial time-out, end the process.
    """

    default_objective = "val_acc"

    def __init__(self, faults: dict[int, str] | None = None) -> None:
        self.faults = dict(faults or {})

    def check_space(self, space: SearchSpace) -> None:
        """Any space with a ``width`` decision (the conformance toy space)."""

    def describe(self) -> dict[str, Any]:
        return {"kind": "conformance-faults", "faults": {str(k): v for k, v in
                                                         self.faults.items()}}

    def evaluate(self, arch: Architecture, budget: int | None = None) -> EvalResult:
        mode = self.faults.get(int(arch["width"]))  # type: ignore[arg-type]
        if mode == "raise":
            raise RuntimeError("injected fault")
        if mode == "nan":
            return EvalResult(metrics={"val_acc": math.nan})
        if mode == "hang":
            time.sleep(60)
        if mode == "die":
            os._exit(7)
        return EvalResult(metrics={"val_acc": graph_score(arch)}, cost=0.0)


def _trials(executor: Executor, *, evaluator: Any = None, space: SearchSpace | None = None,
            budget: int = 12, timeout: float | None = None) -> list[dict[str, Any]]:
    """Runs a seeded random search with ``executor``; its trials by number."""
    from archsmith.search import Search, SearchConfig
    from archsmith.store import Store, sqlite_url

    with tempfile.TemporaryDirectory() as d:
        if evaluator is None:
            cfg = SearchConfig(benchmark="nb201/cifar10", strategy="random", budget=budget,
                               seed=3, export=False)
        else:
            cfg = SearchConfig(strategy="random", budget=budget, seed=3, export=False,
                               trial_timeout=timeout, fail_fast=0)
        Search(cfg, d, space=space, evaluator=evaluator, executor=executor).run()
        store = Store(sqlite_url(f"{d}/archsmith.db"))
        try:
            row = store.get_search("default")
            assert row is not None
            return sorted((t.to_dict() for t in store.trials(row.id)),
                          key=lambda t: t["number"])
        finally:
            store.close()


def _key(trials: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(t["number"], t["arch"], t["state"], t["metrics"]) for t in trials]


def check_same_trials_as_inline(make: ExecutorFactory) -> None:
    """A seeded search on a tabular benchmark gives the inline executor's trials."""
    from archsmith.executors import InlineExecutor

    reference = _key(_trials(InlineExecutor()))
    got = _key(_trials(make(2)))
    assert got == reference, "the executor's trials differ from the inline executor's"


def check_faults_become_failed_trials(make: ExecutorFactory, faults: tuple[str, ...]) -> None:
    """Raise, NaN, hang (past the time-out) and worker death end as failed trials with
    their error; the other trials complete."""
    widths = (4, 8, 16, 32)
    plan = dict(zip(widths, faults, strict=False))
    trials = _trials(make(2), evaluator=FaultyEvaluator(plan), space=toy_space(), budget=16,
                     timeout=2.0)
    assert len(trials) == 16, f"{len(trials)} trials stored, 16 expected"
    for t in trials:
        mode = plan.get(int(t["arch"]["decisions"]["width"]))
        if mode is None:
            assert t["state"] == "complete", f"trial {t['number']} failed: {t['error']}"
        else:
            assert t["state"] == "failed", f"a {mode!r} fault did not fail trial {t['number']}"
            assert FAULT_ERRORS[mode] in (t["error"] or ""), (
                f"a {mode!r} fault was recorded as {t['error']!r}")
    hit = {plan.get(int(t["arch"]["decisions"]["width"])) for t in trials} - {None}
    assert hit == set(faults), f"faults {set(faults) - hit} were never triggered"


def executor_checks(make: ExecutorFactory, *, faults: tuple[str, ...] = ("raise", "nan",
                    "hang", "die"), benchmark_only: bool = False,
                    ) -> Iterator[tuple[str, Callable[[], None]]]:
    """``(id, check)`` pairs for ``pytest.mark.parametrize``.

    Args:
        make: Builds the executor for a number of workers.
        faults: The faults it must survive (an in-process executor cannot survive its
            own process's death: leave out ``"die"``).
        benchmark_only: The executor runs tabular benchmarks only (simulated time).
    """
    yield "same_trials_as_inline", functools.partial(check_same_trials_as_inline, make)
    if not benchmark_only and faults:
        yield "faults_become_failed_trials", functools.partial(
            check_faults_become_failed_trials, make, faults)


def check_executor(make: ExecutorFactory, **options: Any) -> None:
    """Runs every executor check; raises ``AssertionError`` naming the first that fails."""
    run_checks("executor", executor_checks(make, **options))
