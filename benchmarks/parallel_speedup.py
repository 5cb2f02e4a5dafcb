"""Wall time of real training with 1 worker against 2 process workers, in one run.

Trains the same 16 architectures of the built-in ``mlp`` space on ``digits`` with the
:class:`~archsmith.evaluators.TrainingEvaluator` under several executors, one after
the other in this process, and prints each wall time and the ratios. The 16
architectures are the first 16 proposals of a ``random`` search with ``--seed`` (what
``archsmith search --space mlp --data digits --strategy random --seed S`` evaluates).
Each run keeps exactly ``workers`` trials in flight, as the search driver does.

Modes (``--modes``, comma-separated, run in the given order):

* ``inline``: the inline executor, in this process, torch limited to ``--threads``;
* ``inline-auto``: the same with torch's default thread count (all cores);
* ``process1``: 1 worker process with ``--threads`` threads;
* ``process1-auto``: 1 worker process with the executor's default (all cores);
* ``process2``: 2 worker processes with the executor's default (cores / 2 each).

A process mode's wall time includes starting its workers (importing torch in each);
the time to the first result is printed too. With the default ``--threads 1`` every
mode trains each network on one thread, so the ratio measures what running two trials
at once buys; the ``-auto`` modes show the one-worker alternative of giving one trial
all cores. On a machine that other processes load, each extra process also takes a
larger share of the CPUs from them, and where the kernel groups processes by session
for scheduling (``/proc/sys/kernel/sched_autogroup_enabled``), all the workers of one
search share one session's share: read the load average and the average number of
busy cores (CPU seconds of this process and its workers / wall time) printed with
each figure.

Run:
    python benchmarks/parallel_speedup.py            # ~2 minutes on 2 idle cores
    python benchmarks/parallel_speedup.py --epochs 8 # quicker
    python benchmarks/parallel_speedup.py --modes inline-auto,process1-auto,process2
"""

from __future__ import annotations

import argparse
import math
import resource
import time
from typing import Any

import numpy as np
import torch
from _machine import autogroup, loadavg  # benchmarks/ is on sys.path when run

from archsmith.evaluators import EvalResult, TrainingEvaluator
from archsmith.executors import InlineExecutor
from archsmith.executors._process import ProcessExecutor, cpu_count
from archsmith.space import Architecture, create_space
from archsmith.strategies import TrialRecord, create_strategy

TARGET = 0.75
MODES = ("inline", "inline-auto", "process1", "process1-auto", "process2")


def proposals(seed: int, n: int) -> list[Architecture]:
    """The first ``n`` trials of a ``random`` search on ``mlp`` with ``seed``."""
    space = create_space("mlp")
    strategy = create_strategy("random", space)
    history: list[TrialRecord] = []
    for number in range(n):
        arch = strategy.ask(history, 1, np.random.default_rng([seed, number]))[0]
        history.append(TrialRecord(number=number, arch=arch, state="running"))
    return [t.arch for t in history]


def make_executor(mode: str, threads: int) -> Any:
    if mode == "process1":
        return ProcessExecutor(workers=1, threads_per_worker=threads)
    if mode == "process1-auto":
        return ProcessExecutor(workers=1)
    if mode == "process2":
        return ProcessExecutor(workers=2)
    return InlineExecutor()


def run(mode: str, evaluator: TrainingEvaluator, archs: list[Architecture], epochs: int,
        threads: int) -> dict[str, Any]:
    """Evaluates ``archs`` with ``mode``; returns wall time, first-result time and results."""
    old_threads = torch.get_num_threads()
    if mode == "inline":
        torch.set_num_threads(threads)
    cpu0 = _cpu_seconds()
    t0 = time.perf_counter()
    executor = make_executor(mode, threads)
    first: float | None = None
    results: dict[int, EvalResult] = {}
    try:
        if isinstance(executor, ProcessExecutor):
            executor.start()
        pending = list(enumerate(archs))
        in_flight = 0
        while len(results) < len(archs):
            while pending and in_flight < executor.workers:
                number, arch = pending.pop(0)
                executor.submit(number, evaluator, arch, epochs, None)
                in_flight += 1
            for number, result in executor.wait():
                results[number] = result
                in_flight -= 1
                if first is None:
                    first = time.perf_counter() - t0
        wall = time.perf_counter() - t0
    finally:
        executor.close()  # reaps the workers, so their CPU time is counted below
        torch.set_num_threads(old_threads)
    cpu = _cpu_seconds() - cpu0
    per_worker = (threads if mode in ("inline", "process1") else
                  old_threads if mode == "inline-auto" else executor.threads_per_worker)
    return {"mode": mode, "workers": executor.workers, "threads": per_worker, "wall": wall,
            "first": first, "results": results, "cpu": cpu, "cores": cpu / wall}


def _cpu_seconds() -> float:
    """CPU seconds used by this process and its reaped children (the workers)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads of the inline and process1 modes")
    parser.add_argument("--modes", default="inline,process1,process2")
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = sorted(set(modes) - set(MODES))
    if unknown:
        parser.error(f"unknown mode(s) {unknown}; choose from {list(MODES)}")

    archs = proposals(args.seed, args.trials)
    evaluator = TrainingEvaluator("digits", epochs=args.epochs, seed=args.seed)
    evaluator.dataset  # load once, outside the timings  # noqa: B018
    print(f"{args.trials} mlp trials on digits, {args.epochs} epochs each, seed {args.seed}; "
          f"{cpu_count()} usable cores; torch {torch.__version__}")
    print(f"load average before: {loadavg()}; scheduler autogroup: {autogroup()}")
    runs = []
    for mode in modes:
        r = run(mode, evaluator, archs, args.epochs, args.threads)
        failed = sum(not res.ok for res in r["results"].values())
        print(f"  {mode:<14} workers={r['workers']} threads/worker={r['threads']}  "
              f"wall {r['wall']:7.2f} s  (first result after {r['first']:.2f} s; "
              f"CPU {r['cpu']:.1f} s = {r['cores']:.2f} cores busy on average)"
              + (f"  FAILED trials: {failed}" if failed else "") + f"  load {loadavg()}",
              flush=True)
        runs.append(r)
    print(f"load average after: {loadavg()}")

    ones = [r for r in runs if r["workers"] == 1]
    twos = [r for r in runs if r["workers"] == 2]
    for two in twos:
        for one in ones:
            ratio = two["wall"] / one["wall"]
            verdict = "meets" if ratio <= TARGET else "misses"
            print(f"ratio {two['mode']} / {one['mode']}: {ratio:.3f}  ({verdict} the target "
                  f"<= {TARGET})")
    if len(runs) > 1:
        ref = runs[0]["results"]
        worst = 0.0
        same = True
        for r in runs[1:]:
            for n, res in ref.items():
                a, b = res.metrics.get("val_acc"), r["results"][n].metrics.get("val_acc")
                if a != b:
                    same = False
                if a is not None and b is not None and math.isfinite(a) and math.isfinite(b):
                    worst = max(worst, abs(a - b))
        print("val_acc identical across modes: " + ("yes" if same else
              f"no (largest difference {worst:.4f} points)"))


if __name__ == "__main__":
    main()
