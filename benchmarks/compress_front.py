"""Test accuracy of every student on the Pareto set of ``archsmith compress`` runs
(issue 15). Selection stays on the validation split; this only reports, once, how the
students of the front do on the test split, beside the teacher's test accuracy.

    python benchmarks/compress_front.py runs/c-mnist1d-0 runs/c-mnist1d-1 runs/c-mnist1d-2
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("runs", nargs="+", type=Path)
    a = p.parse_args(argv)
    from archsmith.search import Search

    print("| run | teacher params | teacher test | student | params | compression | "
          "val_acc | test_acc | test drop |")
    print("|---|---|---|---|---|---|---|---|---|")
    for run in a.runs:
        info = json.loads((run / "students.json").read_text())
        search = Search.resume(run)
        ev = search.evaluator
        teach = info["teacher"]
        for s in info["pareto"]:
            arch = search.space.from_dict(s["arch"])
            _, m = ev.fit_final(arch)  # type: ignore[attr-defined]
            ratio = teach["params"] / s["params"]
            best = " (best)" if info["best"] and info["best"]["number"] == s["number"] else ""
            print(f"| {run.name} | {teach['params']:.0f} | {teach['test_acc']:.2f} | "
                  f"{s['number']}{best} | {s['params']:.0f} | {ratio:.1f}× | "
                  f"{s['val_acc']:.2f} | {m['test_acc']:.2f} | "
                  f"{teach['test_acc'] - m['test_acc']:+.2f} |")


if __name__ == "__main__":
    main()
