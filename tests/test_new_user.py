"""What a new user meets first (issue 11): relocatable run folders, the test split kept
for the final best, searches that only fail, show's status and layout, CLI conventions."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from archsmith.cli import app

runner = CliRunner()


def _invoke(*args: str) -> tuple[int, str]:
    res = runner.invoke(app, list(args))
    return res.exit_code, res.output


def _flat(text: str) -> str:
    """Rich output with box characters and line breaks removed."""
    for ch in "│┃║╭╮╰╯─━":
        text = text.replace(ch, " ")
    return " ".join(text.split())


def _evaluator(tmp_path: Path, body: str = "return {'val_acc': float(len(str(arch)) % 97)}",
               name: str = "ev") -> str:
    f = tmp_path / f"{name}.py"
    f.write_text(f"import time\ndef fn(arch, budget):\n    {body}\n")
    return f"{f}:fn"


def _n_trials(db: Path) -> int:
    con = sqlite3.connect(db)
    try:
        return int(con.execute("select count(*) from archsmith_trials").fetchone()[0])
    finally:
        con.close()


# -- 1. a run folder is self-contained and relocatable -----------------------------------
def test_copied_and_moved_run_folders_use_their_own_database(tmp_path: Path) -> None:
    ev = _evaluator(tmp_path)
    a = tmp_path / "runs" / "a"
    code, text = _invoke("search", "--space", "mlp", "--evaluator", ev, "--budget", "3",
                         "--out", str(a))
    assert code == 0, text
    pointer = json.loads((a / "archsmith.json").read_text())
    assert pointer["storage"] == "archsmith.db"  # relative to the folder

    copy = tmp_path / "runs" / "copy"
    shutil.copytree(a, copy)
    code, text = _invoke("resume", str(copy), "--budget", "5")
    assert code == 0, text
    assert _n_trials(copy / "archsmith.db") == 5 and _n_trials(a / "archsmith.db") == 3

    moved = tmp_path / "elsewhere" / "b"
    moved.parent.mkdir()
    shutil.move(str(a), moved)
    code, text = _invoke("show", str(moved), "--json")
    assert code == 0, text
    assert len(json.loads(text)["trials"]) == 3
    code, text = _invoke("resume", str(moved), "--budget", "4")
    assert code == 0, text
    assert _n_trials(moved / "archsmith.db") == 4


def test_old_absolute_pointer_of_a_copied_folder_uses_the_copy(tmp_path: Path) -> None:
    """Folders written before pointer version 2 named their database absolutely."""
    ev = _evaluator(tmp_path)
    a = tmp_path / "a"
    assert _invoke("search", "--space", "mlp", "--evaluator", ev, "--budget", "2",
                   "--out", str(a))[0] == 0
    old = {"storage": f"sqlite:///{(a / 'archsmith.db').resolve()}", "name": "default",
           "version": 1}
    (a / "archsmith.json").write_text(json.dumps(old))
    copy = tmp_path / "copy"
    shutil.copytree(a, copy)
    code, text = _invoke("resume", str(copy), "--budget", "3")
    assert code == 0, text
    assert _n_trials(a / "archsmith.db") == 2 and _n_trials(copy / "archsmith.db") == 3
    assert json.loads((copy / "archsmith.json").read_text())["storage"] == "archsmith.db"


def test_pointer_to_a_database_holding_another_search_is_refused(tmp_path: Path) -> None:
    ev1, ev2 = _evaluator(tmp_path, name="one"), _evaluator(
        tmp_path, "return {'val_acc': 1.0}", name="two")
    shared = tmp_path / "team.db"
    for folder, ev in (("a", ev1), ("b", ev2)):
        url = f"sqlite:///{shared if folder == 'a' else tmp_path / 'other.db'}"
        assert _invoke("search", "--space", "mlp", "--evaluator", ev, "--budget", "2",
                       "--storage", url, "--out", str(tmp_path / folder))[0] == 0
    # folder a's database now holds b's search under the same name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{shared}{suffix}").unlink(missing_ok=True)
        if Path(f"{tmp_path / 'other.db'}{suffix}").exists():
            shutil.copy(f"{tmp_path / 'other.db'}{suffix}", f"{shared}{suffix}")
    for cmd in (["show", str(tmp_path / "a")], ["resume", str(tmp_path / "a")]):
        code, text = _invoke(*cmd)
        assert code == 2, text
        assert "different one" in _flat(text) and "Traceback" not in text


# -- 4. the test split is scored for the final best only ---------------------------------
def test_test_split_is_scored_only_for_the_final_best(tmp_path: Path) -> None:
    out = tmp_path / "o"
    code, text = _invoke("search", "--space", "mlp", "--data", "wine", "--budget", "3",
                         "--epochs", "2", "--strategy", "random", "--out", str(out))
    assert code == 0, text
    data = json.loads(_invoke("show", str(out), "--json")[1])
    assert all("test_acc" not in t["metrics"] and "test_loss" not in t["metrics"]
               for t in data["trials"])
    assert 0.0 <= data["best"]["final"]["test_acc"] <= 100.0
    code, text = _invoke("show", str(out))
    assert code == 0 and "test_acc" not in text.split("best retrained")[0]
    # any trial can be retrained and scored like the best
    number = next(t["number"] for t in data["trials"] if t["number"] != data["best"]["number"])
    code, text = _invoke("export", str(out), "--trial", str(number))
    assert code == 0, text
    info = json.loads((out / f"trial-{number}" / "metrics.json").read_text())
    assert info["number"] == number and "test_acc" in info["final"]
    assert (out / f"trial-{number}" / "model.onnx").is_file()
    code, text = _invoke("export", str(out), "--trial", "99")
    assert code == 2 and "Trial 99 is not stored" in _flat(text)


# -- 5. a search whose trials all fail exits non-zero ------------------------------------
def test_search_stops_early_when_the_first_trials_fail_alike(tmp_path: Path) -> None:
    ev = _evaluator(tmp_path, "return 'oops'")
    out = tmp_path / "o"
    code, text = _invoke("search", "--space", "mlp", "--evaluator", ev, "--budget", "20",
                         "--out", str(out))
    assert code == 1, text
    assert "first 3 trials all failed with the same error" in _flat(text)
    data = json.loads(_invoke("show", str(out), "--json")[1])
    assert len(data["trials"]) == 3 and data["config"]["status"] == "failed"


def test_search_without_a_completed_trial_exits_nonzero(tmp_path: Path) -> None:
    ev = _evaluator(tmp_path, "raise ValueError(f'bad {time.time()}')")
    code, text = _invoke("search", "--space", "mlp", "--evaluator", ev, "--budget", "4",
                         "--fail-fast", "0", "--out", str(tmp_path / "o"))
    assert code == 1, text
    assert "all 4 trials failed" in _flat(text) and "ValueError" in text


def test_different_errors_or_a_success_do_not_stop_the_search(tmp_path: Path) -> None:
    body = ("if arch['decisions']['n_layers'] % 2:\n        raise ValueError('odd')\n"
            "    return {'val_acc': 1.0}")
    code, text = _invoke("search", "--space", "mlp", "--evaluator", _evaluator(tmp_path, body),
                         "--budget", "8", "--strategy", "random", "--out", str(tmp_path / "o"))
    assert code == 0, text
    assert len(json.loads(_invoke("show", str(tmp_path / "o"), "--json")[1])["trials"]) == 8


# -- 6. --out that cannot be a folder ----------------------------------------------------
@pytest.mark.parametrize("sub", ["", "sub"])
def test_out_under_an_existing_file_is_a_clear_error(tmp_path: Path, sub: str) -> None:
    f = tmp_path / "afile"
    f.write_text("x")
    out = f / sub if sub else f
    code, text = _invoke("search", "--space", "mlp", "--evaluator", _evaluator(tmp_path),
                         "--budget", "1", "--out", str(out))
    assert code == 2, text
    assert "archsmith: error" in text and "Traceback" not in text
    assert f.read_text() == "x"


# -- 7. show -----------------------------------------------------------------------------
def test_show_says_when_the_driver_of_a_running_search_is_gone(tmp_path: Path) -> None:
    from tests.test_cli import _slow_evaluator, _wait_complete

    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "archsmith", "search", "--space", "mlp", "--evaluator",
           _slow_evaluator(tmp_path, 0.2), "--budget", "100", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_complete(out / "archsmith.db", 2)
        code, text = _invoke("show", str(out))
        assert code == 0 and "— running —" in _flat(text)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    code, text = _invoke("show", str(out))
    flat = _flat(text)
    assert code == 0 and "stopped (driver gone)" in flat
    assert f"archsmith resume {out}" in flat


def test_show_fits_80_columns_with_a_compact_architecture(tmp_path: Path) -> None:
    from archsmith.space import create_space

    out = tmp_path / "o"
    assert _invoke("search", "--space", "cnn", "--data", "digits", "--budget", "2",
                   "--epochs", "1", "--strategy", "random", "--no-export",
                   "--out", str(out))[0] == 0
    data = json.loads(_invoke("show", str(out), "--json")[1])
    space = create_space("cnn")
    code, text = _invoke("show", str(out))
    assert code == 0
    assert max(len(line) for line in text.splitlines()) <= 80
    squeezed = "".join(_flat(text).split())
    for t in data["trials"]:
        compact = space.compact(space.from_dict(t["arch"]))
        assert len(compact) < len(space.summary(space.from_dict(t["arch"])))
        assert "".join(compact.split()) in squeezed
    code, text = _invoke("show", str(out), "--wide")
    assert code == 0 and "channels_1=" in text and "latency_ms" in text


# -- 8. CLI conventions ------------------------------------------------------------------
def test_help_shows_defaults_and_plain_flags() -> None:
    code, text = _invoke("search", "--help")
    assert code == 0
    flat = " ".join(text.split())
    for needle in ("--budget <int> Number of trials;", "full trainings", "[default: 20]",
                   "[default: evolution]", "--scheduler", "--min-epochs", "--eta",
                   "--export / --no-export", "--threads", "--device", "num_threads",
                   "batch_size"):
        assert needle in flat, needle
    assert "<bool>" not in text
    code, text = _invoke("--version")
    assert code == 0 and text.startswith("archsmith ")


def test_progress_bar_does_not_claim_a_retraining_it_does_not_do() -> None:
    from archsmith._cli_view import _ProgressView

    for retrains, label in ((True, "retraining best"), (False, "finishing")):
        view = _ProgressView(3, "val_acc", verbose=True, retrains=retrains)
        view({"event": "final", "best": 1.0})
        assert view.progress.tasks[0].description == label


def test_threads_and_device_flags_reach_the_training_settings(tmp_path: Path) -> None:
    out = tmp_path / "o"
    code, text = _invoke("search", "--space", "mlp", "--data", "iris", "--budget", "1",
                         "--epochs", "1", "--threads", "2", "--device", "cpu", "--no-export",
                         "--out", str(out))
    assert code == 0, text
    cfg = json.loads(_invoke("show", str(out), "--json")[1])["config"]
    assert cfg["training"] == {"num_threads": 2, "device": "cpu"}
    assert cfg["evaluator_info"]["num_threads"] == 2
    code, text = _invoke("search", "--space", "mlp", "--data", "iris", "--budget", "1",
                         "--device", "tpu", "--out", str(tmp_path / "p"))
    assert code == 2 and "Invalid device 'tpu'" in _flat(text)


def test_latency_is_a_median_with_its_spread() -> None:
    import torch

    from archsmith.evaluators._costs import LATENCY_RUNS, measure_latency

    net = torch.nn.Sequential(torch.nn.Linear(40, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    median, iqr = measure_latency(net, (40,))
    assert 0.0 < median < 50.0
    assert iqr >= 0.0
    assert LATENCY_RUNS[0] >= 20


# -- 9. every command that takes --benchmark resolves its space alike --------------------
def test_critic_eval_on_a_benchmark_with_a_smaller_op_set() -> None:
    code, text = _invoke("critic-eval", "--benchmark", "nbgraph/proteins", "--train-size", "20",
                         "--test-size", "30", "--seeds", "1", "--critic", "gp", "--json")
    assert code == 0, text
    assert -1.0 <= json.loads(text)["kendall_tau"] <= 1.0


@pytest.mark.parametrize("content", ["[]", '{"space": "mlp"}',
                                     '{"space": "mlp", "decisions": {}, "input_shape": "x"}'])
def test_a_damaged_arch_json_is_a_clear_error(tmp_path: Path, content: str) -> None:
    best = tmp_path / "run" / "best"
    best.mkdir(parents=True)
    (best / "arch.json").write_text(content)
    for cmd in (["export", str(tmp_path / "run")], ["predict", str(tmp_path / "run"), "iris"]):
        code, text = _invoke(*cmd)
        assert code == 2 and "is damaged" in _flat(text) and "Traceback" not in text


def test_time_budget_stops_starting_trials_and_exports_the_best(tmp_path: Path) -> None:
    ev = _evaluator(tmp_path, "time.sleep(0.1)\n    return {'val_acc': float(len(str(arch)) % 97)}")
    out = tmp_path / "o"
    code, text = _invoke("search", "--space", "mlp", "--evaluator", ev, "--budget", "200",
                         "--time-budget", "1", "--out", str(out))
    assert code == 0, text
    assert "time budget of 1 s reached" in _flat(text)
    data = json.loads(_invoke("show", str(out), "--json")[1])
    n = len(data["trials"])
    assert 3 <= n < 30 and data["config"]["status"] == "finished" and data["best"]
    code, text = _invoke("resume", str(out), "--time-budget", "0.5")
    assert code == 0, text
    assert len(json.loads(_invoke("show", str(out), "--json")[1])["trials"]) > n


@pytest.mark.parametrize("value", ["-5", "0", "inf", "nan"])
def test_bad_time_budget_is_a_clear_error(tmp_path: Path, value: str) -> None:
    code, text = _invoke("search", "--space", "mlp", "--evaluator", _evaluator(tmp_path),
                         "--time-budget", value, "--out", str(tmp_path / "o"))
    assert code == 2 and "time_budget must be a positive" in _flat(text)
