"""Normalised hypervolume of one strategy on chosen seeds (for tuning on seeds that the
benchmark's seeds 0–19 do not use). Same search and tracker as ``archsmith bench
--objective``: the table's true front, the median/worst reference point.

    python benchmarks/mo_seeds.py gc 100,101,102,103,104 nb201/cifar10 val_acc,latency_ms
"""

from __future__ import annotations

import sys
import tempfile

import numpy as np

from archsmith.report._bench_mo import table_tracker
from archsmith.search import Search, SearchConfig


def main() -> None:
    strategy, seeds = sys.argv[1], [int(s) for s in sys.argv[2].split(",")]
    bench = sys.argv[3] if len(sys.argv) > 3 else "nb201/cifar10"
    objective = sys.argv[4] if len(sys.argv) > 4 else "val_acc,latency_ms"
    out = []
    for seed in seeds:
        with tempfile.TemporaryDirectory() as d:
            s = Search(SearchConfig(benchmark=bench, strategy=strategy, budget=100, seed=seed,
                                    objective=objective, export=False), d, storage="sqlite://")
            s.run()
            assert s._store is not None and s._search_id is not None
            rows = s._store.trials(s._search_id)
            o = s.objectives
            tracker = table_tracker(s.evaluator, o)
            assert tracker is not None
            hv = tracker.curve([o.values(r.metrics) if r.state == "complete" else None
                                for r in rows])
            out.append((hv[49], hv[99]))
            s._store.close()
    a = np.array(out)
    print(f"{strategy} on {bench} ({objective}), seeds {seeds}: HV@50 {a[:, 0].mean():.3f}, "
          f"HV@100 {a[:, 1].mean():.3f}; per seed @100 {[round(x, 3) for x in a[:, 1]]}")


if __name__ == "__main__":
    main()
