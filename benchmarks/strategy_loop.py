"""Direct ask/tell loops of archsmith strategies on tabular benchmarks.

The loop mirrors :class:`archsmith.search.Search` without storage: trial ``k`` asks with
``np.random.default_rng([seed, k])``, a repeated hash is answered from the results so far
(and still counts as a query), and the strategy is told every result.

Usage (mean best-so-far over seeds at 25 / 50 / 100 queries)::

    python benchmarks/strategy_loop.py --strategies random,evolution,local,optuna:tpe,reinforce \
        --benchmark nb201/cifar10 --budget 100 --seeds 20 --workers 2
    python benchmarks/strategy_loop.py --strategies gc --benchmark nbgraph/pubmed \
        --seeds 40 --first-seed 20 --config '{"policy_samples": 512}' --workers 2
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["LoopResult", "run_loop", "summarise"]


@dataclass
class LoopResult:
    """Outcome of one loop: best-so-far after each query, duplicates, wall time."""

    strategy: str
    seed: int
    best_so_far: list[float] = field(default_factory=list)
    duplicates: int = 0
    seconds: float = 0.0
    strategy_seconds: float = 0.0


def run_loop(
    strategy_name: str,
    budget: int,
    seed: int,
    benchmark: str = "nb201/cifar10",
    check_resume: bool = False,
    **config: Any,
) -> LoopResult:
    """Runs ``strategy_name`` for ``budget`` queries on ``benchmark``.

    Args:
        strategy_name: Registry name, e.g. ``"optuna:tpe"``.
        budget: Number of queries (duplicates included).
        seed: Seed of the per-trial generators.
        benchmark: Benchmark evaluator name.
        check_resume: After every tell, replace the strategy by a fresh instance loaded
            from a ``torch.save``/``torch.load(weights_only=True)`` round trip of its
            ``state_dict()`` (what a resumed search does).
        config: Strategy constructor arguments.
    """
    import io

    import torch

    from archsmith.evaluators._benchmark import create_benchmark
    from archsmith.strategies import TrialRecord, create_strategy

    bench = create_benchmark(benchmark)
    space = bench.default_space()
    strategy = create_strategy(strategy_name, space, **config)
    history: list[TrialRecord] = []
    done: dict[str, float] = {}
    res = LoopResult(strategy_name, seed)
    best = -float("inf")
    t0 = time.perf_counter()
    for number in range(budget):
        rng = np.random.default_rng([seed, number])
        ts = time.perf_counter()
        arch = strategy.ask(history, 1, rng)[0]
        res.strategy_seconds += time.perf_counter() - ts
        if arch.hash in done:
            res.duplicates += 1
            score = done[arch.hash]
        else:
            score = float(bench.evaluate(arch).metrics[bench.default_objective])
            done[arch.hash] = score
        rec = TrialRecord(number, arch, "complete", score=score, metrics={"val_acc": score})
        history.append(rec)
        ts = time.perf_counter()
        strategy.tell([rec])
        res.strategy_seconds += time.perf_counter() - ts
        if check_resume:
            buf = io.BytesIO()
            torch.save(strategy.state_dict(), buf)
            state = torch.load(io.BytesIO(buf.getvalue()), weights_only=True)
            strategy = create_strategy(strategy_name, space, **config)
            strategy.load_state_dict(state)
        best = max(best, score)
        res.best_so_far.append(best)
    res.seconds = time.perf_counter() - t0
    return res


def _job(args: tuple[str, int, int, str, dict[str, Any]]) -> LoopResult:
    name, budget, seed, benchmark, config = args
    warnings.filterwarnings("ignore")
    return run_loop(name, budget, seed, benchmark, **config)


def summarise(results: list[LoopResult], points: tuple[int, ...]) -> dict[str, Any]:
    """Mean ± standard error of best-so-far at ``points`` queries per strategy."""
    out: dict[str, Any] = {}
    for name in dict.fromkeys(r.strategy for r in results):
        rs = [r for r in results if r.strategy == name]
        curves = np.array([r.best_so_far for r in rs])
        row: dict[str, Any] = {"seeds": len(rs)}
        for p in points:
            if p <= curves.shape[1]:
                col = curves[:, p - 1]
                se = col.std(ddof=1) / np.sqrt(len(col)) if len(col) > 1 else 0.0
                row[f"@{p}"] = (round(float(col.mean()), 4), round(float(se), 4))
        row["duplicates"] = round(float(np.mean([r.duplicates for r in rs])), 2)
        row["strategy_s_per_query"] = round(
            float(np.mean([r.strategy_seconds / len(r.best_so_far) for r in rs])), 4
        )
        out[name] = row
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--strategies", default="random,evolution")
    ap.add_argument("--benchmark", default="nb201/cifar10")
    ap.add_argument("--budget", type=int, default=100)
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--first-seed", type=int, default=0,
                    help="seeds are first-seed … first-seed+seeds-1 (e.g. unseen seeds)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--config", default="{}", help="JSON constructor arguments (all strategies)")
    args = ap.parse_args()
    config = json.loads(args.config)
    jobs = [
        (name, args.budget, seed, args.benchmark, config)
        for name in args.strategies.split(",")
        for seed in range(args.first_seed, args.first_seed + args.seeds)
    ]
    t0 = time.perf_counter()
    if args.workers > 1:
        with ProcessPoolExecutor(args.workers) as ex:
            results = list(ex.map(_job, jobs))
    else:
        results = [_job(j) for j in jobs]
    points = tuple(p for p in (10, 25, 50, 100, 200, 500) if p <= args.budget)
    for name, row in summarise(results, points).items():
        print(name, json.dumps(row))
    print(f"total {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
