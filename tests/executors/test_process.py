"""The process executor: faults survived, inline-identical results, no leftover processes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import ToyEvaluator, ToySpace

from archsmith.errors import ConfigError
from archsmith.executors import create_executor
from archsmith.executors._process import ProcessExecutor, cpu_count
from archsmith.search import Search, SearchConfig
from archsmith.store import Store, TrialRow, sqlite_url

# decision "a" picks how the trial fails; a = 5 succeeds
FAULTY = '''
import math, os, signal, time

def evaluate(arch, budget=None):
    a, b = arch["decisions"]["a"], arch["decisions"]["b"]
    if a == 0:
        raise RuntimeError("boom on a=0")
    if a == 1:
        return {"val_acc": math.nan}
    if a == 2:
        time.sleep(60)
    if a == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    if a == 4:
        os._exit(7)
    return {"val_acc": float(10 * a + b)}
'''

EXPECTED = {
    0: "RuntimeError: boom on a=0",
    1: "objective 'val_acc' is not a finite number: nan",
    2: "timeout: trial exceeded the time limit of 1.5 s",
    3: "worker process died (exit code -9 / signal SIGKILL",
    4: "worker process died (exit code 7)",
}


def _children() -> set[int]:
    """Processes (zombies included) whose parent is this process.

    multiprocessing's shared resource tracker (one per driver, not a worker) is left out.
    """
    me, out = str(os.getpid()), set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"resource_tracker" in cmdline:
            continue
        if any(line.split()[1:] == [me] for line in status.splitlines()
               if line.startswith("PPid:")):
            out.add(int(pid))
    return out


def _rows(out: Path) -> list[TrialRow]:
    store = Store(sqlite_url(out / "archsmith.db"))
    row = store.get_search("default")
    assert row is not None
    return store.trials(row.id)


@pytest.mark.timeout(120)
def test_faulty_search_finishes_its_budget_with_two_workers(tmp_path: Path) -> None:
    before = _children()
    path = tmp_path / "faulty.py"
    path.write_text(FAULTY)
    cfg = SearchConfig(space="toy", evaluator=f"{path}:evaluate", strategy="random",
                       budget=12, seed=0, trial_timeout=1.5, export=False)
    ex = create_executor("process", workers=2, preload_torch=False)
    try:
        summary = Search(cfg, tmp_path / "out", space=ToySpace(width=6), executor=ex).run()
    finally:
        ex.close()
    rows = _rows(tmp_path / "out")
    assert len(rows) == 12 and summary["trials"] == 12
    assert all(r.state in ("complete", "failed") for r in rows)
    seen = set()
    for r in rows:
        a, b = r.arch["decisions"]["a"], r.arch["decisions"]["b"]
        seen.add(a)
        if a == 5:
            assert r.state == "complete" and r.metrics["val_acc"] == 50.0 + b
        else:
            assert r.state == "failed" and EXPECTED[a] in (r.error or ""), (a, r.error)
    assert seen == set(range(6)), "the seed should exercise every kind of failure"
    assert summary["complete"] == sum(r.arch["decisions"]["a"] == 5 for r in rows)
    assert _children() <= before, "worker processes were left behind"


def test_results_identical_to_inline(tmp_path: Path) -> None:
    def run(out: Path, executor: object) -> list[TrialRow]:
        cfg = SearchConfig(space="toy", strategy="random", budget=12, seed=5, export=False)
        Search(cfg, out, space=ToySpace(), evaluator=ToyEvaluator(),
               executor=executor).run()  # type: ignore[arg-type]
        return _rows(out)

    ex = create_executor("process", workers=2, preload_torch=False)
    try:
        par = run(tmp_path / "process", ex)
    finally:
        ex.close()
    ref = run(tmp_path / "inline", create_executor("inline"))
    assert [(r.number, r.arch, r.metrics, r.state) for r in par] == \
        [(r.number, r.arch, r.metrics, r.state) for r in ref]


def test_cancel_kills_running_trials_and_the_executor_restarts(tmp_path: Path) -> None:
    before = _children()
    path = tmp_path / "faulty.py"
    path.write_text(FAULTY)
    from archsmith.evaluators import UserEvaluator

    ev = UserEvaluator(f"{path}:evaluate")
    space = ToySpace(width=6)
    hang, good = space.make({"a": 2, "b": 1, "c": "x"}), space.make({"a": 5, "b": 1, "c": "x"})
    ex = ProcessExecutor(workers=2, preload_torch=False)
    try:
        ex.submit(0, ev, hang, None)
        ex.submit(1, ev, hang, None)
        assert ex.wait(timeout=0.5) == []  # both hang; wait(timeout) gives up
        pids = ex.pids()
        t0 = time.perf_counter()
        ex.cancel()
        assert time.perf_counter() - t0 < 5.0
        assert not any(Path(f"/proc/{p}").exists() for p in pids)
        assert ex.wait() == []  # nothing is pending after cancel
        ex.submit(2, ev, good, None)
        [(number, result)] = ex.wait()
        assert number == 2 and result.metrics == {"val_acc": 51.0}
    finally:
        ex.close()
    assert _children() <= before


def test_workers_use_their_share_of_threads(tmp_path: Path) -> None:
    path = tmp_path / "threads.py"
    path.write_text("import os, torch\n"
                    "def evaluate(arch, budget=None):\n"
                    "    return {'val_acc': 1.0, 'torch': torch.get_num_threads(),\n"
                    "            'omp': int(os.environ['OMP_NUM_THREADS'])}\n")
    from archsmith.evaluators import UserEvaluator

    idle = ProcessExecutor(workers=2)
    assert idle.threads_per_worker == max(1, cpu_count() // 2)
    idle.close()
    with ProcessExecutor(workers=1, threads_per_worker=1, preload_torch=False) as ex:
        ex.submit(0, UserEvaluator(f"{path}:evaluate"), ToySpace().make(
            {"a": 1, "b": 1, "c": "x"}), None)
        [(_, result)] = ex.wait()
    assert result.metrics == {"val_acc": 1.0, "torch": 1.0, "omp": 1.0}, result.error


def test_evaluator_sent_once_per_worker() -> None:
    ex = ProcessExecutor(workers=2, preload_torch=False)
    space, ev = ToySpace(), ToyEvaluator()
    archs = [space.sample(np.random.default_rng(i)) for i in range(6)]
    try:
        for i, a in enumerate(archs):
            ex.submit(i, ev, a, None)
        got: dict[int, float] = {}
        while len(got) < 6:
            got.update((n, r.metrics["val_acc"]) for n, r in ex.wait())
        assert got == {i: ev.evaluate(a).metrics["val_acc"] for i, a in enumerate(archs)}
        # one evaluator, cached per worker (a worker may get no task when the other is fast)
        assert all(len(w.keys) <= 1 for w in ex._pool) and any(w.keys for w in ex._pool)
    finally:
        ex.close()


def test_bad_arguments_and_unpicklable_evaluator() -> None:
    with pytest.raises(ConfigError, match="start_method"):
        ProcessExecutor(workers=1, start_method="teleport")
    with pytest.raises(ConfigError, match="threads_per_worker"):
        ProcessExecutor(workers=1, threads_per_worker=0)
    ex = ProcessExecutor(workers=1, preload_torch=False)
    ev = ToyEvaluator()
    ev.fn = lambda x: x  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="cannot be sent to worker processes"):
        ex.submit(0, ev, ToySpace().make({"a": 1, "b": 1, "c": "x"}), None)
    ex.close()
    assert ex.pids() == []


def test_ctrl_c_during_a_search_kills_the_workers(tmp_path: Path) -> None:
    import signal
    import threading

    before = _children()
    path = tmp_path / "faulty.py"
    path.write_text(FAULTY)
    cfg = SearchConfig(space="toy", evaluator=f"{path}:evaluate", strategy="random",
                       budget=6, seed=0, export=False)
    ex = create_executor("process", workers=2, preload_torch=False)
    search = Search(cfg, tmp_path / "out", space=ToySpace(width=3), executor=ex)  # a<=2: hangs
    # Ctrl-C once the workers are up and a trial has finished (a fixed delay from the
    # start could fire while a loaded machine is still spawning them)
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))

    started: list[bool] = []

    def on_event(ev: dict[str, object]) -> None:
        if ev["event"] == "trial" and not started:
            started.append(True)
            timer.start()

    # a shell that starts pytest in the background ignores SIGINT: restore Ctrl-C here
    old_handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    t0 = time.perf_counter()
    try:
        with pytest.raises(KeyboardInterrupt):
            search.run(progress=on_event)
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, old_handler)
    assert time.perf_counter() - t0 < 20.0
    assert _children() <= before, "the driver's cancel() should have killed the workers"
    assert all(r.state in ("complete", "failed") for r in _rows(tmp_path / "out"))
    ex.close()
