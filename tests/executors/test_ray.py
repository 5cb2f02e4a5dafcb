"""The Ray executor on a local Ray: a 2-worker NB-201 search, time-outs and crashes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from archsmith.errors import ConfigError
from archsmith.search import Search, SearchConfig
from archsmith.store import Store, sqlite_url

pytest.importorskip("ray", reason="Ray is not installed (pip install 'archsmith[ray]')")

pytestmark = pytest.mark.timeout(240)

# the op on edge_1_0 picks how the trial fails; avg_pool_3x3 succeeds
FAULTY = '''
import math, os, signal, time

def evaluate(arch, budget=None):
    op = arch["decisions"]["edge_1_0"]
    if op == "none":
        raise RuntimeError("boom on none")
    if op == "skip_connect":
        return {"val_acc": math.nan}
    if op == "nor_conv_1x1":
        if arch["decisions"]["edge_2_0"] == "none":  # a hang the in-task alarm cannot stop
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(60)
    if op == "nor_conv_3x3":
        if arch["decisions"]["edge_2_0"] == "none":
            os.kill(os.getpid(), signal.SIGKILL)
        os._exit(7)
    return {"val_acc": 42.0}
'''


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Any]:
    """One local Ray for the module (started with a time limit; skipped if it cannot)."""
    from archsmith.executors._ray import RayExecutor

    try:
        owner = RayExecutor(workers=2, init_timeout=60.0)
    except ConfigError as e:
        pytest.skip(f"a local Ray could not start on this machine: {e}")
    assert owner.owns_ray
    yield owner
    owner.close()
    import ray

    assert not ray.is_initialized()


def test_two_worker_nb201_search_on_local_ray(local_ray: Any, tmp_path: Path) -> None:
    from archsmith.executors import create_executor

    def rows(out: Path) -> list[Any]:
        store = Store(sqlite_url(out / "archsmith.db"))
        row = store.get_search("default")
        assert row is not None
        return store.trials(row.id)

    cfg = SearchConfig(space="nb201", benchmark="nb201/cifar10", strategy="random",
                       budget=12, seed=0, export=False)
    ex: Any = create_executor("ray", workers=2)
    assert not ex.owns_ray  # the module's Ray is reused, and left running by close()
    try:
        summary = Search(cfg, tmp_path / "ray", executor=ex).run()
    finally:
        ex.close()
    assert summary["trials"] == 12 and summary["complete"] == 12
    Search(cfg, tmp_path / "inline").run()
    assert [(r.arch, r.metrics) for r in rows(tmp_path / "ray")] == \
        [(r.arch, r.metrics) for r in rows(tmp_path / "inline")]


def test_timeouts_crashes_and_errors_become_failed_trials(local_ray: Any,
                                                          tmp_path: Path) -> None:
    from archsmith.evaluators import UserEvaluator
    from archsmith.executors._ray import RayExecutor
    from archsmith.space import create_space

    path = tmp_path / "faulty.py"
    path.write_text(FAULTY)
    ev = UserEvaluator(f"{path}:evaluate")
    space = create_space("nb201")
    rest = {f"edge_{i}_{j}": "skip_connect" for i, j in ((2, 1), (3, 0), (3, 1), (3, 2))}

    def arch(op: str, e20: str = "skip_connect") -> Any:
        return space.make({"edge_1_0": op, "edge_2_0": e20, **rest})

    cases = {
        0: (arch("none"), "RuntimeError: boom on none"),
        1: (arch("skip_connect"), "objective 'val_acc' is not a finite number: nan"),
        2: (arch("nor_conv_1x1"), "timeout: trial exceeded the time limit of 1 s"),
        3: (arch("nor_conv_1x1", "none"), "timeout: trial exceeded the time limit of 1 s"),
        4: (arch("nor_conv_3x3"), "worker process died (WorkerCrashedError"),
        5: (arch("nor_conv_3x3", "none"), "worker process died (WorkerCrashedError"),
        6: (arch("avg_pool_3x3"), "ok"),
    }
    ex = RayExecutor(workers=2, timeout_grace=2.0)
    results: dict[int, Any] = {}
    try:
        pending = sorted(cases)
        while len(results) < len(cases):
            while pending and len(cases) - len(pending) - len(results) < 2:  # 2 in flight
                n = pending.pop(0)
                ex.submit(n, ev, cases[n][0], None, 1.0)
            results.update(ex.wait())
    finally:
        ex.close()
    for n, (_, expected) in cases.items():
        res = results[n]
        if expected == "ok":
            assert res.ok, res.error
        else:
            assert expected in (res.error or ""), (n, res.error)
    assert results[6].metrics == {"val_acc": 42.0}


def test_missing_ray_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from archsmith.executors._ray import _import_ray

    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` fail
    with pytest.raises(ConfigError, match=r'pip install "archsmith\[ray\]"'):
        _import_ray(None)
