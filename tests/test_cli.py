from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from archsmith.cli import app

runner = CliRunner()


def _invoke(*args: str) -> tuple[int, str]:
    res = runner.invoke(app, list(args))
    return res.exit_code, res.output


def test_listings() -> None:
    for cmd, name in [("spaces", "nb201"), ("strategies", "evolution"),
                      ("datasets", "mnist1d")]:
        code, out = _invoke(cmd)
        assert code == 0 and name in out


def test_benchmark_search_show_json(tmp_path: Path) -> None:
    out = tmp_path / "run"
    code, text = _invoke("search", "--benchmark", "nb201/cifar10", "--strategy", "evolution",
                         "--budget", "200", "--out", str(out))
    assert code == 0, text
    code, text = _invoke("show", str(out), "--json")
    assert code == 0
    data = json.loads(text)
    assert set(data) == {"config", "trials", "best"}
    assert len(data["trials"]) == 200
    t = data["trials"][0]
    assert {"number", "state", "hash", "arch", "metrics", "error"} <= set(t)
    assert data["best"]["metrics"]["val_acc"] == max(
        x["metrics"]["val_acc"] for x in data["trials"] if x["state"] == "complete")
    code, text = _invoke("show", str(out))
    assert code == 0 and "val_acc" in text


@pytest.mark.parametrize(("args", "needle"), [
    (["--space", "mpl", "--budget", "1"], "Valid space names"),
    (["--strategy", "evolve", "--budget", "1"], "Valid strategy names"),
    (["--data", "nosuch", "--budget", "1"], "nosuch"),
    (["--data", "missing.csv", "--budget", "1"], "missing.csv"),
    (["--benchmark", "nb201/cifar11", "--budget", "1"], "Valid benchmark names"),
    (["--budget", "0"], "budget must be at least 1"),
    (["--space", "nb201", "--data", "mnist1d", "--budget", "1"], "cnn"),
    (["--evaluator", "nofile.py:f", "--space", "mlp", "--budget", "1"], "nofile.py"),
])
def test_bad_input_exit_2_without_traceback(tmp_path: Path, args: list[str],
                                            needle: str) -> None:
    code, text = _invoke("search", *args, "--out", str(tmp_path / "o"))
    assert code == 2, text
    assert needle in text and "Traceback" not in text


def test_folder_of_another_search_is_refused(tmp_path: Path) -> None:
    out = str(tmp_path / "o")
    assert _invoke("search", "--benchmark", "nb201/cifar10", "--budget", "3", "--out", out)[0] == 0
    before = (tmp_path / "o" / "archsmith.db").read_bytes()
    code, text = _invoke("search", "--benchmark", "nb201/cifar100", "--budget", "3",
                         "--out", out)
    assert code == 2 and "different search" in text
    assert _invoke("show", out, "--json")[0] == 0
    assert len(before) > 0


def test_user_evaluator_without_objective(tmp_path: Path) -> None:
    f = tmp_path / "ev.py"
    f.write_text("def fn(arch, budget):\n    return {'score': 1.0}\n")
    code, text = _invoke("search", "--evaluator", f"{f}:fn", "--space", "mlp", "--budget", "2",
                         "--out", str(tmp_path / "o"))
    assert code == 1, text  # no completed trial: the search failed
    data = json.loads(_invoke("show", str(tmp_path / "o"), "--json")[1])
    assert all(t["state"] == "failed" and "val_acc" in t["error"] for t in data["trials"])


def _count_complete(db: Path) -> int:
    import sqlite3

    if not db.exists():
        return 0
    try:
        con = sqlite3.connect(db, timeout=5)
        n = con.execute(
            "select count(*) from archsmith_trials where state='complete'").fetchone()[0]
        con.close()
        return int(n)
    except sqlite3.OperationalError:
        return 0


def _wait_complete(db: Path, n: int, timeout: float = 120.0) -> None:
    """Waits until ``db`` holds ``n`` complete trials (or ``timeout`` seconds pass)."""
    deadline = time.time() + timeout
    while _count_complete(db) < n and time.time() < deadline:
        time.sleep(0.05)


def _slow_evaluator(tmp_path: Path, seconds: float) -> str:
    """A user evaluator file that sleeps ``seconds`` per trial; returns ``path:fn``."""
    ev = tmp_path / "slow.py"
    ev.write_text(
        "import time\n"
        "def fn(arch, budget):\n"
        f"    time.sleep({seconds})\n"
        "    return {'val_acc': float(len(str(arch['decisions'])) % 97)}\n"
    )
    return f"{ev}:fn"


@pytest.mark.parametrize("workers", [1, 2])
def test_kill9_then_resume_loses_nothing(tmp_path: Path, workers: int) -> None:
    ev = _slow_evaluator(tmp_path, 0.15)
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "archsmith", "search", "--space", "mlp", "--evaluator",
           ev, "--strategy", "evolution", "--budget", "30", "--seed", "5",
           "--out", str(out), "--workers", str(workers)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_complete(out / "archsmith.db", 8)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = json.loads(_invoke("show", str(out), "--json")[1])["trials"]
    done_before = [t for t in before if t["state"] == "complete"]
    assert 8 <= len(done_before) < 30
    code, text = _invoke("resume", str(out))
    assert code == 0, text
    after = json.loads(_invoke("show", str(out), "--json")[1])["trials"]
    assert len(after) == 30 and all(t["state"] == "complete" for t in after)
    assert [t["number"] for t in after] == list(range(30))
    by_num = {t["number"]: t for t in after}
    for t in done_before:
        assert by_num[t["number"]]["arch"] == t["arch"]
        assert by_num[t["number"]]["metrics"] == t["metrics"]


def test_two_searches_in_one_storage_are_listed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'team.db'}"
    for name, bench in (("alice", "nb201/cifar10"), ("bob", "nb201/cifar100")):
        code, text = _invoke("search", "--benchmark", bench, "--budget", "3", "--storage", url,
                             "--name", name, "--out", str(tmp_path / name))
        assert code == 0, text
    code, text = _invoke("show", url)
    assert code == 0 and "alice" in text and "bob" in text
    data = json.loads(_invoke("show", url, "--name", "bob", "--json")[1])
    assert data["config"]["benchmark"] == "nb201/cifar100" and len(data["trials"]) == 3
    code, text = _invoke("show", str(tmp_path / "alice"))
    assert code == 0 and "bob" in text  # the other search of the same storage is listed
    code, text = _invoke("show", url, "--name", "carol")
    assert code == 2 and "alice, bob" in text


def test_critic_eval_json() -> None:
    code, text = _invoke("critic-eval", "--benchmark", "nb201/cifar10", "--train-size", "30",
                         "--test-size", "100", "--seeds", "1", "--critic", "gp", "--json")
    assert code == 0, text
    data = json.loads(text)
    assert set(data) == {"kendall_tau", "spearman", "mae"}
    assert -1.0 <= data["kendall_tau"] <= 1.0


def test_bench_command(tmp_path: Path) -> None:
    code, text = _invoke("bench", "--benchmark", "nb201/cifar10", "--strategies",
                         "random,evolution", "--budget", "10", "--seeds", "2",
                         "--out", str(tmp_path / "b"))
    assert code == 0, text
    for f in ("results.csv", "summary.md", "curves.png"):
        assert (tmp_path / "b" / f).is_file()
    code, text = _invoke("bench", "--benchmark", "nb201/cifar10", "--strategies", "randm",
                         "--budget", "10", "--seeds", "1", "--out", str(tmp_path / "c"))
    assert code == 2 and "Valid strategy names" in text


def test_second_driver_on_a_running_search_is_refused(tmp_path: Path) -> None:
    ev = _slow_evaluator(tmp_path, 0.2)
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "archsmith", "search", "--space", "mlp", "--evaluator",
           ev, "--strategy", "random", "--budget", "200", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_complete(out / "archsmith.db", 2)
        code, text = _invoke("resume", str(out))
        assert code == 2, text
        flat = " ".join(text.replace("│", " ").split())
        assert "being run by another archsmith driver" in flat and f"pid {proc.pid}" in flat
    finally:
        proc.kill()
        proc.wait()
    n = _count_complete(out / "archsmith.db")
    assert n < 200
    code, text = _invoke("resume", str(out), "--budget", str(n + 2))  # the killed one's
    assert code == 0, text  # lease is taken over at once
