"""Wall-clock comparisons on real training: ``archsmith bench --data … --time-budget …``.

Each (strategy, scheduler, seed) is one ``archsmith search`` in its own process (one
torch thread; ``jobs`` of them at once), with ``--time-budget`` and a budget too large
to bind. Afterwards every result of a *fully trained* trial (top rung, or any trial
without a scheduler) is read from the run's store with the second it finished, counted
from the run's first trial; results after the time budget are left out. Other
programs' results (e.g. the plain-Optuna reference in ``benchmarks/``) join as extra
jobs that write a ``results_time.csv`` of their own.

Outputs in ``out``: ``results_time.csv`` (strategy, scheduler, seed, seconds,
best_so_far), ``summary_time.md`` (mean best at ¼, ½ and all of the budget ± s.e.,
paired 95 % intervals against a baseline, time to reach levels) and
``curves_time.png`` (mean best-so-far against seconds).
"""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from archsmith.report._stats import mean_sem, paired_difference

__all__ = ["WallclockJob", "read_results", "run_wallclock", "summarize_wallclock"]

FIELDS = ("strategy", "scheduler", "seed", "seconds", "best_so_far")


@dataclass
class WallclockJob:
    """One run: ``argv`` is executed; its results are read from ``folder``."""

    label: str
    scheduler: str
    seed: int
    argv: list[str]
    folder: Path
    #: ``"store"`` (an archsmith run folder) or ``"csv"`` (``folder/results_time.csv``).
    kind: str = "store"
    extra: dict[str, Any] = field(default_factory=dict)


def archsmith_job(data: str, space: str, strategy: str, scheduler: str, seed: int,
                  epochs: int, time_budget: float, out: Path, min_epochs: int = 1,
                  eta: int = 3, settings: dict[str, Any] | None = None,
                  label: str | None = None) -> WallclockJob:
    """The ``archsmith search`` of one (strategy, scheduler, seed).

    ``settings`` are further :class:`~archsmith.SearchConfig` keys (scalars), written to
    a ``--config`` file; ``label`` names the configuration in the results (default: the
    scheduler's name).
    """
    name = label or scheduler
    slug = "".join(c if c.isalnum() else "-" for c in f"{strategy}-{name}")
    folder = out / "runs" / f"{slug}-seed{seed}"
    argv = [sys.executable, "-m", "archsmith", "search", "--data", data, "--space", space,
            "--strategy", strategy, "--epochs", str(epochs), "--budget", "100000",
            "--time-budget", str(time_budget), "--seed", str(seed), "--threads", "1",
            "--no-export", "--out", str(folder)]
    if scheduler != "none":
        argv += ["--scheduler", scheduler, "--min-epochs", str(min_epochs), "--eta", str(eta)]
    if settings:
        toml = folder.parent / f"{folder.name}.toml"
        toml.parent.mkdir(parents=True, exist_ok=True)
        toml.write_text("".join(f"{k} = {_toml(v)}\n" for k, v in settings.items()))
        argv += ["--config", str(toml)]
    return WallclockJob(strategy, name, seed, argv, folder)


def _toml(value: Any) -> str:
    """A TOML value: JSON's scalars, and inline tables for dicts."""
    import json

    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def read_results(job: WallclockJob, epochs: int, time_budget: float) -> list[dict[str, Any]]:
    """``(seconds, best_so_far)`` rows of one finished job, fully trained trials only."""
    if job.kind == "csv":
        with open(job.folder / "results_time.csv", newline="") as f:
            rows = [r for r in csv.DictReader(f) if int(r["seed"]) == job.seed]
        points = [(float(r["seconds"]), float(r["best_so_far"])) for r in rows]
    else:
        from archsmith.store import Store, sqlite_url

        store = Store(sqlite_url(job.folder / "archsmith.db"))
        try:
            row = store.get_search("default")
            if row is None:
                return []
            trials = store.trials(row.id)
            if not trials:
                return []
            t0 = min(t.started_at for t in trials)
            from archsmith._objectives import Objectives

            objs = Objectives.parse(None, None, row.config.get("constraints") or [])
            if row.config.get("scheduler"):
                done = [(r.finished_at, r.metrics.get("val_acc")) for r in store.rungs(row.id)
                        if r.budget == epochs and r.state == "complete"
                        and objs.violation(r.metrics) == 0]
            else:  # feasible, fully trained, not a duplicate answered from storage
                done = [(t.finished_at or 0.0, t.metrics.get("val_acc")) for t in trials
                        if t.state == "complete" and t.cached_from is None
                        and objs.violation(t.metrics) == 0]
        finally:
            store.close()
        points = []
        best = float("-inf")
        for at, v in sorted((a, float(v)) for a, v in done if v is not None):
            best = max(best, v)
            points.append((at - t0, best))
    out, best = [], float("-inf")
    for s, v in sorted(points):
        if s > time_budget:
            break
        best = max(best, v)
        out.append({"strategy": job.label, "scheduler": job.scheduler, "seed": job.seed,
                    "seconds": round(s, 3), "best_so_far": best})
    return out


def _best_at(rows: list[dict[str, Any]], t: float) -> float:
    vals = [r["best_so_far"] for r in rows if r["seconds"] <= t]
    return float(vals[-1]) if vals else float("nan")


def _first_reach(rows: list[dict[str, Any]], level: float) -> float:
    hit = [r["seconds"] for r in rows if r["best_so_far"] >= level - 1e-9]
    return float(hit[0]) if hit else float("nan")


def _mean_curve(runs: Sequence[list[dict[str, Any]]], grid: np.ndarray) -> np.ndarray:
    """Mean over runs of the best so far at each second of ``grid`` (NaN before every
    run has a result)."""
    if not runs:
        return np.full(len(grid), np.nan)
    return np.mean([[_best_at(rows, float(t)) for t in grid] for rows in runs], axis=0)


def summarize_wallclock(rows: list[dict[str, Any]], time_budget: float,
                        baseline: str | None = None) -> dict[str, Any]:
    """Means at ¼, ½, 1 of the budget, paired intervals against ``baseline``, and for
    every run the second it reached the baseline's (and each run's own) final level.

    Against the baseline, each other configuration also gets the two tests of "reaches
    the baseline's final level in half the time": the second its mean curve (the mean
    over seeds of the best so far, on a 1-s grid) first reaches the baseline's mean at
    the full budget (``mean_curve_reach``), and the paired difference of its best at
    half the budget minus the baseline's best at the full budget (``half_vs_final``).
    """
    keys = sorted({(r["strategy"], r["scheduler"]) for r in rows},
                  key=lambda k: (k[0] != (baseline or "").split("|")[0], k))
    seeds = sorted({int(r["seed"]) for r in rows})
    points = {"25%": time_budget / 4, "50%": time_budget / 2, "100%": time_budget}
    runs = {(k, s): [r for r in rows if (r["strategy"], r["scheduler"]) == k
                     and int(r["seed"]) == s] for k in keys for s in seeds}
    at = {k: {p: np.array([_best_at(runs[(k, s)], t) for s in seeds])
              for p, t in points.items()} for k in keys}
    out: dict[str, Any] = {"seeds": seeds, "time_budget": time_budget, "points": points,
                           "configs": {}}
    base = next((k for k in keys if f"{k[0]}|{k[1]}" == baseline), None)
    for k in keys:
        name = f"{k[0]}|{k[1]}"
        entry: dict[str, Any] = {"mean": {}, "sem": {}, "vs_baseline": {}}
        for p in points:
            m, e = mean_sem(at[k][p][:, None])
            entry["mean"][p], entry["sem"][p] = float(m[0]), float(e[0])
            if base is not None and k != base:
                entry["vs_baseline"][p] = paired_difference(at[k][p], at[base][p])
        if base is not None:
            level = at[base]["100%"]
            entry["reach_baseline_final"] = [
                _first_reach(runs[(k, s)], float(level[i])) for i, s in enumerate(seeds)]
            if k != base:
                entry["half_vs_final"] = paired_difference(at[k]["50%"], level)
                grid = np.arange(1.0, float(np.floor(time_budget)) + 1.0)
                curve = _mean_curve([runs[(k, s)] for s in seeds], grid)
                hit = np.nonzero(curve >= float(np.mean(level)) - 1e-9)[0]
                entry["mean_curve_reach"] = float(grid[hit[0]]) if len(hit) else None
        out["configs"][name] = entry
    out["baseline"] = baseline
    return out


def render_wallclock(summary: dict[str, Any]) -> str:
    """``summary_time.md``: the table of :func:`summarize_wallclock`."""
    pts = list(summary["points"])
    secs = [f"{summary['points'][p]:.0f} s" for p in pts]
    lines = [f"# Best fully trained validation accuracy against wall-clock time "
             f"({len(summary['seeds'])} seeds: {summary['seeds']})", "",
             "| strategy | scheduler | " + " | ".join(secs) + " | reaches baseline's "
             "final level at (s, per seed) |",
             "|---|---|" + "---|" * len(pts) + "---|"]
    for name, e in summary["configs"].items():
        strat, sched = name.split("|")
        cells = [f"{e['mean'][p]:.2f} ± {e['sem'][p]:.2f}" for p in pts]
        reach = ", ".join("–" if np.isnan(x) else f"{x:.0f}"
                          for x in e.get("reach_baseline_final", []))
        lines.append(f"| {strat} | {sched} | " + " | ".join(cells) + f" | {reach} |")
    if summary.get("baseline"):
        lines += ["", f"Paired differences against {summary['baseline']} (mean, 95 % "
                  "interval by paired t over seeds; positive = better than the baseline):",
                  "", "| strategy | scheduler | " + " | ".join(secs) + " |",
                  "|---|---|" + "---|" * len(pts)]
        for name, e in summary["configs"].items():
            if not e["vs_baseline"]:
                continue
            strat, sched = name.split("|")
            cells = [_diff_cell(e["vs_baseline"][p]) for p in pts]
            lines.append(f"| {strat} | {sched} | " + " | ".join(cells) + " |")
        lines += _render_half(summary)
    return "\n".join(lines) + "\n"


def _render_half(summary: dict[str, Any]) -> list[str]:
    """The "baseline's final level in half the time" table of :func:`render_wallclock`."""
    budget = summary["time_budget"]
    base = summary["configs"].get(summary["baseline"])
    others = {n: e for n, e in summary["configs"].items() if "half_vs_final" in e}
    if base is None or not others:
        return []
    lines = ["", f"Reaching {summary['baseline']}'s final level (mean "
             f"{base['mean']['100%']:.2f} at {budget:.0f} s) in half the time: the second "
             "the mean curve (mean over seeds of the best so far) first reaches it, and "
             f"the paired difference of the best at {budget / 2:.0f} s minus the "
             f"baseline's at {budget:.0f} s (≥ 0: reached in half the time):", "",
             "| strategy | scheduler | mean curve reaches it at | "
             f"{budget / 2:.0f} s − baseline at {budget:.0f} s |", "|---|---|---|---|"]
    for name, e in others.items():
        strat, sched = name.split("|")
        at = e["mean_curve_reach"]
        reach = "never" if at is None else f"{at:.0f} s ({100 * at / budget:.0f} %)"
        lines.append(f"| {strat} | {sched} | {reach} | {_diff_cell(e['half_vs_final'])} |")
    return lines


def _diff_cell(d: dict[str, Any]) -> str:
    """A paired difference as a table cell: ``+0.12 [-0.03, +0.27]`` (``–``: none)."""
    lo, hi = d.get("low"), d.get("high")
    ci = f" [{lo:+.2f}, {hi:+.2f}]" if lo is not None and hi is not None else ""
    return "–" if d["diff"] is None else f"{d['diff']:+.2f}{ci}"


def run_jobs(jobs: Sequence[WallclockJob], parallel: int,
             progress: Callable[[str, int, int], None] | None = None) -> list[int]:
    """Runs the jobs' commands, ``parallel`` at a time; returns their exit codes."""
    pending = list(enumerate(jobs))
    running: dict[int, subprocess.Popen[bytes]] = {}
    codes = [0] * len(jobs)
    done = 0
    while pending or running:
        while pending and len(running) < parallel:
            i, job = pending.pop(0)
            job.folder.parent.mkdir(parents=True, exist_ok=True)
            log = open(job.folder.parent / f"{job.folder.name}.log", "wb")  # noqa: SIM115
            running[i] = subprocess.Popen(job.argv, stdout=log, stderr=subprocess.STDOUT)
        for i, proc in list(running.items()):
            if proc.poll() is not None:
                codes[i] = proc.returncode
                del running[i]
                done += 1
                if progress is not None:
                    progress(f"{jobs[i].label} {jobs[i].scheduler} seed {jobs[i].seed}",
                             done, len(jobs))
        time.sleep(0.2)
    return codes


def run_wallclock(jobs: Sequence[WallclockJob], out: Path, epochs: int, time_budget: float,
                  parallel: int = 1, baseline: str | None = None,
                  progress: Callable[[str, int, int], None] | None = None,
                  run: bool = True) -> dict[str, Any]:
    """Runs ``jobs`` (``run=False``: reads the runs already in their folders, e.g. of a
    measurement stopped early) and writes ``results_time.csv``, ``summary_time.md`` and
    ``curves_time.png`` to ``out``; returns the summary."""
    out.mkdir(parents=True, exist_ok=True)
    if not run:
        jobs = [j for j in jobs if j.folder.exists()]
    codes = run_jobs(jobs, parallel, progress) if run else [0] * len(jobs)
    rows: list[dict[str, Any]] = []
    for job, code in zip(jobs, codes, strict=True):
        if code != 0:
            print(f"warning: {job.label} {job.scheduler} seed {job.seed} exited with {code} "
                  f"(log: {job.folder.parent / (job.folder.name + '.log')})", file=sys.stderr)
        rows += read_results(job, epochs, time_budget)
    with open(out / "results_time.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        w.writerows({k: r[k] for k in FIELDS} for r in rows)
    summary = summarize_wallclock(rows, time_budget, baseline)
    (out / "summary_time.md").write_text(render_wallclock(summary))
    _plot(rows, summary, out / "curves_time.png", time_budget)
    return summary


def _plot(rows: list[dict[str, Any]], summary: dict[str, Any], path: Path,
          time_budget: float) -> None:
    from archsmith.report._plots import plot_curves

    grid = np.linspace(0, time_budget, 121)[1:]
    curves: dict[str, tuple[list[float], list[float]]] = {}
    for name in summary["configs"]:
        strat, sched = name.split("|")
        m = np.array([[_best_at([r for r in rows if r["strategy"] == strat
                                 and r["scheduler"] == sched and int(r["seed"]) == s], t)
                       for t in grid] for s in summary["seeds"]])
        mean, sem = mean_sem(m)
        curves[f"{strat} ({sched})"] = (mean.tolist(), sem.tolist())
    plot_curves(path, curves, title="best fully trained val_acc", xlabel="seconds",
                ylabel="best val_acc so far (%)", x=list(grid), y_from=0.25)
