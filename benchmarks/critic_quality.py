"""Critic quality on NAS-Bench-201: Kendall τ, Spearman ρ and MAE of every critic.

For each training size (default 50, 100, 200) and seed, each critic is fit on that many
random distinct NAS-Bench-201 cells (``nb201/cifar10`` validation accuracy) and ranks
all the other distinct cells (6,040 in total), through
:func:`archsmith.critic._eval.critic_eval` — the function behind
``archsmith critic-eval``. All critics run in the same process with their default
configurations and the same seeds (hence the same training sets). Fit and predict
times are wall-clock means over seeds, after one untimed warm-up fit per critic (which
absorbs one-off imports).

With ``--search`` it also runs BANANAS, BO, regularized evolution and random search
through the ask/tell loop the search driver uses (same seeds for all) and prints the
mean best-so-far validation accuracy at 25, 50 and ``--budget`` queries, with the
strategy's own seconds per query.

    python benchmarks/critic_quality.py [--sizes 50,100,200] [--seeds 5]
        [--critics gnn,mlp-ensemble,gp] [--search] [--search-seeds 10] [--budget 100]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from typing import Any

import numpy as np
import torch

from archsmith.critic._eval import critic_eval


def _warm_up(critics: list[str]) -> None:
    """One tiny fit per critic, so one-off imports are not timed as fitting."""
    critic_eval("nb201", "nb201/cifar10", train_size=10, test_size=10, seeds=1)
    for name in critics:
        critic_eval("nb201", "nb201/cifar10", train_size=10, test_size=10, seeds=1,
                    critic=name)


def critic_table(sizes: list[int], seeds: int, critics: list[str]) -> list[dict[str, Any]]:
    _warm_up(critics)
    rows = []
    print(f"{'critic':<14}{'train':>6}{'tau':>8}{'±se':>7}{'rho':>8}{'mae':>8}"
          f"{'fit s':>8}{'pred s':>8}  per-seed tau")
    for n in sizes:
        for name in critics:
            r = critic_eval("nb201", "nb201/cifar10", train_size=n, seeds=seeds, critic=name)
            taus = r["per_seed"]["kendall_tau"]
            se = float(np.std(taus, ddof=1) / np.sqrt(len(taus))) if len(taus) > 1 else 0.0
            print(f"{name:<14}{n:>6}{r['kendall_tau']:>8.3f}{se:>7.3f}{r['spearman']:>8.3f}"
                  f"{r['mae']:>8.2f}{r['fit_seconds']:>8.2f}{r['predict_seconds']:>8.3f}  "
                  f"{[round(t, 3) for t in taus]}", flush=True)
            rows.append(r)
    return rows


def search_table(strategies: list[str], seeds: int, budget: int) -> dict[str, Any]:
    from archsmith.evaluators import create_benchmark
    from archsmith.strategies import TrialRecord, create_strategy

    bench = create_benchmark("nb201/cifar10")
    space = bench.default_space()
    marks = sorted({q for q in (25, 50, budget) if q <= budget})
    print(f"\n{'strategy':<12}" + "".join(f"{'@' + str(q):>16}" for q in marks)
          + f"{'s/query':>10}   (mean ± se of best-so-far val_acc, {seeds} seeds)")
    out: dict[str, Any] = {}
    for name in strategies:
        curves = []
        seconds = 0.0
        for seed in range(seeds):
            strat = create_strategy(name, space)
            hist: list[TrialRecord] = []
            best: list[float] = []
            for i in range(budget):
                t0 = time.perf_counter()
                arch = strat.ask(hist, 1, np.random.default_rng([seed, i]))[0]
                seconds += time.perf_counter() - t0
                score = bench.evaluate(arch).metrics["val_acc"]
                rec = TrialRecord(i, arch, "complete", score=score)
                hist.append(rec)
                strat.tell([rec])
                best.append(max(best[-1], score) if best else score)
            curves.append(best)
        arr = np.array(curves)
        cells = []
        for q in marks:
            col = arr[:, q - 1]
            se = col.std(ddof=1) / np.sqrt(len(col)) if len(col) > 1 else 0.0
            cells.append(f"{col.mean():>9.3f} ±{se:.3f}")
        per_query = seconds / (seeds * budget)
        print(f"{name:<12}" + "".join(f"{c:>16}" for c in cells) + f"{per_query:>10.3f}",
              flush=True)
        out[name] = {"mean": {q: float(arr[:, q - 1].mean()) for q in marks},
                     "seconds_per_query": per_query}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="50,100,200")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--critics", default="gnn,mlp-ensemble,gp")
    ap.add_argument("--search", action="store_true", help="also compare search strategies")
    ap.add_argument("--strategies", default="bananas,bo,evolution,random")
    ap.add_argument("--search-seeds", type=int, default=10)
    ap.add_argument("--budget", type=int, default=100)
    ap.add_argument("--json", default=None, help="also write all results to this file")
    args = ap.parse_args()
    print(f"# critic quality on nb201/cifar10 — {time.strftime('%Y-%m-%d %H:%M')}, "
          f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads\n")
    t0 = time.perf_counter()
    rows = critic_table([int(s) for s in args.sizes.split(",")], args.seeds,
                        args.critics.split(","))
    results: dict[str, Any] = {"critics": rows}
    if args.search:
        results["search"] = search_table(args.strategies.split(","), args.search_seeds,
                                         args.budget)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
