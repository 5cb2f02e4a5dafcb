"""The report page of a benchmark run (``archsmith bench`` writes ``OUT/report.html``):
strategies side by side — mean best-so-far (or normalised hypervolume) curves with
± s.e. bands against queries and, with simulated workers, against simulated time; the
fronts every strategy found beside the true front (several objectives); and the summary
table (sortable). Self-contained like the search page (:mod:`archsmith.report._page`).
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np

from archsmith.report._stats import num

__all__ = ["render_bench_page"]

_ASSETS = Path(__file__).with_name("assets")


def render_bench_page(summary: dict[str, Any],
                      curves: dict[str, tuple[np.ndarray, np.ndarray]],
                      fronts: dict[str, list[list[tuple[float, ...]]]] | None = None,
                      true_front: np.ndarray | None = None) -> str:
    """The HTML text of the benchmark page.

    Args:
        summary: :func:`~archsmith.report.run_bench`'s summary dict.
        curves: Strategy → (mean, s.e.) per query.
        fronts: Several objectives: strategy → each seed's feasible points (oriented).
        true_front: The table's true front (oriented).
    """
    from plotly.offline import get_plotlyjs

    mo = summary.get("multi_objective")
    signs = None
    if mo:
        signs = np.where(np.asarray(mo["directions"]) == "max", 1.0, -1.0)

    def natural(points: Any) -> list[list[float]]:
        a = np.asarray(points, dtype=float).reshape(-1, len(signs))  # type: ignore[arg-type]
        return (a * signs)[:, :2].round(6).tolist()

    def clean(xs: Any) -> list[float | None]:
        return [None if (v := num(x)) is None else round(v, 6) for x in xs]

    data = {
        "title": f"{summary['benchmark']}: {', '.join(summary['strategies'])}",
        "command": summary["command"],
        "objective": summary["objective"], "direction": summary["direction"],
        "seeds": summary["seeds"], "budget": summary["budget"],
        "multi": mo,
        "curves": {s: {"mean": clean(m), "sem": clean(e)} for s, (m, e) in curves.items()},
        "time": summary.get("simulated"),
        "fronts": {s: [natural(p) for p in runs] for s, runs in (fronts or {}).items()},
        "true_front": natural(true_front) if mo and true_front is not None else [],
        "stats": summary["strategies"],
        "references": summary["references"],
    }
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(data['title'])} — archsmith bench</title>"
        f"<style>{(_ASSETS / 'page.css').read_text()}</style>"
        f"<script>{get_plotlyjs()}</script></head><body>"
        "<header><h1 id=\"title\"></h1><div id=\"summary\"></div></header><main>"
        "<section class=\"panel\"><h2 id=\"curves-title\">Best so far</h2>"
        "<div class=\"row\"><div class=\"plot\" id=\"plot-queries\"></div>"
        "<div class=\"plot\" id=\"plot-time\"></div></div></section>"
        "<section class=\"panel\" id=\"panel-fronts\"><h2>Fronts found (each seed) and the "
        "true front</h2><div class=\"plot wide\" id=\"plot-fronts\"></div></section>"
        "<section class=\"panel\"><h2>Summary</h2><table id=\"trials\"><thead></thead>"
        "<tbody></tbody></table></section></main>"
        f"<script type=\"application/json\" id=\"data\">{payload}</script>"
        f"<script>{(_ASSETS / 'bench.js').read_text()}</script></body></html>\n")
