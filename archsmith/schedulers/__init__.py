"""Multi-fidelity schedulers: which trial trains next, and for how many epochs.

A scheduler decides, each time a worker is free, whether to *promote* a trial that
finished a rung (continue its training to the next budget) or to start a *new* trial
at the lowest budget; it learns every rung result through :meth:`Scheduler.report`.
Like strategies, schedulers never see storage or executors, and their whole state
is in :meth:`Scheduler.state_dict` (so a resumed search judges trials exactly as the
interrupted one would have). Schedulers register by name in :data:`SCHEDULERS`.

Example:
    >>> s = create_scheduler("asha", min_budget=1, max_budget=9, eta=3)
    >>> s.budgets
    [1, 3, 9]
"""

from __future__ import annotations

from typing import Any

from archsmith._registry import Registry
from archsmith.schedulers._base import Job, Scheduler
from archsmith.schedulers._targets import rung_targets

#: Registry of schedulers; a factory takes ``min_budget``, ``max_budget``, ``eta``.
SCHEDULERS: Registry[Scheduler] = Registry("scheduler")


def create_scheduler(name: str, **config: Any) -> Scheduler:
    """Creates scheduler ``name`` (see :func:`scheduler_names`)."""
    return SCHEDULERS.create(name, **config)


def scheduler_names() -> list[str]:
    """Names of the registered schedulers."""
    return SCHEDULERS.names()


from archsmith.schedulers import _asha, _median, _sh  # noqa: E402, F401  (built-ins)

__all__ = ["SCHEDULERS", "Job", "Scheduler", "create_scheduler", "rung_targets",
           "scheduler_names"]
