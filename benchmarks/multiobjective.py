"""Multi-objective search on the tabular benchmarks (issue 14's targets).

Runs ``archsmith bench`` with two objectives on three settings — ``nb201/cifar10``
(val_acc max, latency_ms min), ``nb201/cifar10`` (val_acc max, params min) and
``nbgraph/cora`` (val_acc max, latency_ms min) — for every strategy on the same seeds,
and prints each one's normalised hypervolume at 50 and 100 queries with paired 95 %
intervals against ``optuna:nsga2`` and ``optuna:tpe`` (MOTPE). The hypervolume is
divided by the table's true front's; the reference point is the table's median of the
maximised objective and its worst value of the minimised one.

    python benchmarks/multiobjective.py --seeds 20 --budget 100 --workers 2 --out bench-mo
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from archsmith.report import run_bench

SETTINGS = (
    ("nb201", "nb201/cifar10", "val_acc,latency_ms"),
    ("nb201", "nb201/cifar10", "val_acc,params"),
    ("nbgraph", "nbgraph/cora", "val_acc,latency_ms"),
)


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--strategies", default="random,nsga2,gc,optuna:nsga2,optuna:tpe")
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--budget", type=int, default=100)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--out", type=Path, default=Path("bench-mo"))
    a = p.parse_args()
    names = [s for s in a.strategies.split(",") if s]
    for space, bench, objective in SETTINGS:
        out = a.out / f"{bench.replace('/', '-')}-{objective.replace(',', '-')}"
        res = run_bench(space, bench, names, a.budget, a.seeds, out, workers=a.workers,
                        objective=objective)
        print(f"\n## {bench}: {objective} ({a.seeds} seeds, {a.budget} queries; {out})")
        cps = {"50%": "@50", "100%": "@100"} if a.budget == 100 else {"50%": "@50%",
                                                                     "100%": "@100%"}
        refs = ("optuna:nsga2", "optuna:tpe")
        print("| strategy | " + " | ".join(f"HV {v}" for v in cps.values()) + " | "
              + " | ".join(f"vs {r} {v}" for v in cps.values() for r in refs) + " |")
        print("|---" * (3 * len(cps) + 1) + "|")
        for s, st in res["strategies"].items():
            cells = [f"{st['at'][k]['mean']:.3f} ± {st['at'][k]['sem']:.3f}" for k in cps]
            for k in cps:
                for ref in refs:
                    d = st["vs_reference_at"][k].get(ref)
                    cells.append("—" if d is None else
                                 f"{d['diff']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}] "
                                 f"{d['ahead']}/{d['level']}/{d['behind']}")
            print(f"| {s} | " + " | ".join(cells) + " |")
        mo = res["multi_objective"]
        print(f"true front {mo['true_front_size']} points, reference point "
              f"{[round(v, 4) for v in mo['reference_point']]}, true hypervolume "
              f"{mo['true_hypervolume']:.4f}; {res['wall_seconds']:.0f} s")
        (out / "command.json").write_text(json.dumps(vars(a), default=str) + "\n")


if __name__ == "__main__":
    main()
