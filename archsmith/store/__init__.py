"""Storage of searches and trials through SQLAlchemy (SQLite by default)."""

from __future__ import annotations

from archsmith.store._sql import SearchRow, Store, TrialRow, sqlite_url, url_without_password

__all__ = ["SearchRow", "Store", "TrialRow", "sqlite_url", "url_without_password"]
