"""Orchestration overhead: ms per trial of the search loop with SQLite storage.

Runs N trials of a null evaluator (returns a score computed from the architecture in
microseconds) through archsmith's search loop with SQLite storage, and the same number
of trials through Optuna's ask/tell interface with its RandomSampler on SQLite, in the
same run, and prints both and their ratio. Both store every trial in a fresh SQLite
file. Target: archsmith no slower than Optuna.

    python benchmarks/orchestration_overhead.py [--trials 1000] [--repeats 1]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from archsmith.evaluators import EvalResult
from archsmith.search import Search, SearchConfig
from archsmith.space import Architecture, create_space

OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]


class NullEvaluator:
    """Returns instantly; the score is a cheap function of the decisions."""

    default_objective = "val_acc"

    def check_space(self, space: Any) -> None:
        pass

    def describe(self) -> dict[str, Any]:
        return {"kind": "null"}

    def evaluate(self, arch: Architecture, budget: int | None = None) -> EvalResult:
        return EvalResult(metrics={"val_acc": float(sum(arch.indices))}, cost=0.0)


def run_archsmith(n: int, folder: Path) -> float:
    space = create_space("nb201")
    cfg = SearchConfig(space="nb201", strategy="random", budget=n, seed=0, export=False)
    t0 = time.perf_counter()
    Search(cfg, folder, space=space, evaluator=NullEvaluator()).run()
    return time.perf_counter() - t0


def run_optuna(n: int, folder: Path) -> float:
    import optuna

    optuna.logging.set_verbosity(logging.WARNING)
    t0 = time.perf_counter()
    study = optuna.create_study(
        storage=f"sqlite:///{folder / 'optuna.db'}",
        sampler=optuna.samplers.RandomSampler(seed=0),
        direction="maximize",
    )
    for _ in range(n):
        trial = study.ask()
        ops = [trial.suggest_categorical(f"Op{i}", OPS) for i in range(6)]
        study.tell(trial, float(sum(OPS.index(o) for o in ops)))
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    a_times, o_times = [], []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as d:
            a_times.append(run_archsmith(args.trials, Path(d) / "a"))
        with tempfile.TemporaryDirectory() as d:
            o_times.append(run_optuna(args.trials, Path(d)))
    a, o = min(a_times), min(o_times)
    n = args.trials
    print(f"trials: {n} (null evaluator, SQLite storage, best of {args.repeats})")
    print(f"archsmith search loop : {1000 * a / n:8.3f} ms/trial")
    print(f"optuna ask/tell random: {1000 * o / n:8.3f} ms/trial")
    print(f"ratio archsmith/optuna: {a / o:.3f}  (target ≤ 1.0)")


if __name__ == "__main__":
    main()
