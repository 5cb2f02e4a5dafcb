"""Property-based tests of the store, and SQLite readers never blocking the writer.

A hypothesis state machine drives random sequences of create / start / finish-complete /
finish-fail / resume (``drop_running``) / crash-and-reopen against a model and checks
after every step that no finished trial is lost or changed, no trial number is
duplicated and the stored metrics, curves and errors are exactly what was written.
:func:`check_store_machine` runs the same machine against any URL (the PostgreSQL
tests reuse it).
"""

from __future__ import annotations

import math
import os
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from archsmith.errors import ConfigError
from archsmith.store import Store, sqlite_url

NAMES = ("a", "b", "c")
NUMBERS = st.integers(0, 6)
METRIC = st.floats(allow_nan=True, allow_infinity=True)
METRICS = st.dictionaries(st.text(max_size=6), METRIC, max_size=3)
CURVES = st.lists(st.dictionaries(st.sampled_from(["epoch", "val_acc"]), METRIC), max_size=2)


@dataclass
class Expected:
    """What the model says a stored trial holds."""

    arch: dict[str, Any]
    hash: str
    state: str = "running"
    metrics: dict[str, float] = field(default_factory=dict)
    curve: list[dict[str, float]] = field(default_factory=list)
    error: str | None = None
    cost: float | None = None


def same(a: Any, b: Any) -> bool:
    """Equality where NaN equals NaN (metrics may be NaN; JSON keeps them)."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b) and type(a) is type(b)


class StoreMachine(RuleBasedStateMachine):
    """Random store operations against a model (set :attr:`url` before running)."""

    url = "sqlite://"

    def __init__(self) -> None:
        super().__init__()
        self.prefix = uuid.uuid4().hex[:10]  # fresh search names in a shared database
        self.store = Store(self.url)
        self.ids: dict[str, int] = {}
        self.model: dict[int, dict[int, Expected]] = {}

    def teardown(self) -> None:
        self.store.close()

    def _sid(self, data: st.DataObject) -> int:
        return data.draw(st.sampled_from(sorted(self.ids.values())), label="search")

    def _number(self, data: st.DataObject, sid: int) -> int:
        """Mostly a running trial of ``sid`` (when there is one), else any number."""
        running = sorted(n for n, e in self.model[sid].items() if e.state == "running")
        pick = st.sampled_from(running) | NUMBERS if running else NUMBERS
        return data.draw(pick, label="number")

    @rule(name=st.sampled_from(NAMES))
    def create(self, name: str) -> None:
        full = f"{self.prefix}-{name}"
        if full in self.ids:
            with pytest.raises(ConfigError, match="already exists"):
                self.store.create_search(full, {"space": "toy"}, "fp")
            return
        sid = self.store.create_search(full, {"space": "toy", "name": name}, "fp")
        assert sid not in self.model
        self.ids[full] = sid
        self.model[sid] = {}

    @precondition(lambda self: self.ids)
    @rule(data=st.data(), number=NUMBERS, value=st.integers(0, 3))
    def start(self, data: st.DataObject, number: int, value: int) -> None:
        sid = self._sid(data)
        arch = {"space": "toy", "decisions": {"a": value, "c": "x\u00e9"}}
        if number in self.model[sid]:
            with pytest.raises(ConfigError, match="already stored"):
                self.store.start_trial(sid, number, arch, f"h{value}")
            return
        self.store.start_trial(sid, number, arch, f"h{value}", budget=3)
        self.model[sid][number] = Expected(arch=arch, hash=f"h{value}")

    def _finish(self, sid: int, number: int, state: str, **kw: Any) -> None:
        exp = self.model[sid].get(number)
        if exp is None or exp.state != "running":
            with pytest.raises(ValueError, match="not running"):
                self.store.finish_trial(sid, number, state, **kw)
            return
        self.store.finish_trial(sid, number, state, **kw)
        exp.state = state
        exp.metrics = kw.get("metrics") or {}
        exp.curve = kw.get("curve") or []
        err = kw.get("error")
        exp.error = None if err is None else err.replace("\x00", "\\x00")
        exp.cost = kw.get("cost")

    @precondition(lambda self: self.ids)
    @rule(data=st.data(), metrics=METRICS, curve=CURVES, cost=st.none() | st.floats(0, 1e6))
    def finish_complete(self, data: st.DataObject, metrics: dict[str, float],
                        curve: list[dict[str, float]], cost: float | None) -> None:
        sid = self._sid(data)
        self._finish(sid, self._number(data, sid), "complete", metrics=metrics, curve=curve,
                     cost=cost)

    @precondition(lambda self: self.ids)
    @rule(data=st.data(), error=st.text(max_size=20))
    def finish_fail(self, data: st.DataObject, error: str) -> None:
        sid = self._sid(data)
        self._finish(sid, self._number(data, sid), "failed", error=error)

    @precondition(lambda self: self.ids)
    @rule(data=st.data())
    def resume(self, data: st.DataObject) -> None:
        """What ``Search.run`` does first: drop the trials left running."""
        sid = self._sid(data)
        dropped = self.store.drop_running(sid)
        want = sorted(n for n, e in self.model[sid].items() if e.state == "running")
        assert dropped == want
        for n in want:
            del self.model[sid][n]

    @rule()
    def crash_and_reopen(self) -> None:
        """A killed driver: the next process opens the storage afresh."""
        self.store.engine.dispose()
        self.store = Store(self.url)

    @precondition(lambda self: self.ids)
    @rule(data=st.data(), state=st.sampled_from(["running", "complete", "failed"]))
    def filter_by_state(self, data: st.DataObject, state: str) -> None:
        sid = self._sid(data)
        got = [r.number for r in self.store.trials(sid, state)]
        assert got == sorted(n for n, e in self.model[sid].items() if e.state == state)

    @invariant()
    def matches_model(self) -> None:
        stored_ids = {s.name: s.id for s in self.store.searches() if s.name in self.ids}
        assert stored_ids == self.ids
        for sid, trials in self.model.items():
            rows = self.store.trials(sid)
            numbers = [r.number for r in rows]
            assert numbers == sorted(set(numbers)), "duplicated or unordered trial numbers"
            assert numbers == sorted(trials), "a trial was lost or invented"
            for r in rows:
                e = trials[r.number]
                assert (r.state, r.arch, r.hash, r.error) == (e.state, e.arch, e.hash, e.error)
                assert same(r.metrics, e.metrics) and same(r.curve, e.curve)
                assert r.cost == e.cost
                assert (r.finished_at is None) == (e.state == "running")


def check_store_machine(url: str, max_examples: int, steps: int) -> None:
    """Runs :class:`StoreMachine` against the database at ``url``."""

    class Machine(StoreMachine):
        pass

    Machine.url = url
    run_state_machine_as_test(Machine, settings=settings(
        max_examples=max_examples, stateful_step_count=steps, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    ))


def test_store_state_machine_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    check_store_machine(sqlite_url(tmp_path / "machine.db"), max_examples=30, steps=25)


# -- SQLite: readers and the writer do not block each other --------------------------------
def _write_trials(store: Store, sid: int, numbers: range) -> float:
    """Writes (start + finish) trials; returns the slowest write in seconds."""
    slowest = 0.0
    for n in numbers:
        t0 = time.perf_counter()
        store.start_trial(sid, n, {"space": "toy", "decisions": {"a": n}}, f"h{n}")
        store.finish_trial(sid, n, "complete", metrics={"val_acc": float(n)})
        slowest = max(slowest, time.perf_counter() - t0)
    return slowest


def test_sqlite_long_reader_does_not_block_the_writer(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "wal.db"
    writer = Store(sqlite_url(path))
    sid = writer.create_search("s", {}, "fp")
    _write_trials(writer, sid, range(3))
    # a reader (like `archsmith show`) holding a read transaction open
    reader = sqlite3.connect(path, timeout=0.1, isolation_level=None)
    assert reader.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM archsmith_trials").fetchone()[0] == 3
    slowest = _write_trials(writer, sid, range(3, 40))
    assert slowest < 2.0, f"a write waited {slowest:.2f} s behind the reader"
    # the reader keeps its consistent snapshot, then sees everything
    assert reader.execute("SELECT count(*) FROM archsmith_trials").fetchone()[0] == 3
    reader.execute("COMMIT")
    assert reader.execute("SELECT count(*) FROM archsmith_trials").fetchone()[0] == 40
    # meanwhile readers through the Store API in another thread, while the writer writes
    seen: list[int] = []
    stop = threading.Event()

    def read() -> None:
        other = Store(sqlite_url(path))
        while not stop.is_set():
            rows = other.trials(sid)
            assert [r.number for r in rows] == list(range(len(rows)))
            seen.append(len(rows))
        other.close()

    t = threading.Thread(target=read)
    t.start()
    try:
        slowest = _write_trials(writer, sid, range(40, 80))
    finally:
        stop.set()
        t.join(30)
    assert slowest < 2.0 and seen and max(seen) <= 80
    assert len(writer.trials(sid, "complete")) == 80
    reader.close()
    writer.close()


def test_sqlite_open_write_transaction_does_not_block_readers(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "wal.db"
    writer = Store(sqlite_url(path))
    sid = writer.create_search("s", {}, "fp")
    _write_trials(writer, sid, range(2))
    other = sqlite3.connect(path, timeout=0.1, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # a writer in the middle of a transaction
    other.execute("UPDATE archsmith_searches SET status = 'busy'")
    t0 = time.perf_counter()
    reader = Store(sqlite_url(path))  # opening (create_all) and reading must not wait
    assert [r.number for r in reader.trials(sid)] == [0, 1]
    assert reader.get_search("s") is not None
    assert time.perf_counter() - t0 < 2.0
    other.execute("ROLLBACK")
    other.close()
    reader.close()
    writer.close()


_WRITER = r"""
import sys
from archsmith.store import Store
url, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
print("ready", flush=True)
sys.stdin.readline()  # start together
store = Store(url)  # a new file: both processes create the tables at once
sid = store.create_search(name, {"name": name}, "fp")
for i in range(n):
    store.start_trial(sid, i, {"space": "toy", "decisions": {"i": i}}, f"{name}-{i}")
    store.finish_trial(sid, i, "complete", metrics={"val_acc": i + 0.25})
print("done", flush=True)
"""


def test_sqlite_two_processes_share_one_file(tmp_path: Path) -> None:
    """Two drivers, one new SQLite file, different searches: no 'database is locked'."""
    url, n = sqlite_url(tmp_path / "shared.db"), 40
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")])}
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, url, name, str(n)], env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for name in ("one", "two")]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        outs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0 and out.strip() == "done", err
    store = Store(url)
    for s in store.searches():
        rows = store.trials(s.id)
        assert [r.number for r in rows] == list(range(n))
        assert all(r.metrics == {"val_acc": r.number + 0.25} for r in rows)
    assert sorted(s.name for s in store.searches()) == ["one", "two"]
    store.close()
