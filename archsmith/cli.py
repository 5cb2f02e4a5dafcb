"""The ``archsmith`` command line (Typer + Rich).

Every user mistake ends with a one-paragraph message and exit code 2, never a traceback.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from archsmith._cli_bench import bench, critic_eval_cmd
from archsmith._cli_compress import SUMMARY, compress, report_students
from archsmith._cli_view import console, err_console, fail, fmt, run_search
from archsmith._errors_text import final_label
from archsmith._predict import predict_command
from archsmith._stored import load_stored
from archsmith.errors import ArchsmithError

app = typer.Typer(
    name="archsmith",
    help="Neural architecture search that runs on a laptop CPU.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
F = TypeVar("F", bound=Callable[..., Any])


#: ``--help`` epilog of ``search``: the settings of real training.
TRAINING_HELP = (
    "Training settings (real data; the [training] table of a --config TOML file): "
    "batch_size (64), lr (0.001), weight_decay (0), device ('auto': CUDA when available), "
    "num_threads (1 torch thread per trial: small networks gain nothing from more and slow "
    "down many times on a shared machine; use --workers for parallelism). Exit codes: 0 "
    "done, 1 the search ended with no completed trial, 2 a usage or input error, 130 "
    "interrupted (resume with `archsmith resume OUT`)."
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        console.print(f"archsmith {version('archsmith')}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """Neural architecture search that runs on a laptop CPU."""


def _user_errors(fn: F) -> F:
    """Turns :class:`ArchsmithError` into a red message and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ArchsmithError as e:
            raise fail(str(e)) from None

    return wrapper  # type: ignore[return-value]


def _d(text: str, default: str) -> str:
    """Help text with its default (flags default to None so that --config can set them)."""
    return f"{text}  [default: {default}]"


def _default(key: str) -> str:
    """The default of a :class:`SearchConfig` field, for ``--help``."""
    from archsmith._config import SearchConfig

    return str(SearchConfig.__dataclass_fields__[key].default)


@app.command(epilog=TRAINING_HELP)
@_user_errors
def search(
    space: Annotated[str | None, typer.Option(help=_d("Search space (see `archsmith spaces`).", "cnn, or the benchmark's space"))] = None,
    data: Annotated[str | None, typer.Option(
        help=_d("Dataset name or file (.npz, .csv[:target], image folder).", "digits, unless --benchmark or --evaluator"))] = None,
    benchmark: Annotated[str | None, typer.Option(help="Tabular benchmark, e.g. nb201/cifar10.")] = None,
    evaluator: Annotated[str | None, typer.Option(help="User evaluator file.py:function.")] = None,
    strategy: Annotated[str | None, typer.Option(help=_d("Strategy (see `archsmith strategies`).", _default("strategy")))] = None,
    budget: Annotated[int | None, typer.Option(help=_d(
        "Number of trials; with --scheduler, full trainings (--budget 30 --epochs 20 = 600 epochs across all rungs).", _default("budget")))] = None,
    epochs: Annotated[int | None, typer.Option(help=_d("Training epochs per trial (with --scheduler: of the top rung).", "5"))] = None,
    scheduler: Annotated[str | None, typer.Option(help=_d(
        "Multi-fidelity scheduler: none, sh, hyperband, asha or median (stop bad trials early; promoted ones continue from their checkpoint).", "none"))] = None,
    min_epochs: Annotated[int | None, typer.Option(help=_d("Epochs of the lowest rung (with --scheduler).", _default("min_epochs")))] = None,
    eta: Annotated[int | None, typer.Option(help=_d("Reduction factor: each rung keeps the best 1/eta (with --scheduler).", _default("eta")))] = None,
    inherit: Annotated[bool | None, typer.Option(
        "--inherit/--no-inherit", help=_d("Start each trial from the weights of the best stored trial it can be transformed from (Net2Net/N2N moves; mlp and cnn spaces, real training), training only --inherit-epochs.", "--no-inherit"))] = None,
    inherit_epochs: Annotated[int | None, typer.Option(help=_d("Epochs of an inherited trial (with --inherit).", "a quarter of --epochs"))] = None,
    inherit_lr: Annotated[float | None, typer.Option(help=_d("Learning rate of an inherited trial that computes its parent's function, as a fraction of the training's (with --inherit; others train at --inherit-lr-changing).", "0.3"))] = None,
    inherit_lr_changing: Annotated[float | None, typer.Option(help=_d("Learning rate of an inherited trial whose function changed (a shrink, a new activation or pooling), as a fraction of the training's (with --inherit).", "1.0"))] = None,
    seed: Annotated[int | None, typer.Option(help=_d("Random seed.", _default("seed")))] = None,
    objective: Annotated[str | None, typer.Option(help=_d("Metric to optimise, or up to 4 comma-separated ones for a multi-objective search (e.g. val_acc,latency_ms; use --strategy nsga2 or random).", "val_acc"))] = None,
    direction: Annotated[str | None, typer.Option(
        help=_d("max or min, one per objective (e.g. max,min).", "min for loss/error/latency/size names, else max"))] = None,
    constraint: Annotated[list[str] | None, typer.Option(
        help="A bound on any metric, METRIC<=NUMBER or METRIC>=NUMBER (repeatable), e.g. --constraint \"params<=200000\". Violating trials are stored as infeasible and never reported as best; params/flops are checked before training.")] = None,
    trial_timeout: Annotated[float | None, typer.Option(help=_d("Seconds per trial.", "none"))] = None,
    out: Annotated[Path | None, typer.Option(help=_d("Output folder.", "runs/SPACE-DATA-TIME"))] = None,
    config: Annotated[Path | None, typer.Option(help="TOML file of settings (SearchConfig keys; flags override it).")] = None,
    storage: Annotated[str | None, typer.Option(help=_d("SQLAlchemy URL.", "SQLite OUT/archsmith.db"))] = None,
    name: Annotated[str | None, typer.Option(help=_d("Search name inside the storage.", _default("name")))] = None,
    final_epochs: Annotated[int | None, typer.Option(help=_d("Epochs of the final retraining.", "--epochs"))] = None,
    export: Annotated[bool | None, typer.Option(
        "--export/--no-export", help=_d("Retrain the best on train+validation, test and export it.", "--export"))] = None,
    workers: Annotated[int | None, typer.Option(help=_d("Trials evaluated at once.", _default("workers")))] = None,
    executor: Annotated[str | None, typer.Option(
        help=_d("inline, process, ray or simulated (tabular benchmarks, simulated time).", "inline for 1 worker, else process"))] = None,
    threads: Annotated[int | None, typer.Option(
        help=_d("Torch CPU threads per trial (training.num_threads).", "1"))] = None,
    device: Annotated[str | None, typer.Option(
        help=_d("auto, cpu, cuda or cuda:N (training.device).", "auto"))] = None,
    max_retries: Annotated[int | None, typer.Option(help=_d("Re-runs of a failed trial.", _default("max_retries")))] = None,
    time_budget: Annotated[float | None, typer.Option(help=_d(
        "Seconds after which no new trial starts (then the best is exported).",
        "none"))] = None,
    fail_fast: Annotated[int | None, typer.Option(
        help=_d("Stop when the first N trials all fail with the same error (0: never).", _default("fail_fast")))] = None,
    ray_address: Annotated[str | None, typer.Option(help="Existing Ray cluster.")] = None,
) -> None:
    """Search architectures. With no options, runs the demo (a CNN search on digits)."""
    from archsmith._config import SearchConfig
    from archsmith.search import Search

    flags = {
        "space": space, "data": data, "benchmark": benchmark, "evaluator": evaluator,
        "strategy": strategy, "budget": budget, "epochs": epochs, "seed": seed,
        "objective": objective, "direction": direction, "trial_timeout": trial_timeout,
        "name": name, "final_epochs": final_epochs, "export": export, "workers": workers,
        "executor": executor, "max_retries": max_retries, "ray_address": ray_address,
        "fail_fast": fail_fast, "time_budget": time_budget,
        "scheduler": None if scheduler in (None, "none") else scheduler,
        "min_epochs": min_epochs, "eta": eta, "constraints": constraint or None,
        "inherit": inherit, "inherit_epochs": inherit_epochs, "inherit_lr": inherit_lr,
        "inherit_lr_changing": inherit_lr_changing,
    }
    training = {"num_threads": threads, "device": device}
    settings: dict[str, Any] = SearchConfig.from_toml(config) if config else {}
    demo = config is None and all(v is None for v in (*flags.values(), *training.values()))
    settings.update({k: v for k, v in flags.items() if v is not None})
    if any(v is not None for v in training.values()):
        base = settings.get("training")
        settings["training"] = {**(base if isinstance(base, dict) else {}),
                                **{k: v for k, v in training.items() if v is not None}}
    if demo:
        settings.update(DEMO)
        console.print("[bold]archsmith demo[/]: a CNN search on the digits dataset "
                      "(scikit-learn's 8×8 handwritten digits), regularized evolution, "
                      f"{DEMO['budget']} trials of {DEMO['epochs']} epochs.")
    cfg = SearchConfig.from_dict(settings, where="the search settings")
    if out is None:
        src = (cfg.benchmark or cfg.data or Path(str(cfg.evaluator)).stem).replace("/", "-")
        src = Path(src).stem if cfg.data and "/" in str(cfg.data) else src
        out = Path("runs") / f"{cfg.space}-{src}-{time.strftime('%Y%m%d-%H%M%S')}"
    s = Search(cfg, out, storage=storage)
    console.print(f"output: {out}")
    run_search(s)


#: Settings of the demo search (``archsmith search`` with no options).
DEMO: dict[str, Any] = {"space": "cnn", "data": "digits", "strategy": "evolution",
                        "budget": 20, "epochs": 4,
                        "strategy_config": {"population_size": 8, "sample_size": 3}}


@app.command()
@_user_errors
def resume(
    out: Annotated[Path, typer.Argument(help="Output folder of the search.")],
    budget: Annotated[int | None, typer.Option(help="New (larger) budget.")] = None,
    storage: Annotated[str | None, typer.Option(help="SQLAlchemy URL if moved.")] = None,
    workers: Annotated[int | None, typer.Option(help="Trials evaluated at once.")] = None,
    executor: Annotated[str | None, typer.Option(
        help="inline, process, ray or simulated (tabular benchmarks, simulated time).")] = None,
    time_budget: Annotated[float | None, typer.Option(
        help="Seconds after which no new trial starts in this run.")] = None,
) -> None:
    """Continue a stopped or killed search to its budget."""
    from archsmith.search import Search

    s = Search.resume(out, budget=budget, storage=storage, workers=workers, executor=executor,
                      time_budget=time_budget)
    console.print(f"resuming {out}")
    run_search(s)
    if s.config.teacher and (s.out / SUMMARY).is_file():  # a compress run
        report_students(s)


def _print_searches(searches: list[Any]) -> None:
    table = Table(title="searches in this storage")
    for col in ("name", "status", "space", "strategy", "trials", "budget"):
        table.add_column(col)
    for item in searches:
        s, n = item if isinstance(item, tuple) else (item, None)
        table.add_row(s.name, s.status, str(s.config.get("space")), str(s.config.get("strategy")),
                      "" if n is None else str(n), str(s.config.get("budget")))
    console.print(table)


@app.command()
@_user_errors
def show(
    out: Annotated[str, typer.Argument(help="Output folder of the search, or a storage URL.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    top: Annotated[int, typer.Option(help="Rows of the leaderboard.")] = 20,
    name: Annotated[str | None, typer.Option(help="Search name (storage with several).")] = None,
    wide: Annotated[bool, typer.Option(
        "--wide", help="Every decision of each architecture and every cost metric.")] = False,
    as_html: Annotated[bool, typer.Option(
        "--html", help="Write the report page (OUT/report.html) and open it in a browser.")] = False,
) -> None:
    """Leaderboard of a search (works while it runs); lists the searches of a storage."""
    if as_html:
        _open_report(out, None, name)
        return
    cfg, trials, best, searches = load_stored(out, name)
    if not cfg:  # a storage URL holding several (or no) searches
        if as_json:
            sys.stdout.write(json.dumps({"searches": [
                {"name": s.name, "status": s.status, "config": s.config}
                for s in (x[0] if isinstance(x, tuple) else x for x in searches)]},
                indent=2, default=str) + "\n")
        else:
            _print_searches(searches)
        return
    from archsmith._objectives import Objectives, front_of

    objs = Objectives.parse(cfg.get("objective"), cfg.get("direction"),
                            cfg.get("constraints") or [])
    front, knee = front_of(objs, [(t["number"], t["state"], t["metrics"]) for t in trials
                                  if t.get("cached_from") is None])
    if as_json:
        keep: tuple[str, ...] = ("number", "state", "hash", "arch", "metrics", "error", "cost",
                                 "cached_from")
        if cfg.get("scheduler"):  # the budget each trial reached and its rung results
            keep = (*keep, "budget", "rungs")
        if cfg.get("inherit"):  # each trial's parent and moves (None: from scratch)
            keep = (*keep, "inherited")
        payload: dict[str, Any] = {
            "config": cfg, "trials": [{k: t[k] for k in keep} for t in trials],
                   "best": best}
        if objs.multi:
            payload["pareto"], payload["knee"] = front, knee
        if objs.constraints:
            payload["infeasible"] = [t["number"] for t in trials if _infeasible(objs, t)]
        sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")
        return
    obj = objs.primary
    sign = -1.0 if objs.directions[0] == "min" else 1.0
    done = [t for t in trials if t["state"] == "complete" and obj in t["metrics"]
            and not _infeasible(objs, t)]
    if objs.multi:  # the leaderboard is the Pareto front
        done = [t for t in done if t["number"] in front]
    # under a scheduler, fully trained trials rank first (then by the budget reached)
    done.sort(key=lambda t: (-(t.get("budget") or 0) if cfg.get("scheduler") else 0,
                             -sign * t["metrics"][obj], t["number"]))
    # the test split is for the final best only: never a column to pick trials by
    shown = ("params", "flops", "latency_ms") if wide else ("params",)
    shown = (*objs.names[1:], *(c.metric for c in objs.constraints), *shown)
    extra = list(dict.fromkeys(k for k in shown if k != obj
                               and any(k in t["metrics"] for t in done)))
    n_failed = sum(t["state"] == "failed" and not _infeasible(objs, t) for t in trials)
    title = f"{out} — {cfg['status']} — {len(trials)}/{cfg.get('budget', '?')} trials "
    if cfg.get("scheduler"):
        trained = sum(r["trained"] for t in trials for r in t.get("rungs", []))
        title = (f"{out} — {cfg['status']} — {cfg['scheduler']}: {len(trials)} trials, "
                 f"{trained / cfg['epochs']:.3g}/{cfg['budget']} full trainings ")
    n_bad = sum(_infeasible(objs, t) for t in trials)
    title += f"({n_failed} failed" + (f", {n_bad} infeasible)" if objs.constraints else ")")
    if objs.multi:
        title += f"\nPareto front of {objs.describe()}: {len(front)} trials, knee = trial {knee}"
    table = Table(title=title)
    table.add_column("rank", justify="right")
    table.add_column("trial", justify="right")
    if cfg.get("scheduler"):
        table.add_column("epochs", justify="right")
    table.add_column(obj, justify="right", style="bold")
    for k in extra:
        table.add_column(k, justify="right")
    table.add_column("architecture", overflow="fold", ratio=1)
    describe = _arch_describer(cfg, wide)
    for rank, t in enumerate(done[:top], 1):
        table.add_row(str(rank) + (" knee" if objs.multi and t["number"] == knee else ""),
                      str(t["number"]),
                      *([str(t.get("budget"))] if cfg.get("scheduler") else []),
                      fmt(t["metrics"][obj]),
                      *(fmt(t["metrics"].get(k, "")) for k in extra),
                      describe(t["arch"]))
    if wide:
        console.width = max(console.width, 200)
    console.print(table)
    if cfg["status"].startswith("stopped"):
        console.print(f"stopped before its budget; continue it with: archsmith resume {out}")
    failed = [t for t in trials if t["state"] == "failed" and not _infeasible(objs, t)]
    for t in failed[:5]:
        console.print(f"[red]failed[/] trial {t['number']}: {t['error']}")
    if best and "final" in best:
        console.print(f"best {final_label(best)}, scored once on the test split: "
                      + ", ".join(f"{k}={fmt(v)}" for k, v in best["final"].items()))
    if searches:
        _print_searches(searches)


@app.command()
@_user_errors
def report(
    out: Annotated[str, typer.Argument(help="Output folder of the search, or a storage URL.")],
    dest: Annotated[Path | None, typer.Option(
        "--out", help="HTML file to write (default OUT/report.html).")] = None,
    name: Annotated[str | None, typer.Option(help="Search name (storage with several).")] = None,
    open_page: Annotated[bool, typer.Option("--open", help="Open it in a browser.")] = False,
) -> None:
    """Write one self-contained HTML page of a search: progress, learning curves, decisions,
    Pareto front, trial table, the selected architecture (no network needed to view it)."""
    if open_page:
        _open_report(out, dest, name)
        return
    from archsmith.report._page import write_report

    path = write_report(out, dest, name)
    console.print(f"report: {path}  ({path.stat().st_size / 1e6:.1f} MB, self-contained)")


def _open_report(out: str, dest: Path | None, name: str | None) -> None:
    import webbrowser

    from archsmith.report._page import write_report

    if "://" in out and dest is None:
        raise ArchsmithError("Give --out FILE.html for a storage URL.")
    path = write_report(out, dest, name)
    console.print(f"report: {path}")
    try:
        opened = webbrowser.open(path.resolve().as_uri())
    except Exception:  # no browser here (a server): the path is printed above
        opened = False
    if not opened:
        console.print("(no browser found here: open the file above in one)")


def _infeasible(objs: Any, trial: dict[str, Any]) -> bool:
    """Whether a stored trial violates a constraint (trained, or rejected before)."""
    return bool(objs.constraints) and bool(trial["metrics"]) and objs.violation(
        trial["metrics"], partial=trial["state"] != "complete") > 0


def _arch_describer(cfg: dict[str, Any], wide: bool = False) -> Callable[[dict[str, Any]], str]:
    """Architecture text: the space's compact form (its full summary when ``wide``)."""

    def plain(arch: dict[str, Any]) -> str:
        return " ".join(f"{k}={v}" for k, v in arch["decisions"].items())

    try:
        from archsmith.space import create_space

        space = create_space(cfg["space"], **(cfg.get("space_config") or {}))
    except Exception:  # custom or changed spaces: fall back to the stored values
        return plain

    def rich(arch: dict[str, Any]) -> str:
        try:
            a = space.from_dict(arch)
            return space.summary(a) if wide else space.compact(a)
        except Exception:
            return plain(arch)

    return rich


@app.command("export")
@_user_errors
def export_cmd(
    out: Annotated[Path, typer.Argument(help="Output folder of a finished search.")],
    format: Annotated[str, typer.Option("--format", help="onnx or torchscript.")] = "onnx",
    trial: Annotated[int | None, typer.Option(
        help="Retrain this trial like the best (train+validation, scored once on the test "
        "split) and export it to OUT/trial-N/.")] = None,
) -> None:
    """Export the best trained network (or any trial's) as ONNX or TorchScript."""
    from archsmith._export import export

    folder = out
    if trial is not None:
        from archsmith.search import Search

        s = Search.resume(out)
        with console.status(f"retraining trial {trial}"):
            info = s.export_trial(trial)
        for key in ("final_error", "save_error"):
            if key in info:
                raise ArchsmithError(f"Exporting trial {trial} failed: {info[key]}")
        if "final" in info:
            console.print(f"trial {trial} {final_label(info)}: " + ", ".join(
                f"{k}={fmt(v)}" for k, v in info["final"].items()))
        folder = out / f"trial-{trial}"
    path = export(folder, format)
    console.print(f"wrote {path}")


app.command("predict")(_user_errors(predict_command))
app.command("compress")(_user_errors(compress))


app.command()(_user_errors(bench))
app.command("critic-eval")(_user_errors(critic_eval_cmd))


def _listing(title: str, names: list[str], helps: Callable[[str], str]) -> None:
    table = Table(title=title)
    table.add_column("name", style="bold")
    table.add_column("description")
    for n in names:
        table.add_row(n, Text(helps(n)))
    console.print(table)


@app.command()
def spaces() -> None:
    """List the search spaces."""
    from archsmith.space import SPACES, space_names

    _listing("search spaces", space_names(), SPACES.help)


@app.command()
def strategies() -> None:
    """List the search strategies."""
    from archsmith.strategies import STRATEGIES, strategy_names

    _listing("strategies", strategy_names(), STRATEGIES.help)


@app.command()
def datasets() -> None:
    """List the built-in datasets and tabular benchmarks."""
    from archsmith.evaluators._benchmark import BENCHMARKS, benchmark_names
    from archsmith.evaluators._data import DATASETS, dataset_names

    _listing("datasets (or a .npz / .csv[:target] file, or an image folder)",
             dataset_names(), DATASETS.help)
    _listing("tabular benchmarks (--benchmark)", benchmark_names(), BENCHMARKS.help)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except ArchsmithError as e:  # raised outside a command body
        err_console.print(Panel(Text(str(e)), title="archsmith: error", border_style="red"))
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
