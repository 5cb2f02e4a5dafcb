"""The tables archsmith stores: searches, their trials, and the lease of a running driver."""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["SCHEMA_VERSION", "Base", "LeaseModel", "LineageModel", "RungModel", "SearchModel",
           "TrialModel"]

SCHEMA_VERSION = 1


class Base(DeclarativeBase):
    pass


class SearchModel(Base):
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


class TrialModel(Base):
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


class LeaseModel(Base):
    """Which driver runs a search (one row per running search; a new table, so stores
    written before it existed gain it on open)."""

    __tablename__ = "archsmith_leases"
    search_id: Mapped[int] = mapped_column(ForeignKey("archsmith_searches.id"),
                                           primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    #: The process's start time on its host (``/proc``), so a reused pid is not mistaken
    #: for the driver; empty where unknown.
    proc_start: Mapped[str] = mapped_column(String(32))
    heartbeat: Mapped[float] = mapped_column(Float)


class RungModel(Base):
    """One rung result of a trial under a multi-fidelity scheduler (a new table, so
    stores written before it existed gain it on open)."""

    __tablename__ = "archsmith_rungs"
    __table_args__ = (UniqueConstraint("search_id", "number", "budget"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    search_id: Mapped[int] = mapped_column(ForeignKey("archsmith_searches.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    rung: Mapped[int] = mapped_column(Integer)
    budget: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    metrics: Mapped[str] = mapped_column(Text, default="{}")
    curve: Mapped[str] = mapped_column(Text, default="[]")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    cost: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: Budget units (epochs) trained for this rung: less than ``budget`` when the
    #: trial continued from its checkpoint.
    trained: Mapped[float] = mapped_column(Float, default=0.0)
    finished_at: Mapped[float] = mapped_column(Float)


class LineageModel(Base):
    """Which trial a trial inherited its weights from, and by which transformation
    (searches with ``inherit``; a new table, so older stores gain it on open)."""

    __tablename__ = "archsmith_lineage"
    __table_args__ = (UniqueConstraint("search_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    search_id: Mapped[int] = mapped_column(ForeignKey("archsmith_searches.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    parent: Mapped[int] = mapped_column(Integer)
    moves: Mapped[str] = mapped_column(Text, default="[]")
    preserving: Mapped[int] = mapped_column(Integer, default=0)
