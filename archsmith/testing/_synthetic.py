"""A large stored search, written in one go, for tests and benchmarks of the views.

:func:`synthetic_search` stores an ``nb201/cifar10`` search with two objectives
(``val_acc``, ``latency_ms``) whose trials are uniform random architectures scored by
the benchmark's table, each with a made-up 30-epoch learning curve that rises to the
table's accuracy, a few failed trials, and one trial finishing per simulated second.
Thousands of trials take a few seconds (one database transaction), where running the
search would take minutes.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["synthetic_search"]


def synthetic_search(out: str | Path, trials: int = 5000, epochs: int = 30,
                     seed: int = 0) -> dict[str, Any]:
    """Writes the search into ``out`` (a run folder ``archsmith show``/``report`` read);
    returns ``{"trials", "failed", "pareto", "knee"}``."""
    from archsmith._config import SearchConfig
    from archsmith._objectives import front_of
    from archsmith.search import Search
    from archsmith.store._models import TrialModel

    cfg = SearchConfig(benchmark="nb201/cifar10", strategy="random", budget=trials,
                       seed=seed, objective="val_acc,latency_ms", direction="max,min",
                       export=False)
    search = Search(cfg, out)
    store, sid = search._open()
    try:
        rng = np.random.default_rng(seed)
        t0 = time.time() - trials
        rows: list[tuple[int, str, dict[str, float]]] = []
        with store._session.begin() as s:
            for n in range(trials):
                arch = search.space.sample(rng)
                failed = n % 97 == 13
                metrics = {} if failed else dict(search.evaluator.evaluate(arch).metrics)
                curve: list[dict[str, float]] = []
                if not failed:
                    tau = float(rng.uniform(2.0, 8.0))
                    curve = [{"epoch": float(e), "val_acc": round(
                        metrics["val_acc"] * (1 - np.exp(-e / tau)) + rng.normal(0, 0.3), 4)}
                        for e in range(1, epochs + 1)]
                state = "failed" if failed else "complete"
                s.add(TrialModel(
                    search_id=sid, number=n, arch=json.dumps(arch.to_dict()), hash=arch.hash,
                    state=state, metrics=json.dumps(metrics), curve=json.dumps(curve),
                    error="synthetic failure: RuntimeError: diverged" if failed else None,
                    cost=1.0, started_at=t0 + n, finished_at=t0 + n + 1.0))
                rows.append((n, state, metrics))
        pareto, knee = front_of(search.objectives, rows)
        store.set_best(sid, {"number": knee, "objective": "val_acc,latency_ms",
                             "metrics": dict(rows[knee][2]) if knee is not None else {}})
        store.set_status(sid, "finished")
    finally:
        if search._lease is not None:
            search._lease.release()
        store.close()
    return {"trials": trials, "failed": sum(r[1] == "failed" for r in rows),
            "pareto": pareto, "knee": knee}
