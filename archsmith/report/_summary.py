"""Markdown rendering of a benchmark summary (``summary.md``)."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["render_summary"]

REFERENCES_HINT = "evolution, optuna:tpe"


def render_summary(summary: dict[str, Any]) -> str:
    """The markdown text of ``summary.md`` for a :func:`run_bench` summary dict."""
    s = summary
    stats: dict[str, dict[str, Any]] = s["strategies"]
    obj, budget = s["objective"], s["budget"]
    means = [v["mean"] for st in stats.values() for v in st["at"].values() if v["mean"]]
    dec = 2 if means and max(abs(m) for m in means) >= 10 else 4

    def f(x: float | None) -> str:
        return "—" if x is None else f"{x:.{dec}f}"

    verb = "maximised" if s["direction"] == "max" else "minimised"
    lines = [
        f"# Benchmark: {s['benchmark']} ({s['space']} space)",
        "",
        f"- Command: `{s['command']}`",
        f"- Strategy configs: `{json.dumps(s['strategy_configs'])}`"
        if s["strategy_configs"] else "- Strategy configs: defaults",
        f"- Date (UTC): {s['date']}; total wall time {s['wall_seconds']:.1f} s "
        f"with {s['workers']} worker(s)",
        f"- Objective: `{obj}` ({verb}); benchmark optimum: {f(s['optimum'])}",
        f"- {s['seeds']} seeds (0–{s['seeds'] - 1}) shared by all strategies; {budget} "
        "queries per run through the search driver (duplicate proposals and failed "
        "trials count as queries). `best_so_far` at query q = best objective among "
        "trials 0…q-1.",
        "",
        f"## Best-so-far {obj}: mean ± standard error over {s['seeds']} seeds",
        "",
    ]
    mo = s.get("multi_objective")
    if mo:
        dirs = ", ".join(f"{o} ({d})" for o, d in zip(mo["objectives"], mo["directions"],
                                                     strict=True))
        lines[lines.index(f"- Objective: `{obj}` ({verb}); benchmark optimum: "
                          f"{f(s['optimum'])}")] = (
            f"- Objectives: {dirs}"
            + (f"; constraints {', '.join(mo['constraints'])}" if mo["constraints"] else "")
            + f". Every curve is the **hypervolume** of the feasible trials so far divided "
            f"by the true front's ({mo['true_front_size']} points of the table; reference "
            f"point {[round(v, 4) for v in mo['reference_point']]} in higher-is-better "
            "orientation: the table's median of a maximised objective, its worst value of "
            "a minimised one), so 1.0 means the whole front was found. `fronts.png` draws "
            "each seed's final front.")
        lines[-2] = (f"## Normalised hypervolume: mean ± standard error over "
                     f"{s['seeds']} seeds")
    cps = next(iter(stats.values()))["at"]
    lines.append("| strategy | " + " | ".join(
        f"{k} (q={v['query']})" for k, v in cps.items()) + " |")
    lines.append("|---" * (len(cps) + 1) + "|")
    for name, st in stats.items():
        cells = [f"{f(v['mean'])} ± {f(v['sem'])}" for v in st["at"].values()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "## Queries to reach the reference levels", ""]
    refs: dict[str, float] = s["references"]
    if refs:
        lines += [
            "A reference level is a reference strategy's mean best-so-far at the full "
            "budget. *queries* = the first query at which the strategy's **mean curve** "
            f"(over seeds) reaches that level (`>{budget}` if it never does within the "
            "budget); *seeds* = how many seeds' own runs reach it within the budget.",
            "",
            "| strategy | " + " | ".join(
                f"{r} level {f(lvl)}: queries | seeds" for r, lvl in refs.items()) + " |",
            "|---" * (2 * len(refs) + 1) + "|",
        ]
        for name, st in stats.items():
            cells = []
            for r in refs:
                q = st["queries_to_reach"][r]
                cells += [f">{budget}" if q is None else str(q),
                          f"{st['seeds_reaching'][r]}/{s['seeds']}"]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines += _paired_table(stats, refs, budget, f)
    else:
        hint = "nsga2, optuna:nsga2, optuna:tpe" if mo else REFERENCES_HINT
        lines.append("No reference strategy (" + hint + ") was run; add "
                     "one to the strategies to get this table.")
    lines += [
        "", "## Wall time (per run, mean over seeds)", "",
        "*strategy s/query* is the time spent in the strategy's `ask` and `tell` "
        "(its own overhead); *s/query* includes the driver, storage and the "
        "benchmark lookup.",
        "",
        "| strategy | s/run | s/query | strategy s/query | failed/run | duplicates/run |",
        "|---|---|---|---|---|---|",
    ]
    for name, st in stats.items():
        lines.append(
            f"| {name} | {st['seconds_per_run']:.2f} | {st['seconds_per_query']:.4f} | "
            f"{st['strategy_seconds_per_query']:.4f} | {st['failed_per_run']:.1f} | "
            f"{st['duplicates_per_run']:.1f} |"
        )
    sim = s.get("simulated")
    if sim:
        lines += [
            "", f"## Best-so-far {obj} against simulated wall-clock "
            f"({sim['workers_sim']} asynchronous workers)", "",
            "Each trial takes the benchmark's own training time on one of "
            f"{sim['workers_sim']} simulated workers (executor `simulated`); best-so-far at "
            "time t is the best among the trials finished by t (mean ± s.e. over seeds; "
            "`results_time.csv`, `curves_time.png`).",
            "",
            "| strategy | " + " | ".join(
                f"{k} ({v['seconds'] / 3600:.2f} h)"
                for k, v in next(iter(sim["at"].values())).items())
            + " | mean end (h) |",
            "|---" * (len(next(iter(sim["at"].values()))) + 2) + "|",
        ]
        for name, cps_t in sim["at"].items():
            cells = [f"{f(v['mean'])} ± {f(v['sem'])}" for v in cps_t.values()]
            lines.append(f"| {name} | " + " | ".join(cells)
                         + f" | {sim['mean_end_seconds'][name] / 3600:.2f} |")
    engine = "matplotlib" if s["plot_backend"] == "matplotlib" else \
        "Pillow (built-in renderer; install the `plot` extra for matplotlib)"
    lines += ["", f"`curves.png` drawn with {engine}; `results.csv` holds every curve.", ""]
    return "\n".join(lines)


def _paired_table(stats: dict[str, dict[str, Any]], refs: dict[str, float], budget: int,
                  f: Any) -> list[str]:
    """The full-budget comparison with each reference, paired by seed."""
    def signed(x: float | None) -> str:
        return "—" if x is None else ("+" if x >= 0 else "") + f(x)

    lines = [
        "", f"## Against the references at query {budget}, seed by seed", "",
        "*difference* = mean over seeds of (strategy − reference) best-so-far at the full "
        "budget, positive when the strategy is better, with its 95 % confidence interval "
        "(paired t); the difference is resolved only when the interval excludes 0. "
        "*ahead / level / behind* count the seeds.",
        "",
        "| strategy | " + " | ".join(
            f"vs {r}: difference [95 % CI] | ahead / level / behind" for r in refs) + " |",
        "|---" * (2 * len(refs) + 1) + "|",
    ]
    for name, st in stats.items():
        cells = []
        for r in refs:
            d = st.get("vs_reference", {}).get(r)
            if d is None:
                cells += ["—", "—"]
                continue
            cells += [f"{signed(d['diff'])} [{signed(d['low'])}, {signed(d['high'])}]",
                      f"{d['ahead']} / {d['level']} / {d['behind']}"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines
