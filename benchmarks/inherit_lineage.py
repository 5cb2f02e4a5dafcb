"""Lineage of inherited trials: how far each child ended from the parent it started from.

For every run folder (or ``archsmith.db``) given, prints the number of trials, how many
inherited weights, the best validation accuracy, and the mean of child minus parent
validation accuracy (points) grouped by one move / several moves and function-preserving
/ function-changing, as RESULTS.md's inheritance sections quote them::

    python benchmarks/inherit_lineage.py bench-evo/runs/evolution-none-inherit-true--seed*/
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from archsmith._stored import load_stored
from archsmith.store import sqlite_url


def summarize(path: Path, metric: str = "val_acc") -> str:
    """One line for the run at ``path`` (a run folder or its ``archsmith.db``)."""
    db = path / "archsmith.db" if path.is_dir() else path
    if not db.exists():
        raise SystemExit(f"{db}: no archsmith.db here; pass a run folder of a search")
    # the store read that ``archsmith show`` uses: each trial carries its lineage
    _, trials, _, _ = load_stored(str(path) if path.is_dir() else sqlite_url(db))
    done = {t["number"]: t for t in trials
            if t["state"] == "complete" and metric in t["metrics"]}
    lineage = {t["number"]: t["inherited"] for t in trials if t.get("inherited")}
    best = max((t["metrics"][metric] for t in done.values()), default=float("nan"))
    groups: dict[str, list[float]] = {
        "one-move preserving": [], "one-move changing": [],
        "multi-move preserving": [], "multi-move changing": []}
    for number, link in lineage.items():
        child, parent = done.get(number), done.get(link["parent"])
        if child is None or parent is None:
            continue
        key = ("one-move" if len(link["moves"]) == 1 else "multi-move") + (
            " preserving" if link["preserving"] else " changing")
        groups[key].append(child["metrics"][metric] - parent["metrics"][metric])
    parts = [f"{k}: n={len(v)} {np.mean(v):+.2f}" if v else f"{k}: n=0"
             for k, v in groups.items()]
    return (f"{db.parent.name}: trials={len(trials)} complete={len(done)} "
            f"inherited={len(lineage)} best={best:.2f} | " + "; ".join(parts))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("runs", nargs="+", type=Path, help="run folders (or archsmith.db files)")
    p.add_argument("--metric", default="val_acc")
    a = p.parse_args(argv)
    for run in a.runs:
        print(summarize(run, a.metric))


if __name__ == "__main__":
    main()
