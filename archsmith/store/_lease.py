"""One driver per search: a lease row kept alive by a heartbeat thread.

A driver that runs a stored search first takes its lease (table ``archsmith_leases``).
Another driver that opens the same search while the lease is alive is refused with a
:class:`~archsmith.errors.ConfigError` saying which host and process hold it. A lease
is free when its driver is gone: at once when that driver ran on the same host and its
process no longer exists (``kill -9`` followed by ``archsmith resume`` works straight
away), otherwise once its heartbeat is older than ``stale_after`` seconds (a driver on
another machine that crashed). The holder refreshes the heartbeat from a daemon thread
every ``stale_after / 4`` seconds, so long trials do not let it expire.

Example:
    >>> from archsmith.store import Store
    >>> s = Store("sqlite://")
    >>> sid = s.create_search("demo", {}, "fp")
    >>> lease = Lease(s, sid, "demo")
    >>> lease.acquire()
    >>> Lease(s, sid, "demo").acquire()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    archsmith.errors.ConfigError: Search 'demo' is being run by another archsmith driver ...
    >>> lease.release()
    >>> Lease(s, sid, "demo").acquire()
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import sessionmaker

from archsmith.errors import ConfigError
from archsmith.store._models import LeaseModel

if TYPE_CHECKING:
    from archsmith.store._sql import Store

__all__ = ["DEFAULT_STALE_AFTER", "Lease", "live_driver"]

#: Seconds without a heartbeat after which another host's driver is presumed gone.
DEFAULT_STALE_AFTER = 60.0


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (Linux), or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _proc_start(pid: int) -> str:
    """The start time of process ``pid`` in clock ticks since boot (Linux), or ``""``."""
    fields = _proc_stat(pid)
    return fields[19] if fields is not None and len(fields) > 19 else ""


def _pid_alive(pid: int, proc_start: str) -> bool:
    """Whether process ``pid`` on this host is still the one that took the lease."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        pass
    except OSError:  # e.g. signals unsupported: assume alive, the heartbeat decides
        return True
    fields = _proc_stat(pid)
    if fields is None:
        return True
    if fields and fields[0] in ("Z", "X"):  # killed, not yet reaped by its parent
        return False
    started = fields[19] if len(fields) > 19 else ""
    return not proc_start or started in ("", proc_start)


class Lease:
    """The exclusive right of one driver to run a stored search.

    Args:
        store: The store holding the search.
        search_id: The search's id in ``store``.
        name: The search's name (for messages).
        stale_after: Seconds without a heartbeat after which a lease held from another
            host (or from a process that cannot be checked) may be taken over.
    """

    def __init__(self, store: Store, search_id: int, name: str, *,
                 stale_after: float = DEFAULT_STALE_AFTER) -> None:
        if not stale_after > 0:
            raise ValueError(f"stale_after must be > 0, not {stale_after!r}")
        self.search_id = search_id
        self.name = name
        self.stale_after = float(stale_after)
        self.owner = uuid.uuid4().hex
        self.host = socket.gethostname()[:255]
        self.pid = os.getpid()
        self.proc_start = _proc_start(self.pid)
        url = store.engine.url
        # an in-memory database is reachable from this process only: no heartbeat needed
        self._beats = not (url.get_backend_name() == "sqlite"
                           and url.database in (None, "", ":memory:"))
        self._session = sessionmaker(store.engine, expire_on_commit=False)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lost = False

    @property
    def lost(self) -> bool:
        """True once another driver took the lease over (this one's heartbeat lapsed)."""
        return self._lost

    def acquire(self) -> None:
        """Takes the lease and starts the heartbeat.

        Raises:
            ConfigError: another live driver holds the lease.
        """
        for _ in range(5):  # another driver may change the row between read and write
            if self._try_acquire():
                self._start_heartbeat()
                return
        raise ConfigError(f"Could not take the lease of search {self.name!r}: other drivers "
                          "keep changing it. Run one driver per search name.")

    def _try_acquire(self) -> bool:
        now = time.time()
        mine = {"owner": self.owner, "host": self.host, "pid": self.pid,
                "proc_start": self.proc_start, "heartbeat": now}
        try:
            with self._session.begin() as s:
                row = s.get(LeaseModel, self.search_id)
                if row is not None:
                    if row.owner != self.owner:
                        self._refuse_if_alive(row, now)
                    done = s.execute(  # compare-and-swap: unchanged since read
                        update(LeaseModel)
                        .where(LeaseModel.search_id == self.search_id,
                               LeaseModel.owner == row.owner,
                               LeaseModel.heartbeat == row.heartbeat)
                        .values(**mine)
                    )
                    return bool(done.rowcount == 1)  # type: ignore[attr-defined]
            with self._session.begin() as s:
                s.add(LeaseModel(search_id=self.search_id, **mine))
            return True
        except (IntegrityError, OperationalError):  # another driver wrote it meanwhile
            return False

    def _refuse_if_alive(self, row: LeaseModel, now: float) -> None:
        age = now - row.heartbeat
        if row.host == self.host and row.pid != self.pid:
            alive = _pid_alive(row.pid, row.proc_start)
        else:  # another host, or this very process (a second driver object in it)
            alive = age < self.stale_after
        if not alive:
            return
        where = f"host {row.host}, pid {row.pid}"
        raise ConfigError(
            f"Search {self.name!r} is being run by another archsmith driver ({where}; "
            f"last heartbeat {max(age, 0.0):.0f} s ago). Nothing was changed. Wait for it "
            "to finish or stop it (Ctrl-C; it can be resumed); a driver on another host "
            f"that died is taken over once its heartbeat is {self.stale_after:.0f} s old."
        )

    def _start_heartbeat(self) -> None:
        if not self._beats:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat, name="archsmith-lease",
                                        daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(self.stale_after / 4):
            try:
                with self._session.begin() as s:
                    done = s.execute(
                        update(LeaseModel)
                        .where(LeaseModel.search_id == self.search_id,
                               LeaseModel.owner == self.owner)
                        .values(heartbeat=time.time())
                    )
                    if done.rowcount != 1:  # type: ignore[attr-defined]
                        self._lost = True
                        return
            except DBAPIError:  # storage unreachable for a moment: try again next beat
                continue

    def release(self) -> None:
        """Stops the heartbeat and frees the lease (if this driver still holds it)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        try:
            with self._session.begin() as s:
                s.execute(delete(LeaseModel).where(LeaseModel.search_id == self.search_id,
                                                   LeaseModel.owner == self.owner))
        except DBAPIError:  # the next driver takes it over when it finds it stale
            pass

    def holder(self) -> dict[str, object] | None:
        """The lease's current row (``owner``, ``host``, ``pid``, ``heartbeat``) or None."""
        with self._session() as s:
            row = s.scalar(select(LeaseModel).where(LeaseModel.search_id == self.search_id))
            if row is None:
                return None
            return {"owner": row.owner, "host": row.host, "pid": row.pid,
                    "heartbeat": row.heartbeat}


def live_driver(store: Store, search_id: int,
                stale_after: float = DEFAULT_STALE_AFTER) -> dict[str, object] | None:
    """The driver running a search (``host``, ``pid``, ``heartbeat``), or None if none is.

    A lease whose process is gone (same host) or whose heartbeat is ``stale_after``
    seconds old (another host) belongs to no live driver. Reads only.

    Example:
        >>> from archsmith.store import Store
        >>> s = Store("sqlite://")
        >>> sid = s.create_search("demo", {}, "fp")
        >>> live_driver(s, sid) is None
        True
        >>> lease = Lease(s, sid, "demo"); lease.acquire()
        >>> live_driver(s, sid)["pid"] == os.getpid()
        True
    """
    with sessionmaker(store.engine)() as s:
        row = s.get(LeaseModel, search_id)
        if row is None:
            return None
        age = time.time() - row.heartbeat
        if row.host == socket.gethostname()[:255] and row.pid != os.getpid():
            alive = _pid_alive(row.pid, row.proc_start)
        else:
            alive = age < stale_after
        if not alive:
            return None
        return {"host": row.host, "pid": row.pid, "heartbeat": row.heartbeat}
