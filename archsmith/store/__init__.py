"""Storage of searches and trials through SQLAlchemy (SQLite by default)."""

from __future__ import annotations

from archsmith.store._lease import Lease
from archsmith.store._sql import SearchRow, Store, TrialRow, sqlite_url, url_without_password

__all__ = ["Lease", "SearchRow", "Store", "TrialRow", "sqlite_url", "url_without_password"]
