"""Wall-clock comparison of multi-fidelity search on real training (issue 13).

Runs, in one go and ``--parallel`` processes at a time (one torch thread each), for
every seed: ``archsmith search`` with each (strategy, scheduler) under ``--time-budget``,
and the plain-Optuna reference (``benchmarks/optuna_reference.py``: TPE +
HyperbandPruner over the same space, split and optimiser settings). Writes
``OUT/results_time.csv``, ``OUT/summary_time.md`` (mean best fully trained validation
accuracy at ¼, ½ and all of the budget; paired 95 % intervals against the Optuna
reference; the second each run reaches the reference's final level) and
``OUT/curves_time.png``.

Weight inheritance (issue 15) against the same strategy from scratch, 15 minutes::

    python benchmarks/multifidelity_wallclock.py --data mnist1d --space cnn --epochs 20 \
        --time-budget 900 --seeds 0,1,2 --parallel 2 --out bench-inherit --no-reference \
        --baseline "evolution|none" --configs "evolution:none,evolution:none{inherit=true}"

The measurement of issue 13 (about 75 minutes on 2 cores)::

    python benchmarks/multifidelity_wallclock.py --data mnist1d --space cnn --epochs 20 \\
        --time-budget 600 --seeds 0,1,2 --parallel 2 --out bench-wallclock \\
        --configs gc:asha,gc:none,random:asha,optuna:tpe:asha
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from archsmith.report._wallclock import WallclockJob, archsmith_job, run_wallclock

REFERENCE = ("optuna-tpe-hyperband", "hyperband-pruner")


def _number(text: str) -> Any:
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--data", default="mnist1d")
    p.add_argument("--space", default="cnn")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--min-epochs", type=int, default=1)
    p.add_argument("--eta", type=int, default=3)
    p.add_argument("--time-budget", type=float, default=600.0)
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--parallel", type=int, default=2)
    p.add_argument("--configs", default="gc:asha,gc:none,random:asha,optuna:tpe:asha",
                   help="strategy:scheduler pairs (the scheduler is after the last colon), "
                   "each optionally followed by {key=value;...} of SearchConfig keys, e.g. "
                   "gc:asha{rung_targets=top} or gc:asha{min_epochs=3}")
    p.add_argument("--no-reference", action="store_true", help="skip plain Optuna")
    p.add_argument("--baseline", default=None,
                   help="STRATEGY|LABEL the intervals are against (default: plain Optuna), "
                   "e.g. 'evolution|none'")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--summarize-only", action="store_true",
                   help="run nothing: summarise the runs already in OUT/runs (e.g. of a "
                   "measurement stopped early)")
    a = p.parse_args(argv)
    seeds = [int(s) for s in a.seeds.split(",")]
    jobs: list[WallclockJob] = []
    for seed in seeds:
        if not a.no_reference:
            folder = a.out / "runs" / f"optuna-reference-seed{seed}"
            jobs.append(WallclockJob(
                REFERENCE[0], REFERENCE[1], seed,
                [sys.executable, str(Path(__file__).with_name("optuna_reference.py")),
                 "--data", a.data, "--space", a.space, "--epochs", str(a.epochs),
                 "--time-budget", str(a.time_budget), "--seeds", str(seed), "--out",
                 str(folder), "--quiet"], folder, kind="csv"))
        for cfg in a.configs.split(","):
            # strategy:scheduler, optionally {key=value;...} of further SearchConfig keys
            base, _, extra = cfg.partition("{")
            strategy, scheduler = base.rsplit(":", 1)
            settings: dict[str, Any] = {}
            for item in filter(None, extra.rstrip("}").split(";")):
                k, v = item.split("=", 1)
                value = _number(v)
                if "." in k:  # strategy_config.cost_exponent=1
                    outer, inner = k.split(".", 1)
                    settings.setdefault(outer, {})[inner] = value
                else:
                    settings[k] = value
            mins = int(settings.pop("min_epochs", a.min_epochs))
            # the label keeps what was asked for: asha{min_epochs=3}
            jobs.append(archsmith_job(
                a.data, a.space, strategy, scheduler, seed, a.epochs, a.time_budget, a.out,
                mins, a.eta, settings, label=scheduler + (f"{{{extra}" if extra else "")
                + ("" if mins == a.min_epochs or extra else f"-min{mins}")))
    summary = run_wallclock(
        jobs, a.out, a.epochs, a.time_budget, parallel=a.parallel,
        baseline=a.baseline or (None if a.no_reference else "|".join(REFERENCE)),
        progress=lambda d, n, t: print(f"[{n}/{t}] {d} done", flush=True),
        run=not a.summarize_only)
    print((a.out / "summary_time.md").read_text())
    del summary


if __name__ == "__main__":
    main()
