"""What the ``archsmith`` command line prints: consoles, the progress bar, summaries.

Kept apart from :mod:`archsmith.cli` (the commands and their options) so each stays short.
"""

from __future__ import annotations

import signal
import time
from typing import Any

import typer
from rich.console import Console
from rich.panel import Panel
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from archsmith._errors_text import final_label
from archsmith.evaluators._base import TrainsFinal

__all__ = ["bench_progress", "console", "err_console", "fail", "fmt", "print_summary", "run_search"]

console = Console()
err_console = Console(stderr=True)


def fail(message: str) -> typer.Exit:
    """Prints ``message`` in a red panel on stderr; returns the exit (code 2) to raise."""
    err_console.print(Panel(Text(message), title="archsmith: error", border_style="red",
                            expand=False))
    return typer.Exit(code=2)


def fmt(v: Any) -> str:
    """A metric value for the terminal.

    Example:
        >>> fmt(0.812345), fmt(123456.0), fmt(3)
        ('0.8123', '1.235e+05', '3')
    """
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e5 else f"{v:.3e}"
    return str(v)


class _ProgressView:
    """Rich progress bar fed by the search's progress events."""

    def __init__(self, budget: int, objective: str, verbose: bool = True,
                 retrains: bool = True, time_budget: float | None = None) -> None:
        self.time_budget = time_budget
        self.t0 = time.perf_counter()
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("best {task.fields[best]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
        )
        self.task = self.progress.add_task("searching", total=budget, best="–")
        self.objective = objective
        self.verbose = verbose
        self.retrains = retrains
        self.last_best: Any = None

    def __call__(self, ev: dict[str, Any]) -> None:
        p = self.progress
        best = "–" if ev.get("best") is None else fmt(ev["best"])
        if ev["event"] == "start":  # the store is open and the search is this driver's
            self.t0 = time.perf_counter()
            p.start()
            p.update(self.task, completed=ev["done"], best=best)
            kept = ev.get("kept", ev["done"])
            if kept:
                p.console.print(f"resuming: {kept} finished trial(s) kept"
                                + (f", {len(ev['rerun'])} interrupted trial(s) re-run"
                                   if ev["rerun"] else ""))
            if not self.verbose:
                p.console.print("printing the trials that improve the best and the failed "
                                "ones; every trial is stored (archsmith show lists them)")
        elif ev["event"] == "trial":
            rec = ev["record"]
            improved = ev.get("best") is not None and ev["best"] != self.last_best
            self.last_best = ev.get("best")
            if rec.state == "complete" and not (self.verbose or improved):
                pass
            elif rec.state != "failed" and ev.get("error") is None:
                val = fmt(rec.metrics.get(self.objective))
                note = " (duplicate: answered from storage)" if ev["cached"] else ""
                at = (f" at {ev['rung_budget']} epochs (rung {ev['rung']})"
                      if "rung" in ev else "")
                p.console.print(f"trial {rec.number:>3}  [green]complete[/] "
                                f"{self.objective}={val}{at}{note}")
            else:
                at = f" at {ev['rung_budget']} epochs" if "rung" in ev else ""
                p.console.print(f"trial {rec.number:>3}  [red]failed[/]{at}   {ev['error']}")
            p.update(self.task, completed=ev["done"], best=best)
            desc = []
            if "rungs" in ev:  # multi-fidelity: results per rung, lowest first
                desc.append("rungs " + "/".join(map(str, ev["rungs"])))
            if self.time_budget is not None:
                left = self.time_budget - (time.perf_counter() - self.t0)
                desc.append(f"{max(left, 0):.0f} s left" if left > 0 else "time's up")
            if desc:
                p.update(self.task, description=", ".join(desc))
        elif ev["event"] == "final":
            p.update(self.task, description="retraining best" if self.retrains else "finishing")


def run_search(search: Any) -> None:
    """Runs a search with a progress bar; SIGTERM and Ctrl-C stop it cleanly."""
    cfg = search.config
    view = _ProgressView(cfg.budget, search.objective, verbose=cfg.source == "data",
                         retrains=cfg.export and isinstance(search.evaluator, TrainsFinal),
                         time_budget=cfg.time_budget)

    def on_term(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, on_term)
    t0 = time.perf_counter()
    try:
        try:  # the bar starts with the search's "start" event, after storage is open
            summary = search.run(progress=view)
        finally:
            view.progress.stop()
    except KeyboardInterrupt:
        err_console.print(
            f"[yellow]Stopped.[/] Every finished trial is stored. Continue with:\n"
            f"  archsmith resume {search.out}"
        )
        raise typer.Exit(code=130) from None
    finally:
        signal.signal(signal.SIGTERM, old)
    print_summary(summary, time.perf_counter() - t0)
    if summary.get("time_budget_reached"):
        console.print(f"time budget of {search.config.time_budget:g} s reached; "
                      f"`archsmith resume {search.out}` continues towards "
                      f"{search.config.budget} "
                      + ("full trainings" if search.config.scheduler else "trials"))
    if search.executor.name == "simulated":
        from archsmith.executors import SimulatedClock

        ex = search.executor
        now = float(ex.now) if isinstance(ex, SimulatedClock) else 0.0
        console.print(f"simulated wall-clock on {search.executor.workers} workers: "
                      f"{now:,.0f} s ({now / 3600:.2f} h)")
    if summary.get("error"):
        err_console.print(Panel(Text(f"The search ended without a completed trial: "
                                     f"{summary['error']}"),
                                title="archsmith: search failed", border_style="red",
                                expand=False))
        raise typer.Exit(code=1)


def print_summary(summary: dict[str, Any], seconds: float) -> None:
    console.print(
        f"\n[bold]{summary['trials']}[/] trials ({summary['complete']} complete, "
        f"{summary['failed']} failed) in {seconds:.1f} s — status: {summary['status']}"
    )
    best = summary.get("best")
    if best:
        objs = [o for o in str(best["objective"]).split(",") if o]
        shown = "  ".join(f"{o}={fmt(best['metrics'].get(o))}" for o in objs)
        if "pareto" in summary:
            console.print(f"Pareto front: {len(summary['pareto'])} trials "
                          f"({', '.join(map(str, summary['pareto'][:12]))}"
                          f"{' …' if len(summary['pareto']) > 12 else ''}); "
                          "`archsmith export OUT --trial N` exports any of them")
            console.print(f"knee (exported as best): trial {best['number']}  {shown}")
        else:
            console.print(f"best: trial {best['number']}  {shown}")
        console.print(f"      {' '.join(f'{k}={v}' for k, v in best['arch']['decisions'].items())}")
        if "final" in best:
            fm = best["final"]
            console.print(
                f"{final_label(best)}: "
                + ", ".join(f"{k}={fmt(v)}" for k, v in fm.items())
            )
        if "final_error" in best:
            console.print(f"[red]final retraining failed:[/] {best['final_error']}")
        if best.get("save_error"):
            console.print(f"[red]saving the best network failed:[/] {best['save_error']}")
        if best.get("onnx_error"):
            console.print(f"[yellow]ONNX export failed[/] (weights.pt is saved; "
                          f"try `archsmith export --format torchscript`): {best['onnx_error']}")
    out = summary["out"]
    console.print(f"results: {out}  (archsmith show {out})")
    if best and "weights.pt" in best.get("files", []):
        console.print(f"model:   {out}/best/  (python -c \"import archsmith; "
                      f"print(archsmith.load('{out}'))\")")


def bench_progress() -> Progress:
    """The progress bar of ``archsmith bench`` (queries of all runs, elapsed, ETA)."""
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                    MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                    console=console)
