"""Wall-clock reference: plain Optuna (TPE + Hyperband pruning) over archsmith's space.

What users run today without archsmith: an Optuna study with
``TPESampler(seed=seed)`` and ``HyperbandPruner(min_resource=1, max_resource=EPOCHS,
reduction_factor=3)`` whose objective is a hand-written PyTorch training loop. This
script runs exactly that over archsmith's own search space (``create_space("cnn")`` with
its defaults, as ``archsmith search --space cnn --data mnist1d`` uses it) under a
wall-clock budget, and records the best *fully trained* validation accuracy found so far
against the seconds since the study started. Another harness can import
:func:`run_reference` and call it in the same run as its archsmith searches.

What is the same as archsmith's ``TrainingEvaluator`` (as ``archsmith search`` builds it
from ``--data mnist1d --seed S``), so that only the search differs:

* data and split: ``archsmith.evaluators.load_dataset(data, seed=S, val_fraction=0.15,
  test_fraction=0.15)`` — the same stratified, seeded train/validation split and the
  same standardisation with training statistics (the split seed is the search seed, as
  ``TrainingEvaluator(seed=S)`` uses ``data_seed=seed``; ``--split-seed`` overrides it);
* networks: ``space.build(arch, input_shape, num_classes)`` of the same space;
* training, written out below (no archsmith training code is used): cross-entropy,
  AdamW with lr 1e-3 and weight decay 0 (archsmith's defaults; note that
  ``torch.optim.AdamW``'s own default weight decay is 0.01), ``fused=True`` where
  PyTorch supports it (as archsmith; the algorithm is the same, the kernel faster),
  mini-batches of 64 in an order drawn each epoch by ``torch.randperm`` from a seeded
  ``torch.Generator`` (a trailing batch of one example is dropped, as archsmith does,
  because batch norm cannot train on it), one torch thread;
* score: validation accuracy in percent (0..100) after each epoch, computed in eval
  mode without gradients in batches of 1024.

Each trial suggests one ``suggest_categorical`` per *active* decision of the space, in
decision order, over the decision's choice indices (inactive conditional decisions are
not suggested), as archsmith's ``optuna:*`` strategies do; it then trains up to EPOCHS
epochs, calling ``trial.report(val_acc, epoch)`` and ``trial.should_prune()`` after
each. The initialisation and shuffling seeds of a trial are drawn from ``(seed,
trial number)`` and the study has a fixed name (Hyperband's brackets hash it), so a seed
gives the same trials on every run up to where the budget cuts it.

Time budget: the clock starts when the study starts (after the data is loaded). No
trial starts once the budget is spent (``study.optimize(timeout=...)`` and a callback
that stops the study), and a trial still running when it ends is stopped at its next
epoch boundary and does not count. Every trial that trains all EPOCHS epochs within the
budget gives one row — also one that the pruner prunes at that last report, which
Optuna's successive halving does when EPOCHS is a rung step (3 or 9, not 20, with
reduction factor 3): the second it finished, ``best_so_far`` (the running maximum of
fully trained trials' final val_acc), its trial number and the epochs trained so far by
all trials (pruned ones included).

Run (about 10 min per seed; writes OUT/results_time.csv with the columns
``strategy,scheduler,seed,seconds,best_so_far,trial,epochs_trained_total`` and prints
the best val_acc at 1/4, 1/2 and all of the budget per seed and as the mean over seeds):

    python benchmarks/optuna_reference.py --data mnist1d --space cnn --epochs 20 \\
        --time-budget 600 --seeds 0,1,2 --out bench-optref
"""

from __future__ import annotations

import argparse
import csv
import inspect
import math
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import torch
import torch.nn.functional as F

from archsmith.evaluators import TrainingEvaluator, load_dataset
from archsmith.space import SearchSpace, create_space

__all__ = ["ReferenceRun", "best_at", "main", "run_reference", "run_reference_detailed",
           "train_epochs"]

STRATEGY = "optuna-tpe-hyperband"
SCHEDULER = "hyperband-pruner"
COLUMNS = ("strategy", "scheduler", "seed", "seconds", "best_so_far", "trial",
           "epochs_trained_total")

# archsmith's training settings (TrainingEvaluator's defaults, which `archsmith search`
# uses when no [training] table is given); checked against archsmith at run time.
BATCH_SIZE = 64
LR = 1e-3
WEIGHT_DECAY = 0.0
VAL_FRACTION = 0.15
TEST_FRACTION = 0.15
EVAL_BATCH = 1024


class _OutOfTime(Exception):
    """The time budget ended while a trial was running: the trial does not count."""


@dataclass
class ReferenceRun:
    """One study's rows and what happened in it.

    ``pruned`` counts trials pruned before their last epoch; ``pruned_final`` those that
    trained all ``epochs`` and were then pruned at their last report (Optuna's successive
    halving prunes at any rung step, including ``epochs`` when it is one, e.g. 3 or 9 with
    reduction factor 3; never 20): they are fully trained, so they are among
    ``completed`` and have a row. ``pruned_at`` maps epoch → trials pruned there.
    """

    rows: list[dict[str, Any]]
    time_budget: float
    epochs: int
    seed: int
    split_seed: int
    data_seconds: float = 0.0
    study_seconds: float = 0.0
    started: int = 0
    pruned: int = 0
    pruned_final: int = 0
    completed: int = 0
    stopped_by_budget: int = 0
    epochs_trained_total: int = 0
    distinct_archs: int = 0
    pruned_at: dict[int, int] = field(default_factory=dict)


def check_settings() -> None:
    """Raises ``RuntimeError`` if archsmith's training defaults differ from this script's."""
    params = inspect.signature(TrainingEvaluator.__init__).parameters
    ours = {"batch_size": BATCH_SIZE, "lr": LR, "weight_decay": WEIGHT_DECAY,
            "val_fraction": VAL_FRACTION, "test_fraction": TEST_FRACTION}
    theirs = {k: params[k].default for k in ours}
    if theirs != ours:
        raise RuntimeError(f"archsmith's training defaults are {theirs}, this reference "
                           f"trains with {ours}; update the constants at its top.")


def _suggest(trial: optuna.Trial, space: SearchSpace) -> list[int]:
    """One suggest_categorical per active decision, over its valid choice indices."""
    idx = [-1] * len(space.decisions)
    for i, d in enumerate(space.decisions):
        if not space.is_active(i, idx):
            continue
        mask = space.choice_mask(i, idx)
        if bool(mask.all()):
            name, choices = d.name, tuple(range(d.size))
        else:
            choices = tuple(int(c) for c in np.flatnonzero(mask))
            name = f"{d.name}[{','.join(map(str, choices))}]"
        idx[i] = int(trial.suggest_categorical(name, choices))
    return idx


def _optimizer(net: torch.nn.Module) -> torch.optim.Optimizer:
    params = [p for p in net.parameters() if p.requires_grad]
    try:
        return torch.optim.AdamW(params, lr=LR, weight_decay=WEIGHT_DECAY, fused=True)
    except (RuntimeError, ValueError, TypeError):
        return torch.optim.AdamW(params, lr=LR, weight_decay=WEIGHT_DECAY, foreach=True)


def _val_acc(net: torch.nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    """Accuracy in percent of ``net`` on ``X, y``."""
    net.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(X), EVAL_BATCH):
            out = net(X[i : i + EVAL_BATCH])
            correct += int((out.argmax(dim=1) == y[i : i + EVAL_BATCH]).sum())
    return 100.0 * correct / len(X)


def train_epochs(
    net: torch.nn.Module, X: torch.Tensor, y: torch.Tensor, X_val: torch.Tensor,
    y_val: torch.Tensor, epochs: int, shuffle_seed: int,
) -> Iterator[float]:
    """Trains ``net`` for ``epochs`` epochs; yields the val_acc (%) after each epoch."""
    opt = _optimizer(net)
    gen = torch.Generator().manual_seed(shuffle_seed)
    n, bs = len(X), BATCH_SIZE
    stop = n - 1 if n > 1 and n % bs == 1 else n  # no trailing batch of one (batch norm)
    for _ in range(epochs):
        net.train()
        perm = torch.randperm(n, generator=gen)
        for i in range(0, stop, bs):
            batch = perm[i : i + bs]
            loss = F.cross_entropy(net(X[batch]), y[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
        yield _val_acc(net, X_val, y_val)


def run_reference_detailed(
    data: str = "mnist1d",
    space: str = "cnn",
    epochs: int = 20,
    time_budget: float = 600.0,
    seed: int = 0,
    split_seed: int | None = None,
    verbose: bool = False,
) -> ReferenceRun:
    """Runs one budgeted study; returns its rows and counts (see :func:`run_reference`)."""
    if epochs < 1 or not time_budget > 0:
        raise ValueError(f"epochs must be >= 1 and time_budget > 0, got {epochs}, "
                         f"{time_budget}.")
    check_settings()
    split = seed if split_seed is None else split_seed
    old_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    old_verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        t_data = time.perf_counter()
        ds = load_dataset(data, seed=split, val_fraction=VAL_FRACTION,
                          test_fraction=TEST_FRACTION)
        sp = create_space(space)
        sp.check_data(ds.input_shape, ds.num_classes)
        X, y = torch.from_numpy(ds.X_train), torch.from_numpy(ds.y_train)
        X_val, y_val = torch.from_numpy(ds.X_val), torch.from_numpy(ds.y_val)
        run = ReferenceRun(rows=[], time_budget=float(time_budget), epochs=epochs, seed=seed,
                           split_seed=split, data_seconds=time.perf_counter() - t_data)
        hashes: set[str] = set()
        best = -math.inf
        t0 = time.perf_counter()

        def elapsed() -> float:
            return time.perf_counter() - t0

        def objective(trial: optuna.Trial) -> float:
            nonlocal best
            if elapsed() >= time_budget:
                raise _OutOfTime
            run.started += 1
            arch = sp.from_indices(_suggest(trial, sp))
            hashes.add(arch.hash)
            init_seed, shuffle_seed = (
                int(s) for s in np.random.SeedSequence([seed, trial.number]).generate_state(2)
            )
            torch.manual_seed(init_seed)
            net = sp.build(arch, ds.input_shape, ds.num_classes)
            curve = train_epochs(net, X, y, X_val, y_val, epochs, shuffle_seed)
            last = math.nan
            for epoch, val_acc in enumerate(curve, start=1):
                last = val_acc
                run.epochs_trained_total += 1
                if elapsed() > time_budget:
                    run.stopped_by_budget += 1
                    raise _OutOfTime
                trial.report(val_acc, epoch)
                prune = trial.should_prune()
                if epoch == epochs:  # fully trained, whatever the pruner says now
                    seconds = elapsed()
                    run.completed += 1
                    best = max(best, val_acc)
                    run.rows.append({
                        "strategy": STRATEGY, "scheduler": SCHEDULER, "seed": seed,
                        "seconds": seconds, "best_so_far": best, "trial": trial.number,
                        "epochs_trained_total": run.epochs_trained_total})
                    if verbose:
                        print(f"  seed {seed} trial {trial.number:3d} done at {seconds:7.1f} "
                              f"s: val_acc {val_acc:6.2f}  best {best:6.2f}  "
                              f"({sp.compact(arch)}){'  [pruned at its last epoch]' * prune}",
                              flush=True)
                if prune:
                    run.pruned_at[epoch] = run.pruned_at.get(epoch, 0) + 1
                    if epoch == epochs:
                        run.pruned_final += 1
                    else:
                        run.pruned += 1
                    raise optuna.TrialPruned()
            return last

        def stop_at_budget(study: optuna.Study, _trial: optuna.trial.FrozenTrial) -> None:
            if elapsed() >= time_budget:
                study.stop()

        # Hyperband assigns trials to brackets by hashing the study name with the trial
        # number: a fixed name (not Optuna's random default) makes a seed's run repeatable
        study = optuna.create_study(
            study_name=f"optuna-reference-{data}-{space}-{epochs}-{seed}-{split}",
            direction="maximize",
            sampler=optuna.samplers.TPESampler(seed=seed),
            pruner=optuna.pruners.HyperbandPruner(min_resource=1, max_resource=epochs,
                                                  reduction_factor=3),
        )
        study.optimize(objective, timeout=time_budget, callbacks=[stop_at_budget],
                       catch=(_OutOfTime,), gc_after_trial=False)
        run.study_seconds = elapsed()
        run.distinct_archs = len(hashes)
        return run
    finally:
        torch.set_num_threads(old_threads)
        optuna.logging.set_verbosity(old_verbosity)


def run_reference(
    data: str = "mnist1d",
    space: str = "cnn",
    epochs: int = 20,
    time_budget: float = 600.0,
    seed: int = 0,
    split_seed: int | None = None,
) -> list[dict[str, Any]]:
    """Plain Optuna (TPE + Hyperband pruner) with a plain PyTorch loop under a time budget.

    Args:
        data: Dataset spec for ``archsmith.evaluators.load_dataset``.
        space: Name of an archsmith space (its default settings).
        epochs: Epochs of a fully trained trial (Hyperband's ``max_resource``).
        time_budget: Seconds from the study's start after which no trial starts and the
            running one is stopped (and not counted).
        seed: Seed of the TPE sampler, of the trials' initialisation and shuffling, and
            (unless ``split_seed`` is given) of the train/validation split — as
            ``archsmith search --seed``.
        split_seed: Seed of the split, when it should differ from ``seed``.

    Returns:
        One row per fully trained trial, in finishing order: ``strategy``, ``scheduler``,
        ``seed``, ``seconds`` (since the study started), ``best_so_far`` (val_acc in
        percent, running maximum over fully trained trials), ``trial`` (Optuna's trial
        number) and ``epochs_trained_total`` (by all trials so far).
    """
    return run_reference_detailed(data, space, epochs, time_budget, seed, split_seed).rows


def best_at(rows: list[dict[str, Any]], seconds: float) -> float:
    """Best fully trained val_acc reached by ``seconds`` (nan when none had finished)."""
    values = [float(r["best_so_far"]) for r in rows if float(r["seconds"]) <= seconds]
    return max(values) if values else math.nan


def _fmt(v: float) -> str:
    return "n/a" if math.isnan(v) else f"{v:.2f}"


def _machine_load() -> str:
    try:  # benchmarks/ is on sys.path when this file is run as a script
        from _machine import loadavg  # type: ignore[import-not-found]
    except ImportError:
        return "n/a"
    return str(loadavg())


def main(argv: list[str] | None = None) -> list[ReferenceRun]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--data", default="mnist1d")
    parser.add_argument("--space", default="cnn")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--time-budget", type=float, default=600.0, help="seconds per seed")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated, e.g. 0,1,2")
    parser.add_argument("--split-seed", type=int, default=None,
                        help="seed of the train/validation split (default: each seed)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--quiet", action="store_true", help="no line per finished trial")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    print(f"data={args.data} space={args.space} epochs={args.epochs} "
          f"time_budget={args.time_budget:g}s seeds={seeds} torch={torch.__version__} "
          f"optuna={optuna.__version__} threads=1 load={_machine_load()}", flush=True)
    runs: list[ReferenceRun] = []
    for seed in seeds:
        run = run_reference_detailed(args.data, args.space, args.epochs, args.time_budget,
                                     seed, args.split_seed, verbose=not args.quiet)
        runs.append(run)
        pruned = ", ".join(f"@{k}: {v}" for k, v in sorted(run.pruned_at.items()))
        print(f"seed {seed} (split seed {run.split_seed}): {run.started} trials started "
              f"({run.distinct_archs} distinct architectures), {run.pruned} pruned early, "
              f"{run.completed} fully trained ({run.pruned_final} of them then pruned at "
              f"their last report) [pruned {pruned}], {run.stopped_by_budget} stopped "
              f"by the budget; {run.epochs_trained_total} epochs trained in "
              f"{run.study_seconds:.1f} s (data {run.data_seconds:.1f} s)", flush=True)

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "results_time.csv"
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(COLUMNS))
        writer.writeheader()
        for run in runs:
            for row in run.rows:
                writer.writerow({**row, "seconds": f"{row['seconds']:.3f}",
                                 "best_so_far": f"{row['best_so_far']:.4f}"})

    budget = args.time_budget
    points = [("1/4", budget / 4), ("1/2", budget / 2), ("all", budget)]
    head = " | ".join(f"{name} ({t:g} s)" for name, t in points)
    print(f"\nbest fully trained val_acc (%) at | {head}")
    for run in runs:
        print(f"seed {run.seed:<4d}  | " + " | ".join(_fmt(best_at(run.rows, t))
                                                    for _, t in points))
    cells = []
    for _, t in points:
        vals = [v for v in (best_at(r.rows, t) for r in runs) if not math.isnan(v)]
        cell = _fmt(statistics.mean(vals) if vals else math.nan)
        cells.append(cell if len(vals) == len(runs) else f"{cell} ({len(vals)}/{len(runs)} seeds)")
    print("mean       | " + " | ".join(cells))
    print(f"wrote {path}")
    return runs


if __name__ == "__main__":
    main()
