"""Comparing and quoting the error texts of failed trials (fail-fast, summaries)."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["all_failed", "error_kind", "fail_fast_reason", "final_label", "last_error"]


def error_kind(error: str) -> str:
    """An error text with its numbers blanked, so near-identical errors compare equal.

    Example:
        >>> error_kind("shape (3, 4) at epoch 2") == error_kind("shape (5, 4) at epoch 1")
        True
    """
    return re.sub(r"\d+(\.\d+)?", "#", error)


def fail_fast_reason(k: int, errors: list[str | None], succeeded: bool) -> str | None:
    """Why a search stops early: its first ``k`` trials failed alike (``None``: go on).

    Only while no trial has succeeded: then the evaluator (or the data) is broken, and
    spending the budget on the same error helps nobody. Infeasible trials do not count.

    Example:
        >>> fail_fast_reason(2, ["bad shape 3", "bad shape 4"], False)[:24]
        'the first 2 trials all f'
    """
    from archsmith._objectives import INFEASIBLE

    if not k or len(errors) != k or succeeded or any(
            e is None or e.startswith(INFEASIBLE) for e in errors):
        return None
    if len({error_kind(e) for e in errors if e}) != 1:
        return None
    return (f"the first {k} trials all failed with the same error, so the search stopped "
            f"(set fail_fast = 0 to go on regardless): {errors[-1]}")


def last_error(errors: list[str | None]) -> str:
    return next((e for e in reversed(errors) if e), "(no error text)")


def all_failed(n: int, errors: list[str | None], objectives: Any, infeasible: int = 0) -> str:
    """Why a search none of whose ``n`` trials succeeded stopped; ``infeasible`` of them
    violated a constraint (before or after training), which is named so."""
    from archsmith._objectives import INFEASIBLE

    errs = [e for e in errors if e]
    if objectives.constraints and infeasible >= n and not errs:
        cons = ", ".join(str(c) for c in objectives.constraints)
        return (f"none of the {n} trials satisfied the constraints ({cons}); every trained "
                "network violated one. Loosen a --constraint, or narrow the space to "
                "networks that can fit.")
    if errs and all(e.startswith(INFEASIBLE) for e in errs):
        cons = ", ".join(str(c) for c in objectives.constraints)
        return (f"none of the {n} trials satisfied the constraints ({cons}); the last: "
                f"{errs[-1]}. Loosen a --constraint, or narrow the space to networks "
                "that can fit.")
    return f"all {n} trials failed; the last error: {last_error(errors)}"


def final_label(info: dict[str, Any]) -> str:
    """How the exported network of ``info`` (a stored best/trial record) was trained."""
    if info.get("weights"):
        return "kept its weights from the search (not retrained)"
    return "retrained on train+validation"
