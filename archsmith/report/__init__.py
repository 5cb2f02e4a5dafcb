"""Reports: the benchmark harness (``archsmith bench``) and its curves plot.

Example:
    >>> from archsmith.report import checkpoint_queries
    >>> checkpoint_queries(100)["25%"]
    25
"""

from __future__ import annotations

from archsmith.report._bench import ProgressCallback, run_bench
from archsmith.report._plots import plot_curves
from archsmith.report._stats import CHECKPOINTS, REFERENCES, best_so_far, checkpoint_queries
from archsmith.report._summary import render_summary

__all__ = [
    "CHECKPOINTS",
    "REFERENCES",
    "ProgressCallback",
    "best_so_far",
    "checkpoint_queries",
    "plot_curves",
    "render_summary",
    "run_bench",
]
