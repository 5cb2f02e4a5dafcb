"""Storage of searches and trials through SQLAlchemy (SQLite by default)."""

from __future__ import annotations

from archsmith.store._lease import Lease, live_driver
from archsmith.store._rungs import RungRow
from archsmith.store._sql import (
    SearchRow,
    Store,
    TrialRow,
    safe_url,
    sqlite_url,
    url_without_password,
)

__all__ = [
    "Lease",
    "RungRow",
    "SearchRow",
    "Store",
    "TrialRow",
    "live_driver",
    "safe_url",
    "sqlite_url",
    "url_without_password",
]
