"""``archsmith bench`` and ``archsmith critic-eval``: comparing strategies and critics on
tabular benchmarks (registered in :mod:`archsmith.cli`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from archsmith._cli_view import bench_progress, console
from archsmith.errors import ArchsmithError

__all__ = ["bench", "critic_eval_cmd"]


def _parse_table(text: str | None, what: str) -> dict[str, Any]:
    """Parses a JSON object given on the command line."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise ArchsmithError(f"{what} must be a JSON object, e.g. '{{\"k\": 1}}': {e}.") from None
    if not isinstance(value, dict):
        raise ArchsmithError(f"{what} must be a JSON object, got {text!r}.")
    return value


def bench(
    strategies: Annotated[str, typer.Option(help="Comma-separated strategy names.")],
    benchmark: Annotated[str | None, typer.Option(
        help="Tabular benchmark, e.g. nb201/cifar10 (or --data for real training).")] = None,
    budget: Annotated[int, typer.Option(help="Queries per run.")] = 100,
    seeds: Annotated[int, typer.Option(help="Seeds per strategy (shared).")] = 20,
    space: Annotated[str | None, typer.Option(help="Space (default: the benchmark's).")] = None,
    workers: Annotated[int, typer.Option(help="Parallel processes.")] = 1,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("bench-out"),
    strategy_configs: Annotated[str | None, typer.Option(
        help='Per-strategy settings as JSON: {"evolution": {"population_size": 10}}.')] = None,
    workers_sim: Annotated[int | None, typer.Option(
        help="Run each search on N simulated asynchronous workers (trials take the "
        "benchmark's training time) and report best-so-far against simulated time.",
    )] = None,
    data: Annotated[str | None, typer.Option(
        help="Real training on this dataset, against wall-clock time (needs --time-budget); "
        "writes results_time.csv, summary_time.md, curves_time.png.")] = None,
    scheduler: Annotated[str, typer.Option(
        help="With --data: comma-separated schedulers (none, sh, hyperband, asha, median); "
        "every strategy runs with each.")] = "asha",
    time_budget: Annotated[float | None, typer.Option(
        help="With --data: seconds per search.")] = None,
    epochs: Annotated[int, typer.Option(help="With --data: epochs of a full training.")] = 20,
    min_epochs: Annotated[int, typer.Option(help="With --data: lowest rung.")] = 1,
    eta: Annotated[int, typer.Option(help="With --data: reduction factor.")] = 3,
    objective: Annotated[str | None, typer.Option(
        help="Metric(s) to optimise; several (comma-separated, e.g. val_acc,latency_ms) "
        "report the hypervolume normalised by the table's true front.")] = None,
    direction: Annotated[str | None, typer.Option(
        help="max or min per objective (e.g. max,min).")] = None,
    constraint: Annotated[list[str] | None, typer.Option(
        help="METRIC<=NUMBER or METRIC>=NUMBER (repeatable).")] = None,
) -> None:
    """Compare strategies: on a tabular benchmark against queries (results.csv,
    summary.md, curves.png), or with --data on real training against wall-clock time."""
    from archsmith.report import run_bench

    names = [s.strip() for s in strategies.split(",") if s.strip()]
    if data is not None:
        _bench_wallclock(data, space or "cnn", names, scheduler, seeds, time_budget, epochs,
                         min_epochs, eta, workers, out, constraint or [])
        return
    if benchmark is None:
        raise ArchsmithError("Give --benchmark (a tabular benchmark, e.g. nb201/cifar10) or "
                             "--data with --time-budget (real training).")
    configs = _parse_table(strategy_configs, "--strategy-configs")
    space_name = space or benchmark.split("/")[0]
    progress = bench_progress()
    with progress:
        task = progress.add_task("bench", total=None)

        def cb(desc: str, done: int, total: int) -> None:
            progress.update(task, description=desc, completed=done, total=total)

        res = run_bench(space_name, benchmark, names, budget, seeds, out, workers=workers,
                        strategy_configs=configs, progress=cb, workers_sim=workers_sim,
                        objective=objective, direction=direction, constraints=constraint)
    what = "normalised hypervolume" if "multi_objective" in res else "best-so-far"
    table = Table(title=f"{benchmark}: mean {what} ± s.e. over {seeds} seeds")
    table.add_column("strategy", style="bold")
    cps = list(next(iter(res["strategies"].values()))["at"])
    for cp in cps:
        table.add_column(f"@{cp}", justify="right")
    for name, st in res["strategies"].items():
        table.add_row(name, *(_pm(st["at"][cp]) for cp in cps))
    console.print(table)
    sim = res.get("simulated")
    if sim:
        t = Table(title=f"best-so-far against simulated wall-clock, {sim['workers_sim']} "
                  "asynchronous workers")
        t.add_column("strategy", style="bold")
        first = next(iter(sim["at"].values()))
        for cp, v in first.items():
            t.add_column(f"@{cp} ({v['seconds'] / 3600:.2f} h)", justify="right")
        for name, cps_t in sim["at"].items():
            t.add_row(name, *(_pm(v) for v in cps_t.values()))
        console.print(t)
    console.print(f"wrote {', '.join(str(Path(out) / f) for f in res['files'])}")


def _bench_wallclock(data: str, space: str, names: list[str], schedulers: str, seeds: int,
                     time_budget: float | None, epochs: int, min_epochs: int, eta: int,
                     parallel: int, out: Path, constraints: list[str] | None = None) -> None:
    """``archsmith bench --data``: every (strategy, scheduler) on seeds 0..K-1, each an
    ``archsmith search --time-budget`` in its own process (see
    :mod:`archsmith.report._wallclock`)."""
    from archsmith.report._wallclock import archsmith_job, run_wallclock
    from archsmith.schedulers import scheduler_names
    from archsmith.schedulers._base import rung_budgets

    if time_budget is None or not 0 < time_budget < 10**9:
        raise ArchsmithError("bench --data needs --time-budget SECONDS (a positive number): "
                             "the searches are compared against wall-clock time.")
    scheds = [x.strip() for x in schedulers.split(",") if x.strip()]
    for x in scheds:
        if x != "none" and x not in scheduler_names():
            raise ArchsmithError(f"Unknown scheduler {x!r}; valid: none, "
                                 f"{', '.join(scheduler_names())}.")
    rung_budgets(min_epochs, epochs, eta)  # bad rung settings fail here, not in every job
    settings = {"constraints": list(constraints)} if constraints else None
    if constraints:
        from archsmith._objectives import Objectives

        Objectives.parse(None, None, constraints)  # a malformed one fails here
    jobs = [archsmith_job(data, space, n, x, seed, epochs, time_budget, out, min_epochs, eta,
                          settings=settings)
            for seed in range(seeds) for n in names for x in scheds]
    progress = bench_progress()
    with progress:
        task = progress.add_task("bench", total=len(jobs))

        def cb(desc: str, done: int, total: int) -> None:
            progress.update(task, description=desc, completed=done, total=total)

        summary = run_wallclock(jobs, out, epochs, time_budget, parallel=parallel,
                                baseline=f"{names[0]}|{scheds[0]}", progress=cb)
    table = Table(title=f"{data}, {space}: best fully trained val_acc ± s.e. over {seeds} "
                  "seeds, against seconds")
    table.add_column("strategy", style="bold")
    table.add_column("scheduler")
    for p, t in summary["points"].items():
        table.add_column(f"@{t:.0f} s ({p})", justify="right")
    for name, e in summary["configs"].items():
        table.add_row(*name.split("|"), *(f"{e['mean'][p]:.2f} ± {e['sem'][p]:.2f}"
                                          for p in summary["points"]))
    console.print(table)
    console.print(f"wrote {out / 'results_time.csv'}, {out / 'summary_time.md'}, "
                  f"{out / 'curves_time.png'}")


def _pm(v: dict[str, Any]) -> str:
    """``mean ± sem`` of a summary cell (``—`` for missing values)."""
    if v.get("mean") is None:
        return "—"
    return f"{v['mean']:.4g}" + (f" ± {v['sem']:.2g}" if v.get("sem") is not None else "")


def critic_eval_cmd(
    benchmark: Annotated[str, typer.Option(help="Tabular benchmark, e.g. nb201/cifar10.")],
    train_size: Annotated[int, typer.Option(help="Training architectures.")] = 100,
    test_size: Annotated[int | None, typer.Option(help="Held-out architectures.")] = None,
    seeds: Annotated[int, typer.Option(help="Seeds to average over.")] = 3,
    critic: Annotated[str, typer.Option(help="Critic name.")] = "gnn",
    space: Annotated[str | None, typer.Option(help="Space (default: the benchmark's).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """How well a critic ranks unseen architectures (Kendall τ, Spearman ρ, MAE)."""
    from archsmith.critic._eval import critic_eval

    res = critic_eval(space or benchmark.split("/")[0], benchmark, train_size, test_size,
                      seeds=seeds, critic=critic)
    if as_json:
        keep = {k: res[k] for k in ("kendall_tau", "spearman", "mae")}
        sys.stdout.write(json.dumps(keep, indent=2) + "\n")
        return
    console.print(f"{critic} on {benchmark}, {train_size} training architectures, "
                  f"{res.get('test_size')} held out, {seeds} seed(s): "
                  f"Kendall τ {res['kendall_tau']:.3f}, Spearman ρ {res['spearman']:.3f}, "
                  f"MAE {res['mae']:.3g} (fit {res.get('fit_seconds', 0):.2f} s)")
