"""Machine facts the benchmark scripts print beside their figures (Linux ``/proc``)."""

from __future__ import annotations

__all__ = ["autogroup", "loadavg"]


def loadavg() -> str:
    """The 1, 5 and 15-minute load averages, or ``n/a``."""
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "n/a"


def autogroup() -> str:
    """Whether the kernel shares CPU time between sessions rather than processes."""
    try:
        with open("/proc/sys/kernel/sched_autogroup_enabled") as f:
            return "on" if f.read().strip() == "1" else "off"
    except OSError:
        return "n/a"
