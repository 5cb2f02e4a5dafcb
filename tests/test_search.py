from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ToyEvaluator, ToySpace

from archsmith.errors import ConfigError
from archsmith.search import Search, SearchConfig
from archsmith.store import Store, sqlite_url


def _run(out: Path, strategy: str = "random", budget: int = 12, seed: int = 0,
         evaluator: ToyEvaluator | None = None, **kw: object) -> tuple[Search, dict]:
    cfg = SearchConfig(space="toy", evaluator=None, strategy=strategy, budget=budget,
                       seed=seed, **kw)  # type: ignore[arg-type]
    s = Search(cfg, out, space=ToySpace(), evaluator=evaluator or ToyEvaluator())
    return s, s.run()


def _rows(out: Path) -> list:
    store = Store(sqlite_url(out / "archsmith.db"))
    row = store.get_search("default")
    assert row is not None
    return store.trials(row.id)


def test_search_stores_every_trial(tmp_path: Path) -> None:
    _, summary = _run(tmp_path, budget=10)
    assert summary["trials"] == 10 and summary["complete"] == 10
    rows = _rows(tmp_path)
    assert [r.number for r in rows] == list(range(10))
    assert all(r.state == "complete" and "val_acc" in r.metrics for r in rows)
    assert (tmp_path / "best" / "arch.json").is_file()
    assert summary["best"]["metrics"]["val_acc"] == max(r.metrics["val_acc"] for r in rows)


@pytest.mark.parametrize("strategy", ["random", "evolution"])
def test_same_seed_same_trials(tmp_path: Path, strategy: str) -> None:
    kw = {"strategy_config": {"population_size": 4, "sample_size": 2}} \
        if strategy == "evolution" else {}
    _run(tmp_path / "a", strategy, budget=15, seed=3, **kw)
    _run(tmp_path / "b", strategy, budget=15, seed=3, **kw)
    _run(tmp_path / "c", strategy, budget=15, seed=4, **kw)
    a, b, c = (_rows(tmp_path / x) for x in "abc")
    assert [(r.arch, r.metrics) for r in a] == [(r.arch, r.metrics) for r in b]
    assert [r.arch for r in a] != [r.arch for r in c]


def test_duplicates_answered_from_storage(tmp_path: Path) -> None:
    ev = ToyEvaluator()
    cfg = SearchConfig(space="toy", strategy="random", budget=12,
                       strategy_config={"avoid_seen": False})
    space = ToySpace(width=1)  # only two architectures exist
    Search(cfg, tmp_path, space=space, evaluator=ev).run()
    rows = _rows(tmp_path)
    assert len(rows) == 12 and ev.calls <= 2
    cached = [r for r in rows if r.cached_from is not None]
    assert len(cached) == 12 - ev.calls
    for r in cached:
        assert r.metrics == rows[r.cached_from].metrics


@pytest.mark.parametrize("fail", ["raise", "nan", "missing", "hang"])
def test_failures_are_recorded_and_search_goes_on(tmp_path: Path, fail: str) -> None:
    _, summary = _run(tmp_path, budget=25, evaluator=ToyEvaluator(fail),
                      trial_timeout=0.5 if fail == "hang" else None, seed=1)
    rows = _rows(tmp_path)
    assert len(rows) == 25 and all(r.state in ("complete", "failed") for r in rows)
    failed = [r for r in rows if r.state == "failed"]
    assert failed, "the toy evaluator should have failed at least once"
    expected = {"raise": "boom on a=0", "nan": "not a finite number",
                "missing": "no 'val_acc' metric", "hang": "timeout"}[fail]
    assert all(expected in (r.error or "") for r in failed)
    assert summary["complete"] == 25 - len(failed)


class _Interrupting(ToyEvaluator):
    def __init__(self, after: int) -> None:
        super().__init__()
        self.after = after

    def evaluate(self, arch, budget=None):  # type: ignore[no-untyped-def]
        if self.calls >= self.after:
            raise KeyboardInterrupt
        return super().evaluate(arch, budget)


@pytest.mark.parametrize("strategy", ["random", "evolution"])
def test_interrupt_then_resume_equals_uninterrupted(tmp_path: Path, strategy: str) -> None:
    kw = {"strategy_config": {"population_size": 4, "sample_size": 2}} \
        if strategy == "evolution" else {}
    _run(tmp_path / "full", strategy, budget=20, seed=7, **kw)
    cfg = SearchConfig(space="toy", strategy=strategy, budget=20, seed=7, **kw)  # type: ignore[arg-type]
    s = Search(cfg, tmp_path / "cut", space=ToySpace(), evaluator=_Interrupting(after=9))
    with pytest.raises(KeyboardInterrupt):
        s.run()
    before = _rows(tmp_path / "cut")
    assert len(before) == 9 and all(r.state == "complete" for r in before)
    resumed = Search.resume(tmp_path / "cut", space=ToySpace(), evaluator=ToyEvaluator())
    summary = resumed.run()
    assert summary["trials"] == 20 and summary["status"] == "finished"
    after = _rows(tmp_path / "cut")
    full = _rows(tmp_path / "full")
    assert [(r.arch, r.metrics, r.finished_at) for r in after[:9]] == \
        [(r.arch, r.metrics, r.finished_at) for r in before]
    assert [(r.arch, r.metrics) for r in after] == [(r.arch, r.metrics) for r in full]


def test_other_search_in_folder_is_refused(tmp_path: Path) -> None:
    _run(tmp_path, budget=3, seed=0)
    before = _rows(tmp_path)
    with pytest.raises(ConfigError, match="different search"):
        _run(tmp_path, budget=3, seed=1)
    assert [(r.arch, r.metrics) for r in _rows(tmp_path)] == \
        [(r.arch, r.metrics) for r in before]


def test_same_search_again_continues_with_larger_budget(tmp_path: Path) -> None:
    _run(tmp_path, budget=4)
    _, summary = _run(tmp_path, budget=8)
    assert summary["trials"] == 8


def test_resume_needs_a_search_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="holds no archsmith search"):
        Search.resume(tmp_path)


class _Flaky(ToyEvaluator):
    """Fails the first attempt of every architecture, then succeeds."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def evaluate(self, arch, budget=None):  # type: ignore[no-untyped-def]
        if arch.hash not in self.seen:
            self.seen.add(arch.hash)
            raise RuntimeError("transient")
        return super().evaluate(arch, budget)


def test_max_retries(tmp_path: Path) -> None:
    _, summary = _run(tmp_path / "r", budget=6, evaluator=_Flaky(), max_retries=1)
    assert summary["complete"] == 6
    _, summary = _run(tmp_path / "n", budget=6, evaluator=_Flaky(), fail_fast=0)
    assert summary["failed"] == 6 and summary["error"].startswith("all 6 trials failed")
