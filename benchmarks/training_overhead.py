"""Training throughput of the TrainingEvaluator against a plain hand-written PyTorch loop.

All variants train the same network (one fixed architecture of the built-in ``mlp``
space — 2 hidden layers of 128 ReLU units — or an equal local MLP when that space is
unavailable), from the same initialisation, on the same training split with the same
batch size, epochs, loss (cross-entropy), shuffling (a seeded ``torch.randperm`` per
epoch) and optimiser (AdamW, lr 1e-3, no weight decay). They run alternately in one
process, ``--repeats`` times each, after one warm-up run each.

Variants:

* ``plain``: the loop a user would write, ``torch.optim.AdamW`` with its defaults;
* ``plain-fused``: the same loop with ``AdamW(fused=True)`` — the optimiser
  implementation the evaluator uses where PyTorch supports it — so that the ratio
  against it isolates the evaluator's loop overhead;
* ``evaluator``: ``TrainingEvaluator.evaluate``.

What is timed (training samples/s = epochs x training examples / seconds):

* plain loops: the epoch loop only — shuffling, slicing batches, forward, loss,
  backward, optimiser step (network and optimiser are created untimed);
* evaluator: the ``train_seconds`` it reports, which times exactly the same part of
  its own loop (plus accumulating each epoch's training loss); building, the
  validation pass after each epoch, testing, FLOP counting and latency measurement
  are not included. The end-to-end ``EvalResult.cost`` (all of that) is printed too.

Ratios are medians over the repeats of (plain seconds / evaluator seconds) taken
from adjacent runs, which is robust to load drifting during the run; the target is
>= 0.95. One torch thread is used by default: with several threads, other processes
competing for the cores make single runs swing by whole seconds.

Run:
    python benchmarks/training_overhead.py            # digits, about 20 seconds
    python benchmarks/training_overhead.py --data mnist1d --threads 0
"""

from __future__ import annotations

import argparse
import gc
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from archsmith.evaluators._training import TrainingEvaluator, derive_seeds
from archsmith.space import Architecture, Decision, SearchSpace

TARGET = 0.95


@dataclass
class _LocalMLP(SearchSpace):
    """Fallback space: Flatten → Linear(width) → ReLU → Linear(width) → ReLU → Linear."""

    name = "bench_mlp"

    def _decisions(self) -> list[Decision]:
        return [Decision("width", (64, 128, 256))]

    def build(self, arch: Architecture, input_shape: tuple[int, ...], num_classes: int) -> Any:
        w = int(arch["width"])  # type: ignore[arg-type]
        return torch.nn.Sequential(
            torch.nn.Flatten(), torch.nn.Linear(math.prod(input_shape), w), torch.nn.ReLU(),
            torch.nn.Linear(w, w), torch.nn.ReLU(), torch.nn.Linear(w, num_classes),
        )


def fixed_architecture() -> Architecture:
    """2 hidden layers of 128 units, ReLU, no normalisation or dropout."""
    try:
        from archsmith.space import create_space

        space = create_space("mlp")
        values: dict[str, Any] = {"n_layers": 2, "residual": False}
        for i in (1, 2):
            values.update({f"width_{i}": 128, f"act_{i}": "relu", f"norm_{i}": "none",
                           f"dropout_{i}": 0.0})
        return space.make(values)
    except Exception as e:  # the built-in space is missing or differs
        print(f"(mlp space unavailable: {e}; using a local 2x128 MLP)")
        return _LocalMLP().make({"width": 128})


def plain_loop(ev: TrainingEvaluator, arch: Architecture, epochs: int, fused: bool) -> float:
    """Hand-written training loop; returns the seconds of the epoch loop."""
    ds = ev.dataset
    X, y = torch.from_numpy(ds.X_train), torch.from_numpy(ds.y_train)
    init_seed, shuffle_seed = derive_seeds(ev.seed, arch.hash)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(init_seed)
        net = arch.space.build(arch, ds.input_shape, ds.num_classes)
        extra: dict[str, Any] = {"fused": True} if fused else {}
        opt = torch.optim.AdamW(net.parameters(), lr=ev.lr, weight_decay=ev.weight_decay,
                                **extra)
        gen = torch.Generator().manual_seed(shuffle_seed)
        n, bs = len(X), ev.batch_size
        net.train()
        start = time.perf_counter()
        for _ in range(epochs):
            perm = torch.randperm(n, generator=gen)
            for i in range(0, n, bs):
                idx = perm[i : i + bs]
                loss = F.cross_entropy(net(X[idx]), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        return time.perf_counter() - start


def main(argv: list[str] | None = None) -> float:
    """Runs the benchmark; returns the evaluator/plain speed ratio."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--data", default="digits", choices=["digits", "mnist1d"])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: steadier timings on a shared "
                        "machine; 0 keeps torch's default)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    ev = TrainingEvaluator(args.data, epochs=args.epochs, batch_size=args.batch_size,
                           device="cpu")
    arch = fixed_architecture()
    samples = len(ev.dataset.y_train) * args.epochs
    print(f"data={args.data} train={len(ev.dataset.y_train)} epochs={args.epochs} "
          f"batch={args.batch_size} threads={torch.get_num_threads()} "
          f"torch={torch.__version__}\narch={arch}")

    costs: list[float] = []

    def run_evaluator() -> float:
        result = ev.evaluate(arch)
        if not result.ok:
            raise SystemExit(f"evaluation failed: {result.error}")
        costs.append(result.cost)
        return result.metrics["train_seconds"]

    variants: dict[str, Callable[[], float]] = {
        "plain": lambda: plain_loop(ev, arch, args.epochs, fused=False),
        "plain-fused": lambda: plain_loop(ev, arch, args.epochs, fused=True),
        "evaluator": run_evaluator,
    }
    # warm-up: imports, allocator, autograd engine start-up
    for fn in variants.values():
        fn()
    costs.clear()
    times: dict[str, list[float]] = {k: [] for k in variants}
    names = list(variants)
    for r in range(args.repeats):
        for name in names[r % 3 :] + names[: r % 3]:  # rotate the order
            gc.collect()
            times[name].append(variants[name]())

    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:12s}: {samples / med:8.0f} samples/s  (median {med:.3f} s, best "
              f"{min(ts):.3f} s over {len(ts)} runs)")
    ratios = {}
    for ref in ("plain", "plain-fused"):
        pairs = zip(times[ref], times["evaluator"], strict=True)
        ratios[ref] = statistics.median(p / e for p, e in pairs)
        verdict = "OK" if ratios[ref] >= TARGET else "BELOW TARGET"
        best = min(times[ref]) / min(times["evaluator"])
        print(f"ratio evaluator / {ref:11s} = {ratios[ref]:.3f}  (target >= {TARGET}) {verdict}"
              f"  [best run vs best run: {best:.3f}]")
    med = statistics.median(costs)
    print(f"end-to-end evaluate() (build, training, per-epoch validation, test, FLOPs, "
          f"latency): median {med:.3f} s = {samples / med:.0f} training samples/s")
    return ratios["plain"]


if __name__ == "__main__":
    main()
