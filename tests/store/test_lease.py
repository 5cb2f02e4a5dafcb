"""One driver per search: the lease refuses a second live driver and frees a dead one's."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import update

from archsmith.errors import ConfigError
from archsmith.search import Search, SearchConfig
from archsmith.store import Lease, Store, sqlite_url
from archsmith.store._models import LeaseModel


def _store(tmp_path: Path) -> tuple[Store, int]:
    store = Store(sqlite_url(tmp_path / "s.db"))
    return store, store.create_search("s", {}, "fp")


def _set(store: Store, sid: int, **values: object) -> None:
    with store.engine.begin() as conn:
        conn.execute(update(LeaseModel).where(LeaseModel.search_id == sid).values(**values))


def test_second_driver_refused_until_released(tmp_path: Path) -> None:
    store, sid = _store(tmp_path)
    first = Lease(store, sid, "s")
    first.acquire()
    with pytest.raises(ConfigError, match=r"being run by another archsmith driver .*pid"):
        Lease(store, sid, "s").acquire()
    first.release()
    second = Lease(store, sid, "s")
    second.acquire()
    assert second.holder() is not None and second.holder()["owner"] == second.owner
    second.release()
    assert second.holder() is None


def test_dead_process_on_this_host_is_taken_over_at_once(tmp_path: Path) -> None:
    store, sid = _store(tmp_path)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    held = Lease(store, sid, "s")
    held.acquire()
    _set(store, sid, pid=gone.pid, proc_start="")  # as if that process had taken it
    held._stop.set()  # its heartbeat thread must not refresh the row any more
    taker = Lease(store, sid, "s")
    taker.acquire()  # heartbeat is fresh, but the process is gone
    assert taker.holder()["owner"] == taker.owner
    taker.release()


def test_reused_pid_is_not_mistaken_for_the_driver(tmp_path: Path) -> None:
    store, sid = _store(tmp_path)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        held = Lease(store, sid, "s")
        held.acquire()
        held._stop.set()
        _set(store, sid, pid=sleeper.pid, proc_start="")
        with pytest.raises(ConfigError, match=f"pid {sleeper.pid}"):
            Lease(store, sid, "s").acquire()  # a live process holds it
        if Path(f"/proc/{sleeper.pid}/stat").exists():
            _set(store, sid, proc_start="1")  # same pid, different process start
            Lease(store, sid, "s").acquire()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_other_host_is_taken_over_when_its_heartbeat_is_stale(tmp_path: Path) -> None:
    store, sid = _store(tmp_path)
    held = Lease(store, sid, "s")
    held.acquire()
    held._stop.set()
    _set(store, sid, host="elsewhere", pid=1)
    with pytest.raises(ConfigError, match="host elsewhere"):
        Lease(store, sid, "s").acquire()
    _set(store, sid, heartbeat=time.time() - 61)
    taker = Lease(store, sid, "s")
    taker.acquire()
    assert taker.holder()["owner"] == taker.owner
    taker.release()


def test_heartbeat_refreshes_and_notices_a_takeover(tmp_path: Path) -> None:
    store, sid = _store(tmp_path)
    lease = Lease(store, sid, "s", stale_after=0.2)
    lease.acquire()
    first = lease.holder()["heartbeat"]
    time.sleep(0.3)
    assert lease.holder()["heartbeat"] > first and not lease.lost
    _set(store, sid, owner="someone-else")
    deadline = time.time() + 5
    while not lease.lost and time.time() < deadline:
        time.sleep(0.02)
    assert lease.lost
    lease.release()  # does not delete the other owner's row
    assert lease.holder()["owner"] == "someone-else"


def test_search_refused_while_another_driver_holds_it(tmp_path: Path) -> None:
    cfg = SearchConfig(space="nb201", benchmark="nb201/cifar10", strategy="random", budget=4)
    out = tmp_path / "run"
    Search(cfg, out=out).run()
    store = Store(sqlite_url(out / "archsmith.db"))
    sid = store.get_search(cfg.name).id
    other = Lease(store, sid, cfg.name)
    other.acquire()
    with pytest.raises(ConfigError, match="being run by another archsmith driver"):
        Search.resume(out, budget=8).run()
    assert len(store.trials(sid)) == 4  # nothing was changed
    other.release()
    summary = Search.resume(out, budget=8).run()
    assert summary["trials"] == 8
    assert other.holder() is None  # the finished driver gave the lease back


def test_lease_given_back_when_opening_fails_after_taking_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = SearchConfig(space="nb201", benchmark="nb201/cifar10", strategy="random", budget=2)
    out = tmp_path / "run"
    Search(cfg, out=out).run()

    def broken(*_args: object, **_kw: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(Store, "set_status", broken)
    with pytest.raises(OSError, match="disk full"):
        Search.resume(out, budget=3).run()
    monkeypatch.undo()
    assert Search.resume(out, budget=3).run()["trials"] == 3  # not refused by a stale lease
