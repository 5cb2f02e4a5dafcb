"""SQLAlchemy storage of searches and trials (SQLite by default, or PostgreSQL).

Every trial is written as it starts (``running``) and again as it finishes
(``complete`` or ``failed``), each in its own transaction, so a crash loses at most
the trials that were running. SQLite files use WAL journaling so readers
(``archsmith show``) never block the writing search.

A PostgreSQL server (``postgresql://user@host/db``; driver: ``pip install
'archsmith[postgres]'``, i.e. psycopg 3) can hold the searches of a whole team: several
drivers on different machines write to one database under different search names.
Tables are created under a PostgreSQL advisory lock, so drivers starting at once do
not race, and a plain ``postgresql://`` URL uses whichever driver is installed.
"""

from __future__ import annotations

import importlib.util
import io
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, delete, event, select, text, update
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError
from sqlalchemy.orm import sessionmaker

from archsmith.errors import ConfigError
from archsmith.store._lineage import read_lineage, write_lineage
from archsmith.store._models import Base, SearchModel, TrialModel
from archsmith.store._rungs import RungRow, read_rungs, write_rung

__all__ = ["SearchRow", "Store", "TrialRow", "safe_url", "sqlite_url", "url_without_password"]

#: Longest search name (the column's size).
MAX_NAME = 200
#: Longest architecture hash (the column's size).
MAX_HASH = 64
#: Key of the PostgreSQL advisory lock held while creating the tables.
_DDL_LOCK = 0x61726368  # "arch"
#: PostgreSQL drivers a plain ``postgresql://`` URL may use, preferred first.
_PG_DRIVERS = (("psycopg", "psycopg"), ("psycopg2", "psycopg2"))
_PG_HINT = (
    "Install a PostgreSQL driver: pip install 'archsmith[postgres]' (psycopg 3; "
    "or pip install 'psycopg[binary]')."
)


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
            "started_at": self.started_at,
            "finished_at": self.finished_at,
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


def safe_url(url: str) -> str:
    """``url`` with its password masked, for messages and logs.

    Example:
        >>> safe_url("postgresql://ann:secret@db.example/nas")
        'postgresql://ann:***@db.example/nas'
    """
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return url


def url_without_password(url: str) -> str:
    """``url`` with its password removed, for files written next to the results.

    The database driver then takes the password from its usual places (PostgreSQL:
    ``PGPASSWORD`` or ``~/.pgpass``), or the user passes ``--storage`` again.

    Example:
        >>> url_without_password("postgresql://ann:secret@db.example/nas")
        'postgresql://ann@db.example/nas'
        >>> url_without_password("sqlite:///runs/archsmith.db")
        'sqlite:///runs/archsmith.db'
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return url
    if parsed.password is None:
        return url
    # URL.set(password=None) keeps the password; URL is a NamedTuple, so _replace
    return parsed._replace(password=None).render_as_string(hide_password=False)


def _resolve_url(url: str) -> URL:
    """Parses ``url``; a plain ``postgresql://`` (or ``postgres://``) gets the installed driver.

    Example:
        >>> _resolve_url("sqlite://").drivername
        'sqlite'

    Raises:
        ConfigError: ``url`` is not a database URL, or no PostgreSQL driver is installed.
    """
    try:
        u = make_url(url)
    except (ArgumentError, ValueError):
        raise ConfigError(
            f"Cannot open storage {url!r}: not a database URL. Use a SQLAlchemy URL such as "
            "sqlite:///path/archsmith.db or postgresql://user@host/db."
        ) from None
    if u.drivername in ("postgresql", "postgres"):
        for module, driver in _PG_DRIVERS:
            if importlib.util.find_spec(module) is not None:
                return u.set(drivername=f"postgresql+{driver}")
        raise ConfigError(f"Cannot open storage {safe_url(url)!r}: no PostgreSQL driver. "
                          + _PG_HINT)
    return u


def _engine_options(u: URL) -> dict[str, Any]:
    """Engine settings per backend: connection checks and time-outs for servers."""
    if u.get_backend_name() != "postgresql":
        return {}
    opts: dict[str, Any] = {"pool_pre_ping": True}  # servers drop idle connections
    if u.get_driver_name() in ("psycopg", "psycopg2"):
        connect = {"connect_timeout": 10, "application_name": "archsmith"}
        opts["connect_args"] = {k: v for k, v in connect.items() if k not in u.query}
    return opts


def _clean_text(value: str | None) -> str | None:
    """PostgreSQL text cannot hold NUL characters; they are written as ``\\x00``."""
    return None if value is None else value.replace("\x00", "\\x00")


_CORRUPT = ("The database was changed by something other than archsmith; restore it from "
            "a backup, or start a new search in another --out folder.")


def _json(text: str, what: str) -> Any:
    """Parses a stored JSON column; a corrupt one is a clear :class:`ConfigError`."""
    try:
        return json.loads(text)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"The stored {what} is corrupt ({e}). {_CORRUPT}") from None


def _row(t: TrialModel) -> TrialRow:
    where = f"trial {t.number}"
    return TrialRow(
        number=t.number,
        arch=_json(t.arch, f"architecture of {where}"),
        hash=t.hash,
        state=t.state,
        budget=t.budget,
        metrics=_json(t.metrics or "{}", f"metrics of {where}"),
        curve=_json(t.curve or "[]", f"learning curve of {where}"),
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
        shown = safe_url(url)
        resolved = _resolve_url(url)
        try:
            self.engine: Engine = create_engine(resolved, future=True,
                                                **_engine_options(resolved))
        except ImportError as e:  # a driver named in the URL is not installed
            hint = "Install the database driver the URL names."
            if resolved.get_backend_name() == "postgresql":
                hint += (" Or use a plain postgresql:// URL after pip install "
                         "'archsmith[postgres]' (psycopg 3).")
            raise ConfigError(f"Cannot open storage {shown!r}: {e}. {hint}") from None
        except ValueError as e:  # e.g. a malformed query parameter
            raise ConfigError(f"Cannot open storage {shown!r}: {e}. Check the URL's "
                              "parameters.") from None
        except ArgumentError as e:  # unknown dialect
            raise ConfigError(
                f"Cannot open storage {shown!r}: {e}. Use a SQLAlchemy URL such as "
                "sqlite:///path/archsmith.db or postgresql://user@host/db (with its driver "
                "installed)."
            ) from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._create_tables(shown)
        self._session = sessionmaker(self.engine, expire_on_commit=False)

    def _create_tables(self, shown: str) -> None:
        """Creates missing tables; concurrent creators (other drivers) are tolerated."""
        try:  # a server that cannot be reached fails here, once
            self.engine.connect().close()
        except DBAPIError as e:
            self.engine.dispose()
            hint = ""
            if "password" in _reason(e).lower():
                hint = (" archsmith never writes passwords into its folders: set PGPASSWORD "
                        "(or ~/.pgpass), or pass the full URL with --storage.")
            raise ConfigError(f"Cannot open storage {shown!r}: {_reason(e)}.{hint}") from None
        for attempt in range(4):
            try:
                with self.engine.begin() as conn:
                    if self.engine.dialect.name == "postgresql":
                        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _DDL_LOCK})
                    Base.metadata.create_all(conn)
                return
            except DBAPIError as e:  # e.g. another process created a table meanwhile
                if attempt == 3:
                    self.engine.dispose()
                    raise ConfigError(f"Cannot open storage {shown!r}: {_reason(e)}.") from None
                time.sleep(0.05 * 2**attempt)

    def close(self) -> None:
        self.engine.dispose()

    # -- searches -----------------------------------------------------------------------
    def create_search(self, name: str, config: dict[str, Any], fingerprint: str) -> int:
        """Creates search ``name``; raises :class:`ConfigError` if it exists."""
        if not isinstance(name, str) or not name or len(name) > MAX_NAME or "\x00" in name:
            raise ConfigError(
                f"Search name {name!r} is invalid: give a non-empty name of at most "
                f"{MAX_NAME} characters (--name)."
            )
        exists = ConfigError(
            f"A search named {name!r} already exists in {safe_url(self.url)}; resume it or "
            "choose another name/output folder."
        )
        now = time.time()
        try:
            with self._session.begin() as s:
                if s.scalar(select(SearchModel.id).where(SearchModel.name == name)) is not None:
                    raise exists
                row = SearchModel(
                    name=name, created_at=now, updated_at=now, status="running",
                    config=json.dumps(config), fingerprint=fingerprint,
                )
                s.add(row)
                s.flush()
                return int(row.id)
        except IntegrityError:  # created by another driver between the check and insert
            raise exists from None

    def get_search(self, name: str) -> SearchRow | None:
        with self._session() as s:
            row = s.scalar(select(SearchModel).where(SearchModel.name == name))
            return None if row is None else self._search_row(row)

    def searches(self) -> list[SearchRow]:
        with self._session() as s:
            rows = s.scalars(select(SearchModel).order_by(SearchModel.id))
            return [self._search_row(r) for r in rows]

    @staticmethod
    def _search_row(r: SearchModel) -> SearchRow:
        config = _json(r.config, f"the configuration of search {r.name!r}")
        if not isinstance(config, dict):
            raise ConfigError(f"The stored configuration of search {r.name!r} is corrupt "
                              f"(not a JSON object). {_CORRUPT}")
        return SearchRow(
            id=r.id, name=r.name, status=r.status, config=config,
            fingerprint=r.fingerprint, created_at=r.created_at, updated_at=r.updated_at,
            best=_json(r.best, f"the best trial of search {r.name!r}") if r.best else None,
        )

    def set_status(self, search_id: int, status: str) -> None:
        with self._session.begin() as s:
            s.execute(
                update(SearchModel).where(SearchModel.id == search_id)
                .values(status=status, updated_at=time.time())
            )

    def set_best(self, search_id: int, best: dict[str, Any]) -> None:
        with self._session.begin() as s:
            s.execute(update(SearchModel).where(SearchModel.id == search_id)
                      .values(best=json.dumps(best)))

    def save_strategy_state(self, search_id: int, state: dict[str, Any]) -> None:
        """Stores a strategy's ``state_dict()`` (JSON values and tensors)."""
        import torch

        buf = io.BytesIO()
        torch.save(state, buf)
        with self._session.begin() as s:
            s.execute(
                update(SearchModel).where(SearchModel.id == search_id)
                .values(strategy_state=buf.getvalue(), updated_at=time.time())
            )

    def load_strategy_state(self, search_id: int) -> dict[str, Any] | None:
        """Loads the stored strategy state (``weights_only=True``: nothing is unpickled)."""
        import torch

        with self._session() as s:
            blob = s.scalar(select(SearchModel.strategy_state).where(SearchModel.id == search_id))
        if not blob:
            return None
        try:
            state = torch.load(io.BytesIO(blob), weights_only=True)
            return dict(state)
        except Exception as e:
            raise ConfigError(f"The stored strategy state is corrupt ({type(e).__name__}). "
                              f"{_CORRUPT}") from None

    # -- trials -------------------------------------------------------------------------
    def start_trial(
        self, search_id: int, number: int, arch: dict[str, Any], hash: str,
        budget: int | None = None,
    ) -> None:
        """Stores trial ``number`` as ``running``.

        Raises:
            ConfigError: the search already holds trial ``number`` (e.g. two drivers run
                the same search).
            ValueError: ``hash`` is longer than :data:`MAX_HASH` characters.
        """
        if len(hash) > MAX_HASH:
            raise ValueError(f"architecture hash {hash!r} is longer than {MAX_HASH} characters")
        try:
            with self._session.begin() as s:
                s.add(TrialModel(
                    search_id=search_id, number=number, arch=json.dumps(arch), hash=hash,
                    state="running", budget=budget, started_at=time.time(),
                ))
        except IntegrityError:
            raise ConfigError(
                f"Trial {number} of search id {search_id} is already stored in "
                f"{safe_url(self.url)}: is another archsmith driver running this search? Run "
                "one driver per search name."
            ) from None

    def finish_trial(
        self, search_id: int, number: int, state: str, *,
        metrics: dict[str, float] | None = None, curve: list[dict[str, float]] | None = None,
        error: str | None = None, cost: float | None = None, cached_from: int | None = None,
    ) -> None:
        """Stores the final ``state`` (``complete``/``failed``) of a ``running`` trial.

        A finished trial is never overwritten.

        Raises:
            ValueError: ``state`` is not final, or the trial is not stored as running.
        """
        if state not in ("complete", "failed"):
            raise ValueError(f"final state must be complete or failed, not {state!r}")
        now = time.time()
        with self._session.begin() as s:
            done = s.execute(
                update(TrialModel)
                .where(TrialModel.search_id == search_id, TrialModel.number == number,
                       TrialModel.state == "running")
                .values(
                    state=state, metrics=json.dumps(metrics or {}),
                    curve=json.dumps(curve or []), error=_clean_text(error), cost=cost,
                    finished_at=now, cached_from=cached_from,
                )
            )
            if done.rowcount != 1:  # type: ignore[attr-defined]
                found = s.scalar(select(TrialModel.state).where(
                    TrialModel.search_id == search_id, TrialModel.number == number))
                raise ValueError(
                    f"trial {number} of search id {search_id} is not running "
                    f"({'not stored' if found is None else 'state ' + found}); it was not "
                    "changed"
                )
            s.execute(update(SearchModel).where(SearchModel.id == search_id).values(updated_at=now))

    def trials(self, search_id: int, state: str | None = None) -> list[TrialRow]:
        """Trials of a search in number order, optionally only those in ``state``."""
        with self._session() as s:
            q = select(TrialModel).where(TrialModel.search_id == search_id)
            if state is not None:
                q = q.where(TrialModel.state == state)
            return [_row(t) for t in s.scalars(q.order_by(TrialModel.number))]

    def add_rung(self, search_id: int, row: RungRow) -> None:
        """Stores a rung result and updates its trial (see :func:`write_rung`)."""
        write_rung(self._session, search_id, row)

    def rungs(self, search_id: int) -> list[RungRow]:
        """Every rung result of a search (multi-fidelity searches), by trial and budget."""
        return read_rungs(self._session, search_id)

    def set_lineage(self, search_id: int, number: int, parent: int | None,
                    moves: list[str] | tuple[str, ...] = (), preserving: bool = False) -> None:
        """Records which trial ``number`` inherited its weights from (``None``: none)."""
        write_lineage(self._session, search_id, number, parent, list(moves), preserving)

    def lineage(self, search_id: int) -> dict[int, dict[str, Any]]:
        """``{trial: {"parent", "moves", "preserving"}}`` of inherited trials."""
        return read_lineage(self._session, search_id)

    def drop_running(self, search_id: int) -> list[int]:
        """Deletes trials left ``running`` by an interrupted driver; returns their numbers."""
        with self._session.begin() as s:
            nums = sorted(s.scalars(
                select(TrialModel.number)
                .where(TrialModel.search_id == search_id, TrialModel.state == "running")
            ))
            if nums:  # exactly those seen: a trial finishing meanwhile is kept
                s.execute(
                    delete(TrialModel)
                    .where(TrialModel.search_id == search_id, TrialModel.state == "running",
                           TrialModel.number.in_(nums))
                )
        return nums


def _reason(e: DBAPIError) -> str:
    """The driver's message of a database error, on one line."""
    return " ".join(str(e.orig).split()) or type(e.orig).__name__


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    import sqlite3

    cur = dbapi_conn.cursor()
    # the busy timeout first, so the other pragmas wait for a lock held elsewhere
    cur.execute("PRAGMA busy_timeout=30000")
    # switching a new file to WAL while another driver does the same can answer
    # "database is locked" at once (SQLite skips the busy handler there): retry
    deadline = time.monotonic() + 30.0
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as e:
            busy = "locked" in str(e) or "busy" in str(e)
            if not busy or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
