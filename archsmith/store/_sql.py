"""SQLAlchemy storage of searches and trials (SQLite by default).

Every trial is written as it starts (``running``) and again as it finishes
(``complete`` or ``failed``), each in its own transaction, so a crash loses at most
the trials that were running. SQLite files use WAL journaling so readers
(``archsmith show``) never block the writing search.
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from archsmith.errors import ConfigError

__all__ = ["SearchRow", "Store", "TrialRow", "sqlite_url"]

SCHEMA_VERSION = 1


class _Base(DeclarativeBase):
    pass


class _Search(_Base):
    __tablename__ = "archsmith_searches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20))
    config: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(128))
    schema_version: Mapped[int] = mapped_column(Integer, default=SCHEMA_VERSION)
    strategy_state: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    best: Mapped[str | None] = mapped_column(Text, nullable=True)


class _Trial(_Base):
    __tablename__ = "archsmith_trials"
    __table_args__ = (UniqueConstraint("search_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    search_id: Mapped[int] = mapped_column(ForeignKey("archsmith_searches.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    arch: Mapped[str] = mapped_column(Text)
    hash: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(16))
    budget: Mapped[int | None] = mapped_column(Integer, nullable=True)
    metrics: Mapped[str] = mapped_column(Text, default="{}")
    curve: Mapped[str] = mapped_column(Text, default="[]")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    cost: Mapped[float | None] = mapped_column(Float, nullable=True)
    started_at: Mapped[float] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    cached_from: Mapped[int | None] = mapped_column(Integer, nullable=True)


@dataclass
class TrialRow:
    """A stored trial."""

    number: int
    arch: dict[str, Any]
    hash: str
    state: str
    budget: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    curve: list[dict[str, float]] = field(default_factory=list)
    error: str | None = None
    cost: float | None = None
    started_at: float = 0.0
    finished_at: float | None = None
    cached_from: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "state": self.state,
            "hash": self.hash,
            "arch": self.arch,
            "metrics": self.metrics,
            "error": self.error,
            "budget": self.budget,
            "cost": self.cost,
            "curve": self.curve,
            "cached_from": self.cached_from,
            "duration": (self.finished_at - self.started_at) if self.finished_at else None,
        }


@dataclass
class SearchRow:
    """A stored search (without its trials)."""

    id: int
    name: str
    status: str
    config: dict[str, Any]
    fingerprint: str
    created_at: float
    updated_at: float
    best: dict[str, Any] | None


def sqlite_url(path: str | Path) -> str:
    """SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{Path(path).resolve()}"


def _row(t: _Trial) -> TrialRow:
    return TrialRow(
        number=t.number,
        arch=json.loads(t.arch),
        hash=t.hash,
        state=t.state,
        budget=t.budget,
        metrics=json.loads(t.metrics or "{}"),
        curve=json.loads(t.curve or "[]"),
        error=t.error,
        cost=t.cost,
        started_at=t.started_at,
        finished_at=t.finished_at,
        cached_from=t.cached_from,
    )


class Store:
    """Storage of searches and their trials.

    Args:
        url: SQLAlchemy database URL (``sqlite:///path/archsmith.db``,
            ``postgresql://...``).

    Example:
        >>> s = Store("sqlite://")
        >>> sid = s.create_search("demo", {"space": "mlp"}, "abc")
        >>> s.start_trial(sid, 0, {"space": "mlp", "decisions": {}}, "h0", budget=1)
        >>> s.finish_trial(sid, 0, "complete", metrics={"val_acc": 90.0})
        >>> [t.state for t in s.trials(sid)]
        ['complete']
    """

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine: Engine = create_engine(url, future=True)
        except (ArgumentError, ImportError) as e:  # unknown dialect or missing driver
            raise ConfigError(
                f"Cannot open storage {url!r}: {e}. Use a SQLAlchemy URL such as "
                "sqlite:///path/archsmith.db or postgresql://user@host/db (with its driver "
                "installed)."
            ) from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            _Base.metadata.create_all(self.engine)
        except OperationalError as e:
            raise ConfigError(f"Cannot open storage {url!r}: {e.orig}.") from None
        self._session = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    # -- searches -----------------------------------------------------------------------
    def create_search(self, name: str, config: dict[str, Any], fingerprint: str) -> int:
        """Creates search ``name``; raises :class:`ConfigError` if it exists."""
        now = time.time()
        with self._session.begin() as s:
            if s.scalar(select(_Search.id).where(_Search.name == name)) is not None:
                raise ConfigError(
                    f"A search named {name!r} already exists in {self.url}; resume it or "
                    "choose another name/output folder."
                )
            row = _Search(
                name=name, created_at=now, updated_at=now, status="running",
                config=json.dumps(config), fingerprint=fingerprint,
            )
            s.add(row)
            s.flush()
            return int(row.id)

    def get_search(self, name: str) -> SearchRow | None:
        with self._session() as s:
            row = s.scalar(select(_Search).where(_Search.name == name))
            return None if row is None else self._search_row(row)

    def searches(self) -> list[SearchRow]:
        with self._session() as s:
            return [self._search_row(r) for r in s.scalars(select(_Search).order_by(_Search.id))]

    @staticmethod
    def _search_row(r: _Search) -> SearchRow:
        return SearchRow(
            id=r.id, name=r.name, status=r.status, config=json.loads(r.config),
            fingerprint=r.fingerprint, created_at=r.created_at, updated_at=r.updated_at,
            best=json.loads(r.best) if r.best else None,
        )

    def set_status(self, search_id: int, status: str) -> None:
        with self._session.begin() as s:
            s.execute(
                update(_Search).where(_Search.id == search_id)
                .values(status=status, updated_at=time.time())
            )

    def set_best(self, search_id: int, best: dict[str, Any]) -> None:
        with self._session.begin() as s:
            s.execute(update(_Search).where(_Search.id == search_id).values(best=json.dumps(best)))

    def save_strategy_state(self, search_id: int, state: dict[str, Any]) -> None:
        """Stores a strategy's ``state_dict()`` (JSON values and tensors)."""
        import torch

        buf = io.BytesIO()
        torch.save(state, buf)
        with self._session.begin() as s:
            s.execute(
                update(_Search).where(_Search.id == search_id)
                .values(strategy_state=buf.getvalue(), updated_at=time.time())
            )

    def load_strategy_state(self, search_id: int) -> dict[str, Any] | None:
        """Loads the stored strategy state (``weights_only=True``: nothing is unpickled)."""
        import torch

        with self._session() as s:
            blob = s.scalar(select(_Search.strategy_state).where(_Search.id == search_id))
        if not blob:
            return None
        state = torch.load(io.BytesIO(blob), weights_only=True)
        return dict(state)

    # -- trials -------------------------------------------------------------------------
    def start_trial(
        self, search_id: int, number: int, arch: dict[str, Any], hash: str,
        budget: int | None = None,
    ) -> None:
        with self._session.begin() as s:
            s.add(_Trial(
                search_id=search_id, number=number, arch=json.dumps(arch), hash=hash,
                state="running", budget=budget, started_at=time.time(),
            ))

    def finish_trial(
        self, search_id: int, number: int, state: str, *,
        metrics: dict[str, float] | None = None, curve: list[dict[str, float]] | None = None,
        error: str | None = None, cost: float | None = None, cached_from: int | None = None,
    ) -> None:
        if state not in ("complete", "failed"):
            raise ValueError(f"final state must be complete or failed, not {state!r}")
        with self._session.begin() as s:
            s.execute(
                update(_Trial)
                .where(_Trial.search_id == search_id, _Trial.number == number)
                .values(
                    state=state, metrics=json.dumps(metrics or {}),
                    curve=json.dumps(curve or []), error=error, cost=cost,
                    finished_at=time.time(), cached_from=cached_from,
                )
            )
            s.execute(
                update(_Search).where(_Search.id == search_id).values(updated_at=time.time())
            )

    def trials(self, search_id: int, state: str | None = None) -> list[TrialRow]:
        """Trials of a search in number order, optionally only those in ``state``."""
        with self._session() as s:
            q = select(_Trial).where(_Trial.search_id == search_id)
            if state is not None:
                q = q.where(_Trial.state == state)
            return [_row(t) for t in s.scalars(q.order_by(_Trial.number))]

    def drop_running(self, search_id: int) -> list[int]:
        """Deletes trials left ``running`` by an interrupted driver; returns their numbers."""
        with self._session.begin() as s:
            nums = list(s.scalars(
                select(_Trial.number)
                .where(_Trial.search_id == search_id, _Trial.state == "running")
            ))
            s.execute(
                delete(_Trial)
                .where(_Trial.search_id == search_id, _Trial.state == "running")
            )
        return sorted(nums)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
