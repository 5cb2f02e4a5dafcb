"""An archsmith strategy as a Ray Tune searcher: NAS-Bench-201 on CIFAR-10 (tabular).

Starts a local Ray (loopback only, no dashboard) unless ``--address`` names a cluster,
runs ``--trials`` trials with ``--concurrent`` at a time, and prints the best
architecture. The searcher's state is checkpointed by Tune in the experiment folder
(``torch.save`` of JSON bookkeeping + strategy tensors; read back with
``weights_only=True``); ``--resume`` continues an interrupted experiment with
``tune.Tuner.restore``.

Run::

    python examples/ray_tune_integration.py --trials 100 --strategy evolution --seed 0
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import ray
from ray import tune

from archsmith.evaluators import create_benchmark
from archsmith.integrations.ray_tune import ArchsmithSearcher, config_to_architecture


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--trials", type=int, default=100)
    p.add_argument("--concurrent", type=int, default=2, help="max_concurrent_trials")
    p.add_argument("--strategy", default="evolution", help="archsmith strategy name")
    p.add_argument("--config", default=None,
                   help='strategy options as JSON, e.g. \'{"population_size": 20}\'')
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--storage", default=None, help="experiment folder (default: a temp dir)")
    p.add_argument("--name", default="archsmith_nb201", help="experiment name")
    p.add_argument("--resume", action="store_true", help="restore the experiment and continue")
    p.add_argument("--address", default=None, help="Ray cluster address (default: local)")
    args = p.parse_args()
    config: dict[str, Any] = json.loads(args.config) if args.config else {}

    bench = create_benchmark("nb201/cifar10")
    space = bench.default_space()

    def trainable(trial_config: dict[str, Any]) -> dict[str, float]:
        arch = config_to_architecture(space, trial_config)
        metrics = bench.evaluate(arch).metrics
        return {"val_acc": metrics["val_acc"], "params": metrics["params"]}

    started_ray = not ray.is_initialized()  # reuse a Ray this process already runs
    if started_ray and args.address:
        ray.init(address=args.address)
    elif started_ray:
        ray.init(address="local", num_cpus=max(2, args.concurrent), include_dashboard=False,
                 _node_ip_address="127.0.0.1", log_to_driver=False)
    storage = Path(args.storage or tempfile.mkdtemp(prefix="archsmith_ray_")).resolve()
    t0 = time.perf_counter()
    if args.resume:
        tuner = tune.Tuner.restore(str(storage / args.name), trainable=trainable)
    else:
        searcher = ArchsmithSearcher(space, args.strategy, seed=args.seed,
                                     metric="val_acc", mode="max", **config)
        tuner = tune.Tuner(
            trainable,
            tune_config=tune.TuneConfig(search_alg=searcher, num_samples=args.trials,
                                        max_concurrent_trials=args.concurrent,
                                        reuse_actors=True),
            run_config=tune.RunConfig(name=args.name, storage_path=str(storage), verbose=0),
        )
    results = tuner.fit()
    elapsed = time.perf_counter() - t0
    if started_ray:
        ray.shutdown()

    df = results.get_dataframe()
    done = df.dropna(subset=["val_acc"])
    best = results.get_best_result(metric="val_acc", mode="max")
    assert best.config is not None and best.metrics is not None
    arch = config_to_architecture(space, best.config)
    print(f"{len(df)} trials ({len(done)} complete) in {elapsed:.1f} s on Ray, strategy "
          f"{args.strategy}, seed {args.seed}, {args.concurrent} concurrent; "
          f"experiment in {storage / args.name}")
    print(f"best val_acc {best.metrics['val_acc']:.2f} (benchmark optimum "
          f"{bench.optimum():.2f}); mean of all trials {done['val_acc'].mean():.2f}")
    print(f"best cell: {space.arch_str(arch)}  (arch_hash {best.config['arch_hash']})")


if __name__ == "__main__":
    main()
