"""The store and the search driver on a real PostgreSQL server.

The server URL comes from ``ARCHSMITH_TEST_PG`` (``.ci/postgres.sh`` starts a local
server and prints it), else ``postgresql://postgres@127.0.0.1:5432/archsmith_test``.
Every test module run works in a fresh PostgreSQL schema that is dropped at the end,
so reruns never collide. Without a reachable server (or a driver) the tests skip and
say why.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from archsmith.errors import ConfigError
from archsmith.search import Search, SearchConfig
from archsmith.store import Store, _sql, sqlite_url

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/archsmith_test"
HOW = ("start one with `.ci/postgres.sh` (as root it installs Debian's postgresql) and "
       "export the ARCHSMITH_TEST_PG it prints")


def _has_driver() -> bool:
    return any(importlib.util.find_spec(m) is not None for m, _ in _sql._PG_DRIVERS)


def _schema_url(url: str, schema: str) -> str:
    """``url`` whose connections use ``schema`` (a private namespace for one test run)."""
    u = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return u.render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Engine]]:
    """(server URL, admin engine); skips when no PostgreSQL server can be reached."""
    if not _has_driver():
        pytest.skip("no PostgreSQL driver installed: pip install 'archsmith[postgres]'")
    url = os.environ.get("ARCHSMITH_TEST_PG") or DEFAULT_URL
    resolved = _sql._resolve_url(url)
    engine = create_engine(resolved, **_sql._engine_options(resolved))
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as e:
        engine.dispose()
        reason = " ".join(str(getattr(e, "orig", e)).split())
        pytest.skip(f"no PostgreSQL server at {_sql.safe_url(url)} ({reason}); {HOW}")
    yield url, engine
    engine.dispose()


@pytest.fixture
def pg(server: tuple[str, Engine]) -> Iterator[str]:
    """URL of a fresh, empty schema on the server (dropped afterwards)."""
    url, engine = server
    schema = f"archsmith_test_{uuid.uuid4().hex[:12]}"
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _schema_url(url, schema)
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


# -- URLs and drivers (no server needed) -----------------------------------------------------
def test_plain_url_is_mapped_to_an_installed_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_sql, "_PG_DRIVERS", (("json", "psycopg"),))  # "json" is importable
    assert _sql._resolve_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert _sql._resolve_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert _sql._resolve_url("postgresql+psycopg2://u@h/db").drivername == "postgresql+psycopg2"


def test_missing_driver_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_sql, "_PG_DRIVERS", (("no_such_pg_driver_xyz", "x"),))
    with pytest.raises(ConfigError, match=r"pip install 'archsmith\[postgres\]'") as err:
        Store("postgresql://ann:secret@127.0.0.1:5432/db")
    assert "secret" not in str(err.value)  # passwords never reach messages


def test_unreachable_server_is_a_config_error_without_the_password() -> None:
    if not _has_driver():
        pytest.skip("no PostgreSQL driver installed: pip install 'archsmith[postgres]'")
    with pytest.raises(ConfigError, match="Cannot open storage") as err:
        Store("postgresql://ann:secret@127.0.0.1:9/db")  # port 9: nothing listens
    assert "secret" not in str(err.value) and "***" in str(err.value)


# -- the store -------------------------------------------------------------------------------
def test_round_trip(pg: str) -> None:
    s = Store(pg)
    assert s.engine.url.drivername.startswith("postgresql+")
    sid = s.create_search("round-trip", {"space": "mlp", "budget": 3}, "fp")
    with pytest.raises(ConfigError, match="already exists"):
        s.create_search("round-trip", {}, "fp")
    for n in range(3):
        s.start_trial(sid, n, {"space": "mlp", "decisions": {"n": n, "é": "ü"}}, f"h{n}", 2)
    with pytest.raises(ConfigError, match="already stored"):
        s.start_trial(sid, 0, {}, "h0")
    s.finish_trial(sid, 0, "complete", metrics={"val_acc": 91.25, "nan": float("nan")},
                   curve=[{"epoch": 1.0, "val_acc": 50.5}], cost=1.5)
    s.finish_trial(sid, 1, "failed", error="Traceback\x00 with a NUL byte")
    with pytest.raises(ValueError, match="not running"):
        s.finish_trial(sid, 0, "failed", error="late duplicate")
    w = torch.arange(4.0)
    state: dict[str, Any] = {"w": w, "pop": [1, 2], "rng": {"state": 2**70}}
    s.save_strategy_state(sid, state)
    s.set_best(sid, {"number": 0})
    s.set_status(sid, "stopped")

    other = Store(pg)  # a reader on another connection pool (`archsmith show`)
    rows = other.trials(sid)
    assert [(r.number, r.state) for r in rows] == [(0, "complete"), (1, "failed"), (2, "running")]
    assert rows[0].metrics["val_acc"] == 91.25 and rows[0].metrics["nan"] != rows[0].metrics["nan"]
    assert rows[0].curve == [{"epoch": 1.0, "val_acc": 50.5}] and rows[0].cost == 1.5
    assert rows[0].arch == {"space": "mlp", "decisions": {"n": 0, "é": "ü"}}
    assert rows[1].error == "Traceback\\x00 with a NUL byte"
    loaded = other.load_strategy_state(sid)
    assert loaded is not None and torch.equal(loaded["w"], w)
    assert loaded["rng"] == state["rng"]
    row = other.get_search("round-trip")
    assert row is not None and row.status == "stopped" and row.best == {"number": 0}
    assert other.drop_running(sid) == [2]
    assert [r.number for r in s.trials(sid)] == [0, 1]
    assert [x.name for x in other.searches()] == ["round-trip"]
    s.close()
    other.close()


def test_store_state_machine_on_postgres(pg: str) -> None:
    spec = importlib.util.spec_from_file_location(
        "archsmith_store_properties", Path(__file__).with_name("test_store_properties.py"))
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclasses look their module up
    try:
        spec.loader.exec_module(mod)
        mod.check_store_machine(pg, max_examples=8, steps=20)
    finally:
        sys.modules.pop(spec.name, None)


def test_concurrent_create_search_threads(pg: str) -> None:
    Store(pg).close()  # tables first; the processes test races on them
    names = ["alpha", "beta", "gamma"] * 2
    barrier = threading.Barrier(len(names))
    results: list[tuple[str, Any]] = []
    lock = threading.Lock()

    def create(name: str) -> None:
        store = Store(pg)
        barrier.wait(30)
        try:
            out: Any = store.create_search(name, {"name": name}, "fp")
        except ConfigError as e:
            out = e
        with lock:
            results.append((name, out))
        store.close()

    threads = [threading.Thread(target=create, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == len(names)
    for name in set(names):
        outcomes = [o for n, o in results if n == name]
        ids = [o for o in outcomes if isinstance(o, int)]
        errors = [o for o in outcomes if isinstance(o, ConfigError)]
        assert len(ids) == 1 and len(errors) == 1, outcomes
        assert "already exists" in str(errors[0])
    store = Store(pg)
    assert sorted(s.name for s in store.searches()) == ["alpha", "beta", "gamma"]
    store.close()


_WRITER = r"""
import sys
from archsmith.store import Store
url, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
print("ready", flush=True)
sys.stdin.readline()  # start together
store = Store(url)  # an empty schema: both processes create the tables at once
sid = store.create_search(name, {"name": name}, "fp-" + name)
for i in range(n):
    store.start_trial(sid, i, {"space": "toy", "decisions": {"i": i}}, f"{name}-{i}")
    if i % 7 == 3:
        store.finish_trial(sid, i, "failed", error=f"{name} boom {i}")
    else:
        store.finish_trial(sid, i, "complete", metrics={"val_acc": i + 0.5}, cost=0.01 * i)
store.set_status(sid, "finished")
print("done", sid, flush=True)
"""


def test_two_processes_write_different_searches(pg: str, tmp_path: Path) -> None:
    n = 60
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")])}
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, pg, name, str(n)], env=env,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
        for name in ("team-a", "team-b")
    ]
    try:
        for p in procs:
            assert p.stdout is not None
            assert p.stdout.readline().strip() == "ready", p.stderr.read() if p.stderr else ""
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
        assert p.returncode == 0, err
        assert out.startswith("done"), (out, err)
    store = Store(pg)
    searches = {s.name: s for s in store.searches()}
    assert sorted(searches) == ["team-a", "team-b"]
    for name, row in searches.items():
        assert row.status == "finished" and row.fingerprint == f"fp-{name}"
        trials = store.trials(row.id)
        assert [t.number for t in trials] == list(range(n))
        for t in trials:
            assert t.hash == f"{name}-{t.number}"
            if t.number % 7 == 3:
                assert (t.state, t.error) == ("failed", f"{name} boom {t.number}")
            else:
                assert (t.state, t.metrics) == ("complete", {"val_acc": t.number + 0.5})
    store.close()

    # `archsmith show URL` lists the searches of the shared database
    from typer.testing import CliRunner

    from archsmith.cli import app

    res = CliRunner().invoke(app, ["show", pg, "--json"])
    assert res.exit_code == 0, res.output
    assert sorted(s["name"] for s in json.loads(res.output)["searches"]) == ["team-a", "team-b"]


# -- the search driver ----------------------------------------------------------------------
def _config(budget: int, name: str) -> SearchConfig:
    return SearchConfig(space="nb201", benchmark="nb201/cifar10", strategy="evolution",
                        budget=budget, name=name, seed=3)


def test_search_and_resume_on_postgres(pg: str, tmp_path: Path) -> None:
    out = tmp_path / "pg-search"
    summary = Search(_config(30, "nb201-evo"), out=out, storage=pg).run()
    assert (summary["trials"], summary["complete"], summary["status"]) == (30, 30, "finished")
    pointer = json.loads((out / "archsmith.json").read_text())
    assert pointer["storage"] == pg and pointer["name"] == "nb201-evo"
    assert not (out / "archsmith.db").exists()  # nothing went to the SQLite default

    store = Store(pg)
    row = store.get_search("nb201-evo")
    assert row is not None
    before = {t.number: t for t in store.trials(row.id)}
    # a driver killed in the middle of trial 30 left it running
    store.start_trial(row.id, 30, next(iter(before.values())).arch, "interrupted", None)
    store.close()

    resumed = Search.resume(out, budget=40)
    summary = resumed.run()
    assert (summary["trials"], summary["complete"], summary["status"]) == (40, 40, "finished")
    store = Store(pg)
    after = store.trials(row.id)
    assert [t.number for t in after] == list(range(40))
    for t in after[:30]:  # finished trials are kept exactly
        b = before[t.number]
        assert (t.arch, t.hash, t.metrics, t.finished_at) == (b.arch, b.hash, b.metrics,
                                                              b.finished_at)
    assert after[30].hash != "interrupted"
    store.close()

    # the interrupted-and-resumed search equals an uninterrupted one (here on SQLite)
    ref_out = tmp_path / "sqlite-search"
    Search(_config(40, "nb201-evo"), out=ref_out).run()
    ref = Store(sqlite_url(ref_out / "archsmith.db"))
    ref_row = ref.get_search("nb201-evo")
    assert ref_row is not None
    assert [(t.hash, t.metrics) for t in ref.trials(ref_row.id)] == [
        (t.hash, t.metrics) for t in after]
    ref.close()


def test_pointer_file_holds_no_password(pg: str, tmp_path: Path) -> None:
    """The folder's archsmith.json never stores a password; resume still connects."""
    with_pw = make_url(pg).set(password="s3cret-not-stored").render_as_string(
        hide_password=False)
    out = tmp_path / "pw-search"
    Search(_config(5, "pw"), out=out, storage=with_pw).run()
    text_ = (out / "archsmith.json").read_text()
    assert "s3cret-not-stored" not in text_
    assert json.loads(text_)["storage"] == pg
    summary = Search.resume(out, budget=8).run()  # trust auth: no password needed
    assert summary["trials"] == 8


def test_lease_on_postgres(pg: str, tmp_path: Path) -> None:
    """A second driver on a running search is refused; the first one's heartbeat works."""
    from archsmith.store import Lease

    Search(_config(3, "leased"), out=tmp_path / "a", storage=pg).run()
    store = Store(pg)
    row = store.get_search("leased")
    assert row is not None
    holder = Lease(store, row.id, "leased", stale_after=0.4)
    holder.acquire()
    beat = holder.holder()
    time.sleep(0.5)
    assert beat is not None and holder.holder()["heartbeat"] > beat["heartbeat"]
    with pytest.raises(ConfigError, match="being run by another archsmith driver"):
        Search.resume(tmp_path / "a", budget=5).run()
    holder.release()
    assert Search.resume(tmp_path / "a", budget=5).run()["trials"] == 5
    store.close()
