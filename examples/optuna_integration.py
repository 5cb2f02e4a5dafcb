"""An archsmith strategy as an Optuna sampler: NAS-Bench-201 on CIFAR-10 (tabular).

The study keeps Optuna's storage (SQLite here; PostgreSQL works the same), so
``optuna-dashboard sqlite:///nb201_optuna.db`` shows it. Re-running the script with the
same ``--storage`` continues the study: the strategy state stored in the study is
restored and the new trials follow on from the old ones.

Run::

    python examples/optuna_integration.py --trials 100 --strategy evolution --seed 0
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import optuna

from archsmith.evaluators import create_benchmark
from archsmith.integrations.optuna import (
    ArchsmithSampler,
    suggest_architecture,
    trial_architecture,
)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--trials", type=int, default=100, help="trials to run in this call")
    p.add_argument("--strategy", default="evolution", help="archsmith strategy name")
    p.add_argument("--config", default=None,
                   help='strategy options as JSON, e.g. \'{"population_size": 20}\'')
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--storage", default=None,
                   help="Optuna storage URL, e.g. sqlite:///nb201_optuna.db (default: memory)")
    p.add_argument("--study", default="archsmith-nb201", help="study name")
    args = p.parse_args()
    config: dict[str, Any] = json.loads(args.config) if args.config else {}

    bench = create_benchmark("nb201/cifar10")
    space = bench.default_space()

    def objective(trial: optuna.Trial) -> float:
        arch = suggest_architecture(trial, space)
        result = bench.evaluate(arch)
        trial.set_user_attr("arch_str", space.arch_str(arch))
        trial.set_user_attr("params", result.metrics["params"])
        return result.metrics["val_acc"]

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = ArchsmithSampler(space, args.strategy, seed=args.seed, **config)
    study = optuna.create_study(
        direction="maximize", sampler=sampler, storage=args.storage,
        study_name=args.study, load_if_exists=True,
    )
    before = len(study.trials)
    study.optimize(objective, n_trials=args.trials)

    values = [t.value for t in study.trials if t.value is not None]
    best_so_far = [max(values[: i + 1]) for i in range(len(values))]
    marks = [n for n in (10, 25, 50, 100, 200, 500) if n <= len(values)]
    best = study.best_trial
    print(f"study {study.study_name!r}: {len(study.trials)} trials "
          f"({before} loaded from storage), strategy {args.strategy}, seed {args.seed}")
    print("best val_acc after n trials: " +
          ", ".join(f"{n}: {best_so_far[n - 1]:.2f}" for n in marks))
    print(f"best trial #{best.number}: val_acc {best.value:.2f} "
          f"(benchmark optimum {bench.optimum():.2f})")
    print(f"best cell: {space.arch_str(trial_architecture(best, space))}")


if __name__ == "__main__":
    main()
