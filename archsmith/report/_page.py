"""The report page: one self-contained HTML file of a search (``archsmith report``).

Views: best-so-far against trials and wall-clock time (with several objectives the
hypervolume too), learning curves of the top trials (pruned and failed ones marked),
parallel coordinates of the decisions coloured by the objective with a top-N % filter,
the Pareto front (hover shows the architecture, a click selects the trial), a sortable,
filterable trial table and a drawing of the selected trial's graph view.

Everything the page needs is inside the file: Plotly (``plotly.js``, MIT licence, read
from the installed ``plotly`` package when the page is written — nothing is fetched when
it is opened), the page's own script and styles, and the data as JSON. Curves are
downsampled to at most :data:`CURVE_POINTS` points and drawn for the top
:data:`TOP_CURVES` trials, the table is paginated, dense scatter plots use WebGL: the
page stays responsive at thousands of trials (load time measured in
``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np

from archsmith.errors import ConfigError
from archsmith.report._stats import num

__all__ = ["CURVE_POINTS", "TOP_CURVES", "page_data", "render_page", "write_report"]

#: Most points drawn per learning curve.
CURVE_POINTS = 30
#: Learning curves drawn: the best trials (by the first objective) …
TOP_CURVES = 20
#: … plus this many of the stopped (pruned) and failed ones.
OTHER_CURVES = 10
_ASSETS = Path(__file__).with_name("assets")


def _downsample(curve: list[dict[str, float]], metric: str) -> list[list[float]]:
    """``[[epoch, value], …]`` of at most :data:`CURVE_POINTS` evenly spaced entries
    (the last one always kept; non-finite values left out)."""
    pts = [[float(c.get("epoch", i + 1)), v] for i, c in enumerate(curve)
           if (v := num(c.get(metric))) is not None]
    if len(pts) <= CURVE_POINTS:
        return pts
    idx = np.unique(np.linspace(0, len(pts) - 1, CURVE_POINTS).round().astype(int))
    return [pts[i] for i in idx]


def _space_of(cfg: dict[str, Any]) -> Any:
    try:
        from archsmith.space import create_space

        return create_space(cfg["space"], **(cfg.get("space_config") or {}))
    except Exception:  # a custom space: decisions and a chain graph from the stored values
        return None


def page_data(cfg: dict[str, Any], trials: list[dict[str, Any]],
              best: dict[str, Any] | None) -> dict[str, Any]:
    """The JSON the page draws, from a stored search (see :func:`archsmith._stored.load_stored`).

    Trial columns are arrays (one entry per trial, in trial order); decisions are choice
    indices into ``decisions[k].choices`` (-1: inactive); graphs are label indices into
    ``labels`` and flat edge lists.
    """
    from archsmith._objectives import Objectives, front_of

    objs = Objectives.parse(cfg.get("objective"), cfg.get("direction"),
                            cfg.get("constraints") or [])
    space = _space_of(cfg)
    names: list[str] = []
    choices: dict[str, list[str]] = {}
    for t in trials:  # decision names in order of appearance, choices as text
        for k, v in t["arch"].get("decisions", {}).items():
            if k not in choices:
                names.append(k)
                choices[k] = []
            if str(v) not in choices[k]:
                choices[k].append(str(v))
    if space is not None:
        for d in space.decisions:
            if d.name in choices:
                order = [str(c) for c in d.choices]
                choices[d.name] = order + [c for c in choices[d.name] if c not in order]
    labels: list[str] = []
    label_id: dict[str, int] = {}
    metric_keys = list(dict.fromkeys([*objs.names, *(c.metric for c in objs.constraints),
                                      "params", "flops", "latency_ms"]))
    cols: dict[str, list[Any]] = {k: [] for k in (
        "number", "state", "finished", "budget", "feasible", "decisions", "graph", "summary")}
    metrics: dict[str, list[float | None]] = {k: [] for k in metric_keys}
    errors: dict[str, str] = {}
    t0 = min((t["started_at"] for t in trials if t.get("started_at")), default=0.0)
    for t in trials:
        d = t["arch"].get("decisions", {})
        cols["number"].append(t["number"])
        cols["state"].append(t["state"])
        fin = t.get("finished_at")
        cols["finished"].append(None if fin is None else round(fin - t0, 3))
        cols["budget"].append(t.get("budget"))
        m = t["metrics"] or {}
        cols["feasible"].append(not objs.constraints or not m or objs.violation(
            m, partial=t["state"] != "complete") == 0)
        cols["decisions"].append([choices[k].index(str(d[k])) if k in d else -1
                                  for k in names])
        for k in metric_keys:
            metrics[k].append(num(m.get(k)))
        graph, summary = _graph_of(space, t["arch"])
        ids = []
        for lab in graph[0]:
            if lab not in label_id:
                label_id[lab] = len(labels)
                labels.append(lab)
            ids.append(label_id[lab])
        cols["graph"].append([ids, [x for e in graph[1] for x in e]])
        cols["summary"].append(summary)
        if t.get("error"):
            errors[str(t["number"])] = str(t["error"])[:500]
    rows = [(t["number"], t["state"], t["metrics"] or {}) for t in trials]
    pareto, knee = front_of(objs, [r for r, t in zip(rows, trials, strict=True)
                                   if t.get("cached_from") is None])  # no repeated duplicates
    primary = objs.primary
    sign = 1.0 if objs.directions[0] == "max" else -1.0
    ok = [t for t in trials if t["state"] == "complete"
          and num((t["metrics"] or {}).get(primary)) is not None
          and (not objs.constraints or objs.violation(t["metrics"]) == 0)]
    ok.sort(key=lambda t: (-sign * t["metrics"][primary], t["number"]))
    stopped = [t for t in trials if t["state"] == "failed" or (
        cfg.get("scheduler") and t.get("budget") not in (None, cfg.get("epochs")))]
    curve_metric = primary if any(primary in c for t in trials[:50]
                                  for c in t.get("curve") or []) else "val_acc"
    curves = {str(t["number"]): pts for t in [*ok[:TOP_CURVES], *stopped[:OTHER_CURVES],
                                              *(t for t in trials if t["number"] in pareto)]
              if (pts := _downsample(t.get("curve") or [], curve_metric))}
    return {
        "title": f"{cfg.get('name', 'search')}: {cfg.get('space')} on "
                 f"{cfg.get('benchmark') or cfg.get('data') or cfg.get('evaluator')}",
        "config": {k: cfg.get(k) for k in ("space", "data", "benchmark", "evaluator",
                                           "strategy", "budget", "epochs", "scheduler",
                                           "seed", "status", "name")},
        "objectives": [{"name": n, "direction": d}
                       for n, d in zip(objs.names, objs.directions, strict=True)],
        "constraints": [str(c) for c in objs.constraints],
        "decisions": [{"name": k, "choices": choices[k]} for k in names],
        "labels": labels,
        "trials": {**cols, "metrics": metrics},
        "errors": errors,
        "curves": curves,
        "curve_metric": curve_metric,
        "pareto": pareto,
        "knee": knee,
        "best": None if best is None else best.get("number"),
        "hypervolume": _hv_history(objs, rows) if objs.multi else None,
    }


def _graph_of(space: Any, arch: dict[str, Any]) -> tuple[tuple[tuple[str, ...],
                                                               tuple[tuple[int, int], ...]], str]:
    if space is not None:
        try:
            a = space.from_dict(arch)
            g = space.graph(a)
            return (g.labels, g.edges), space.compact(a)
        except Exception:
            pass
    vals = arch.get("decisions", {})
    labels = ("input", *(f"{k}={v}" for k, v in vals.items()), "output")
    return (labels, tuple((i, i + 1) for i in range(len(labels) - 1))), \
        " ".join(f"{k}={v}" for k, v in vals.items())


def _hv_history(objs: Any, rows: list[tuple[int, str, dict[str, float]]]) -> list[float]:
    """Hypervolume of the feasible trials so far after each trial (reference point: the
    final front's nadir moved out by 10 % of its range)."""
    from archsmith._objectives import front_of
    from archsmith.report._bench_mo import HypervolumeTracker

    pts = [objs.values(m) if s == "complete" and objs.violation(m) == 0 else None
           for _n, s, m in rows]
    front, _knee = front_of(objs, rows)
    if not front:
        return [0.0] * len(rows)
    by = {n: objs.values(m) for n, _s, m in rows}
    tracker = HypervolumeTracker([by[n] for n in front])
    return [round(v * tracker.hv_true, 10) for v in tracker.curve(pts)]


def render_page(data: dict[str, Any]) -> str:
    """The HTML text: styles, Plotly, the page's script and ``data`` inlined."""
    try:
        from plotly.offline import get_plotlyjs
    except ImportError as e:  # pragma: no cover - a core dependency
        raise ConfigError("The report page needs plotly (a dependency of archsmith): "
                          "pip install plotly") from e
    # every "<" escaped: no text in the data can close or open a script element
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(data['title'])} — archsmith report</title>"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<style>{(_ASSETS / 'page.css').read_text()}</style>"
        f"<script>{get_plotlyjs()}</script></head><body>"
        f"{(_ASSETS / 'page.html').read_text()}"
        f"<script type=\"application/json\" id=\"data\">{payload}</script>"
        f"<script>{(_ASSETS / 'page.js').read_text()}</script></body></html>\n")


def write_report(out: str | Path, dest: str | Path | None = None,
                 name: str | None = None) -> Path:
    """Writes the report page of the search in ``out`` (default ``OUT/report.html``).

    Raises:
        ConfigError: ``out`` holds no search (or several and no ``name``).
    """
    from archsmith._run_folder import write_atomic
    from archsmith._stored import load_stored

    if dest is None and "://" in str(out):
        raise ConfigError(f"{out} is a storage URL: give the file to write, --out FILE.html.")
    cfg, trials, best, _searches = load_stored(str(out), name)
    if not cfg:
        raise ConfigError(f"{out} holds several searches (or none); give --name.")
    target = Path(dest) if dest is not None else Path(out) / "report.html"
    write_atomic(target, render_page(page_data(cfg, trials, best)))
    return target
