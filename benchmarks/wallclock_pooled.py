"""Pools the ``results_time.csv`` of several wall-clock runs into one summary.

``benchmarks/multifidelity_wallclock.py`` writes one ``results_time.csv`` per run; the
same command run on other seeds (e.g. a confirmation on unseen seeds) writes another.
This prints the summary of their union (seeds must not repeat across files): means at
¼, ½ and all of the budget, paired 95 % intervals against the baseline, and the two
"baseline's final level in half the time" tests (mean curve; best at half the budget
minus the baseline's at the full budget), as RESULTS.md's inheritance sections quote
them::

    python benchmarks/wallclock_pooled.py --baseline "gc|none" --time-budget 900 \\
        benchmarks/figures/inherit_gc_share05_mnist1d_s17_unseen.csv \\
        benchmarks/figures/inherit_gc_share05_mnist1d_s18_unseen6.csv
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Any

from archsmith.report._wallclock import render_wallclock, summarize_wallclock


def read_rows(paths: list[Path]) -> list[dict[str, Any]]:
    """The rows of all files, typed; a seed of one configuration in two files is an
    error (the pooled seeds must be distinct)."""
    rows: list[dict[str, Any]] = []
    owner: dict[tuple[str, str, int], Path] = {}
    for path in paths:
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                key = (r["strategy"], r["scheduler"], int(r["seed"]))
                if owner.setdefault(key, path) != path:
                    raise SystemExit(f"error: seed {key[2]} of {key[0]}|{key[1]} is in both "
                                     f"{owner[key]} and {path}; pool runs of distinct seeds.")
                rows.append({"strategy": r["strategy"], "scheduler": r["scheduler"],
                             "seed": int(r["seed"]), "seconds": float(r["seconds"]),
                             "best_so_far": float(r["best_so_far"])})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("csv", nargs="+", type=Path, help="results_time.csv files to pool")
    ap.add_argument("--baseline", required=True, help='"strategy|scheduler", e.g. "gc|none"')
    ap.add_argument("--time-budget", type=float, required=True, help="seconds per run")
    args = ap.parse_args(argv)
    missing = [str(p) for p in args.csv if not p.is_file()]
    if missing:
        print(f"error: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    rows = read_rows(args.csv)
    print(render_wallclock(summarize_wallclock(rows, args.time_budget, args.baseline)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
