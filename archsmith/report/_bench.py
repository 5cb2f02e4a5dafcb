"""The benchmark harness behind ``archsmith bench``.

Every strategy runs for ``seeds`` seeds (``0 … seeds-1``, shared across strategies) on
a tabular benchmark, each run through the real search driver
(:class:`archsmith.search.Search` with in-memory SQLite storage), so the harness
measures exactly what users get: duplicate proposals count as queries, failures count
and the per-trial random generators are the driver's. ``best_so_far`` at query ``q``
is the best objective (respecting its direction) among trials ``0 … q-1``.

Runs are independent jobs; with ``workers > 1`` they run in ``spawn``-ed processes.
Results do not depend on the number of workers (every job runs with one torch thread).

Example (a few seconds, so not run as a doctest):
    >>> from archsmith.report import run_bench
    >>> res = run_bench("nb201", "nb201/cifar10", ["random", "evolution"],
    ...                 budget=100, seeds=20, out="bench-out", workers=2)  # doctest: +SKIP
    >>> res["strategies"]["evolution"]["at"]["100%"]["mean"]  # doctest: +SKIP
    91.51...
    >>> checkpoint_queries(100)
    {'10%': 10, '25%': 25, '50%': 50, '100%': 100}
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import math
import multiprocessing as mp
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty
from typing import Any

import numpy as np

from archsmith._threads import single_thread
from archsmith.errors import ConfigError
from archsmith.report._bench_io import (
    bench_command,
    final_points,
    validate_numbers,
    write_results_csv,
)
from archsmith.report._stats import (
    REFERENCES,
    best_so_far,
    checkpoint_queries,
    first_query,
    mean_sem,
    num,
    paired_difference,
    reaches,
)

__all__ = ["ProgressCallback", "run_bench"]

#: ``progress(description, completed_queries, total_queries)``.
ProgressCallback = Callable[[str, int, int], None]


@dataclass(frozen=True)
class _Job:
    """One (strategy, seed) run; names and plain configs only, so it pickles."""

    space: str
    benchmark: str
    strategy: str
    seed: int
    budget: int
    strategy_config: dict[str, Any] = field(default_factory=dict)
    workers_sim: int | None = None
    objective: str | None = None
    direction: str | None = None
    constraints: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.strategy} seed {self.seed}"


@dataclass
class _JobResult:
    curve: list[float]
    seconds: float
    strategy_seconds: float
    failed: int
    duplicates: int
    values: list[float] = field(default_factory=list)
    ends: list[float] = field(default_factory=list)
    #: Several objectives: normalised hypervolume after each query, and the oriented
    #: values of the feasible trials.
    hv: list[float] = field(default_factory=list)
    points: list[tuple[float, ...]] = field(default_factory=list)


# -- running one job -----------------------------------------------------------------------
def _make_search(job: _Job, out: str | Path) -> Any:
    from archsmith.search import Search, SearchConfig

    cfg = SearchConfig(
        space=job.space, benchmark=job.benchmark, strategy=job.strategy,
        strategy_config=dict(job.strategy_config), budget=job.budget, seed=job.seed,
        export=False, name="bench", workers=job.workers_sim or 1,
        executor="simulated" if job.workers_sim else None,
        objective=job.objective, direction=job.direction, constraints=list(job.constraints),
    )
    return Search(cfg, out=out, storage="sqlite://")


def _run_job(job: _Job, report: Callable[[], None] | None = None) -> _JobResult:
    """Runs one search and returns its best-so-far curve and timings."""
    with tempfile.TemporaryDirectory(prefix="archsmith-bench-") as tmp:
        search = _make_search(job, tmp)
        strategy = search.strategy
        spent = [0.0]

        def timed(fn: Callable[..., Any]) -> Callable[..., Any]:
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                t0 = time.perf_counter()
                try:
                    return fn(*args, **kwargs)
                finally:
                    spent[0] += time.perf_counter() - t0

            return wrapper

        # instance attributes: the class, its state_dict and its behaviour are untouched
        strategy.ask = timed(strategy.ask)
        strategy.tell = timed(strategy.tell)

        ends: dict[int, float] = {}

        def on_event(event: dict[str, Any]) -> None:
            if event.get("event") == "trial":
                # simulated executor: its clock is the trial's finish (a duplicate
                # answered from storage finishes when it is proposed)
                ends[event["record"].number] = float(getattr(search.executor, "now", 0.0))
                if report is not None:
                    report()

        t0 = time.perf_counter()
        search.run(progress=on_event)
        seconds = time.perf_counter() - t0
        assert search._store is not None and search._search_id is not None
        rows = search._store.trials(search._search_id)
        search._store.close()
    if [r.number for r in rows] != list(range(job.budget)):
        raise RuntimeError(f"{job.label}: the search stopped before its budget of {job.budget}.")
    objs = search.objectives
    values = [
        float(r.metrics[search.objective])
        if r.state == "complete" and search.objective in r.metrics
        and objs.violation(r.metrics) == 0 else math.nan
        for r in rows
    ]
    hv: list[float] = []
    if objs.multi:
        from archsmith.report._bench_mo import table_tracker

        job_tracker = table_tracker(search.evaluator, objs)
        if job_tracker is None:
            raise ConfigError(f"{job.benchmark}: no feasible row for the constraints "
                              f"{list(job.constraints)}; loosen them.")
        pts = [objs.values(r.metrics) if r.state == "complete"
               and objs.violation(r.metrics) == 0 else None for r in rows]
        hv = job_tracker.curve(pts)
    return _JobResult(
        curve=best_so_far(values, search.direction),
        seconds=seconds,
        strategy_seconds=spent[0],
        failed=sum(r.state == "failed" for r in rows),
        duplicates=sum(r.cached_from is not None for r in rows),
        values=values,
        ends=[ends.get(r.number, math.nan) for r in rows] if job.workers_sim else [],
        hv=hv,
        points=[p for p in pts if p is not None] if objs.multi else [],
    )


_QUEUE: Any = None


def _init_worker(queue: Any) -> None:
    """Pool initializer: one torch thread per process, progress queue as a global."""
    global _QUEUE
    import torch

    torch.set_num_threads(1)
    _QUEUE = queue


def _pool_job(job: _Job) -> _JobResult:
    queue = _QUEUE
    report = None if queue is None else (lambda: queue.put(job.label))
    return _run_job(job, report)


# -- running all jobs ----------------------------------------------------------------------
def _run_jobs(
    jobs: list[_Job], workers: int, progress: ProgressCallback | None
) -> dict[tuple[str, int], _JobResult]:
    total = sum(j.budget for j in jobs)
    done = [0]

    def tick(label: str) -> None:
        done[0] += 1
        if progress is not None:
            progress(label, min(done[0], total), total)

    results: dict[tuple[str, int], _JobResult] = {}
    if workers <= 1 or len(jobs) <= 1:
        with single_thread():
            for job in jobs:
                try:
                    results[job.strategy, job.seed] = _run_job(
                        job, functools.partial(tick, job.label)
                    )
                except Exception as e:
                    e.add_note(f"while running {job.label} of the benchmark")
                    raise
        return results
    ctx = mp.get_context("spawn")
    queue = ctx.Queue() if progress is not None else None

    def drain() -> None:
        while queue is not None:
            try:
                tick(queue.get_nowait())
            except Empty:
                return

    with ProcessPoolExecutor(
        max_workers=min(workers, len(jobs)), mp_context=ctx,
        initializer=_init_worker, initargs=(queue,),
    ) as pool:
        futures: dict[Future[_JobResult], _Job] = {pool.submit(_pool_job, j): j for j in jobs}
        pending = set(futures)
        try:
            while pending:
                finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                drain()
                for fut in finished:
                    job = futures[fut]
                    try:
                        results[job.strategy, job.seed] = fut.result()
                    except Exception as e:
                        e.add_note(f"while running {job.label} of the benchmark")
                        raise
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise
    if progress is not None:
        progress("done", total, total)
    return results


# -- statistics ----------------------------------------------------------------------------
def _summarise(
    strategies: list[str], seeds: int, budget: int, direction: str,
    results: dict[tuple[str, int], _JobResult], multi: bool = False,
) -> tuple[dict[str, dict[str, Any]], dict[str, float], dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Per-strategy statistics of the best-so-far curves (of the normalised
    hypervolume with several objectives, compared against ``MO_REFERENCES``)."""
    from archsmith.report._bench_mo import MO_REFERENCES

    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    matrices: dict[str, np.ndarray] = {}
    for s in strategies:
        matrices[s] = np.array([results[s, k].hv if multi else results[s, k].curve
                                for k in range(seeds)], dtype=float)
        curves[s] = mean_sem(matrices[s])
    refs = {r: lvl for r in (MO_REFERENCES if multi else REFERENCES)
            if r in curves and (lvl := num(curves[r][0][-1])) is not None}
    stats: dict[str, dict[str, Any]] = {}
    for s in strategies:
        mean, sem = curves[s]
        runs = [results[s, k] for k in range(seeds)]
        secs = float(np.mean([r.seconds for r in runs]))
        strat_secs = float(np.mean([r.strategy_seconds for r in runs]))
        stats[s] = {
            "at": {
                key: {"query": q, "mean": num(mean[q - 1]), "sem": num(sem[q - 1])}
                for key, q in checkpoint_queries(budget).items()
            },
            "queries_to_reach": {
                r: first_query(mean, lvl, direction) for r, lvl in refs.items()
            },
            "seeds_reaching": {
                r: int(reaches(matrices[s][:, -1], lvl, direction).sum())
                for r, lvl in refs.items()
            },
            "vs_reference": {
                r: paired_difference(matrices[s][:, -1], matrices[r][:, -1], direction)
                for r in refs if r != s
            },
            "vs_reference_at": {
                key: {r: paired_difference(matrices[s][:, q - 1], matrices[r][:, q - 1],
                                           direction) for r in refs if r != s}
                for key, q in checkpoint_queries(budget).items()
            },
            "seconds_per_run": secs,
            "seconds_per_query": secs / budget,
            "strategy_seconds_per_query": strat_secs / budget,
            "failed_per_run": float(np.mean([r.failed for r in runs])),
            "duplicates_per_run": float(np.mean([r.duplicates for r in runs])),
        }
    return stats, refs, curves


# -- the entry point -----------------------------------------------------------------------
def run_bench(
    space: str,
    benchmark: str,
    strategies: list[str],
    budget: int,
    seeds: int,
    out: str | Path,
    workers: int = 1,
    strategy_configs: dict[str, dict[str, Any]] | None = None,
    progress: ProgressCallback | None = None,
    workers_sim: int | None = None,
    objective: str | None = None,
    direction: str | None = None,
    constraints: list[str] | None = None,
) -> dict[str, Any]:
    """Runs every strategy for ``seeds`` seeds and writes results, summary and plot.

    Writes ``out/results.csv`` (``strategy,seed,query,best_so_far``), ``out/summary.md``
    (mean ± standard error at 10/25/50/100 % of the budget, queries needed to reach the
    full-budget mean level of ``evolution`` and ``optuna:tpe``, timings),
    ``out/summary.json`` (the returned dict) and ``out/curves.png``.

    Args:
        space: Search-space name (``nb201``).
        benchmark: Tabular benchmark name (``nb201/cifar10``).
        strategies: Strategy names (any registered name, ``family:variant`` included).
        budget: Queries per run (duplicates and failures included).
        seeds: Number of seeds; seeds ``0 … seeds-1`` are shared by all strategies.
        out: Output folder (created; existing result files are replaced).
        workers: Parallel processes (``spawn``); results do not depend on it. Scripts
            that call this with ``workers > 1`` need an ``if __name__ == "__main__":``
            guard (spawned workers re-import the main module).
        strategy_configs: Constructor arguments per strategy name.
        progress: Called as ``progress(description, completed, total)`` with queries
            finished over all runs.
        workers_sim: Run every search asynchronously on this many simulated workers
            (executor ``simulated``: each trial takes the benchmark's training time) and
            also report best-so-far against simulated wall-clock (``results_time.csv``,
            ``curves_time.png``, a section of ``summary.md``).
        objective: The metric(s) to optimise (default the benchmark's); several,
            comma-separated, make a multi-objective benchmark: every curve is then the
            hypervolume of the feasible trials so far, normalised by the table's true
            front (:mod:`archsmith.report._bench_mo`; ``results.csv`` gains a
            ``hypervolume`` column, ``fronts.png`` shows each strategy's final fronts),
            compared against ``nsga2`` and ``optuna:nsga2``.
        direction: ``max``/``min`` per objective (default from the names).
        constraints: ``"metric<=bound"`` strings; infeasible trials count as queries
            but never improve a curve.

    Returns:
        Summary dict: settings, ``optimum``, ``references`` (full-budget mean level of
        each reference strategy), ``strategies`` (per strategy: ``at`` checkpoint →
        ``{query, mean, sem}``, ``queries_to_reach`` / ``seeds_reaching`` per reference,
        timings) , ``plot_backend`` and ``files``.

    Raises:
        UnknownNameError: A space, benchmark or strategy name is unknown (raised before
            any run starts).
        ConfigError: Another setting is invalid.
    """
    strategies = [s.strip() for s in strategies if s.strip()]
    configs = dict(strategy_configs or {})
    for name, value in configs.items():
        if not isinstance(value, dict):
            raise ConfigError(f"The settings of strategy {name!r} must be a JSON object "
                              f"(e.g. {{\"{name}\": {{}}}}), got {value!r}.")
    validate_numbers(strategies, budget, seeds, workers, configs, workers_sim)
    # build every search once (no storage is touched): unknown names and bad configs
    # raise here, before any job starts
    probes = []
    cons = tuple(constraints or ())
    with tempfile.TemporaryDirectory(prefix="archsmith-bench-") as tmp:
        for s in strategies:
            probes.append(_make_search(
                _Job(space, benchmark, s, 0, budget, dict(configs.get(s, {})), workers_sim,
                     objective, direction, cons),
                tmp
            ))
    probe = probes[0]
    objs = probe.objectives
    multi = objs.multi
    mo_info: dict[str, Any] = {}
    if multi:
        from archsmith.report._bench_mo import table_tracker

        tracker = table_tracker(probe.evaluator, objs)
        if tracker is None:
            raise ConfigError(f"{benchmark}: no row of the table satisfies the constraints "
                              f"{list(cons)}; loosen them.")
        front = tracker.front
        mo_info = {"objectives": list(objs.names), "directions": list(objs.directions),
                   "constraints": list(cons), "true_front_size": len(front),
                   "reference_point": tracker.ref.tolist(), "true_hypervolume": tracker.hv_true}
    objective = ",".join(objs.names)
    direction = "max" if multi else probe.direction
    optimum_fn = getattr(probe.evaluator, "optimum", None)
    optimum = float(optimum_fn()) if callable(optimum_fn) else None
    if multi:
        optimum = 1.0  # the true front's (normalised) hypervolume
    jobs = [
        _Job(space, benchmark, s, k, budget, dict(configs.get(s, {})), workers_sim,
             objective, probe.config.direction, cons)
        for s in strategies for k in range(seeds)
    ]
    out = Path(out)
    from archsmith._fs import make_out_dir

    make_out_dir(out)
    started = _dt.datetime.now(_dt.UTC)
    t0 = time.perf_counter()
    results = _run_jobs(jobs, workers, progress)
    wall = time.perf_counter() - t0
    stats, refs, curves = _summarise(strategies, seeds, budget, direction, results, multi)
    write_results_csv(out / "results.csv", strategies, seeds, results, multi)

    from archsmith.report._plots import plot_curves

    backend = plot_curves(
        out / "curves.png",
        {s: (curves[s][0].tolist(), curves[s][1].tolist()) for s in strategies},
        optimum=optimum, direction=direction,
        title=f"{benchmark}: " + (f"hypervolume of {objective} / true front's"
                                   if multi else f"best-so-far {objective}")
        + f" ({seeds} seeds, mean ± s.e.)",
        ylabel="normalised hypervolume" if multi else f"best-so-far {objective}",
    )
    summary: dict[str, Any] = {
        "space": space, "benchmark": benchmark, "objective": objective,
        "direction": direction, "budget": budget, "seeds": seeds, "workers": workers,
        "strategy_configs": configs, "optimum": optimum, "references": refs,
        "strategies": stats, "wall_seconds": wall,
        **({"multi_objective": mo_info} if multi else {}),
        "date": started.isoformat(timespec="seconds"),
        "command": bench_command(space, benchmark, strategies, budget, seeds, workers, out,
                                 workers_sim, mo_info),
        "plot_backend": backend,
        "files": {f"{k}.{e}": str(out / f"{k}.{e}") for k, e in
                  (("results", "csv"), ("summary", "md"), ("summary", "json"),
                   ("curves", "png"))},
    }
    if multi:
        from archsmith.report._fronts import plot_fronts

        plot_fronts(out / "fronts.png", objs, front, {
            s: [final_points(results[s, k]) for k in range(seeds)] for s in strategies},
            title=f"{benchmark}: fronts found ({seeds} seeds) and the true front")
        summary["files"]["fronts.png"] = str(out / "fronts.png")
    if workers_sim:
        from archsmith.report._simtime import summarise_time, time_curve

        # against simulated time: the (first) objective's best so far, in its own units
        first, first_dir = objs.names[0], objs.directions[0]
        runs = {(j.strategy, j.seed): time_curve(results[j.strategy, j.seed].ends,
                                                 results[j.strategy, j.seed].values, first_dir)
                for j in jobs}
        summary["simulated"] = summarise_time(
            strategies, seeds, first_dir, workers_sim, runs, out,
            None if multi else optimum,
            title=f"{benchmark}: best-so-far {first} vs simulated time, {workers_sim} "
            f"async workers ({seeds} seeds)", ylabel=f"best-so-far {first}")
        summary["files"].update({"results_time.csv": str(out / "results_time.csv"),
                                 "curves_time.png": str(out / "curves_time.png")})
    from archsmith.report._bench_page import render_bench_page
    from archsmith.report._summary import render_summary

    summary["files"]["report.html"] = str(out / "report.html")
    (out / "summary.md").write_text(render_summary(summary))
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "report.html").write_text(render_bench_page(
        summary, curves,
        {s: [results[s, k].points for k in range(seeds)] for s in strategies} if multi else None,
        front if multi else None))
    return summary
