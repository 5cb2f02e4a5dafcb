"""Constrained search on real training (issue 14): ``--constraint "params<=20000"``.

Runs ``archsmith search --data mnist1d --space cnn --constraint "params<=20000"`` for each
strategy and seed (same budget of trials and epochs; one torch thread per process,
``--parallel`` at once) and reports, per run, the best feasible validation accuracy, how
many proposals were rejected before training (no epoch spent), the largest parameter
count among the trained networks and whether the exported best satisfies the bound; then
the paired difference of each strategy against the first one.

    python benchmarks/constrained_search.py --strategies random,gc --seeds 0,1,2 \\
        --budget 40 --epochs 10 --parallel 2 --out bench-constrained
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from archsmith.report._stats import paired_difference
from archsmith.store import Store, sqlite_url


def _run(cmd: list[str], log: Path) -> int:
    with log.open("w") as f:
        return subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, check=False).returncode


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--strategies", default="random,gc")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--budget", type=int, default=40)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--constraint", default="params<=20000")
    p.add_argument("--data", default="mnist1d")
    p.add_argument("--space", default="cnn")
    p.add_argument("--parallel", type=int, default=2)
    p.add_argument("--out", type=Path, default=Path("bench-constrained"))
    a = p.parse_args()
    names = a.strategies.split(",")
    seeds = [int(s) for s in a.seeds.split(",")]
    metric, bound = a.constraint.split("<=")
    a.out.mkdir(parents=True, exist_ok=True)
    jobs = []
    for seed in seeds:
        for name in names:
            folder = a.out / f"{name.replace(':', '-')}-seed{seed}"
            cmd = [sys.executable, "-m", "archsmith", "search", "--data", a.data, "--space",
                   a.space, "--strategy", name, "--budget", str(a.budget), "--epochs",
                   str(a.epochs), "--seed", str(seed), "--threads", "1", "--constraint",
                   a.constraint, "--no-export", "--out", str(folder)]
            jobs.append((name, seed, folder, cmd))
    with ThreadPoolExecutor(a.parallel) as pool:
        codes = list(pool.map(lambda j: _run(j[3], j[2].with_suffix(".log")), jobs))
    best: dict[str, list[float]] = {n: [] for n in names}
    print(f"{a.data}/{a.space}, --constraint {a.constraint!r}, {a.budget} trials x "
          f"{a.epochs} epochs per run")
    print("| strategy | seed | best feasible val_acc | rejected before training | trained "
          f"| largest {metric} trained | best within bound |")
    print("|---|---|---|---|---|---|---|")
    for (name, seed, folder, _cmd), code in zip(jobs, codes, strict=True):
        store = Store(sqlite_url(folder / "archsmith.db"))
        try:
            row = store.get_search("default")
            trials = store.trials(row.id) if row else []
            best_row = row.best if row else None
        finally:
            store.close()
        trained = [t for t in trials if "train_seconds" in t.metrics]
        rejected = [t for t in trials if (t.error or "").startswith("infeasible:")]
        feasible = [t.metrics["val_acc"] for t in trained if t.state == "complete"
                    and t.metrics[metric] <= float(bound)]
        top = max(feasible, default=float("nan"))
        best[name].append(top)
        largest = max((t.metrics[metric] for t in trained), default=float("nan"))
        ok = best_row is not None and best_row["metrics"][metric] <= float(bound)
        print(f"| {name} | {seed} | {top:.2f} | {len(rejected)} | {len(trained)} | "
              f"{largest:.0f} | {'yes' if ok else 'NO'} (exit {code}) |")
    base = names[0]
    for name in names[1:]:
        d = paired_difference(np.array(best[name]), np.array(best[base]), "max")
        print(f"{name} − {base}: {d['diff']:+.2f} [{d['low']:+.2f}, {d['high']:+.2f}] "
              f"(ahead/level/behind {d['ahead']}/{d['level']}/{d['behind']}); means "
              f"{np.mean(best[name]):.2f} vs {np.mean(best[base]):.2f}")


if __name__ == "__main__":
    main()
