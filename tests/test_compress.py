"""``archsmith compress``: N2N students of a trained teacher, trained by distillation,
stored like a search (show / export / load / resume); bad teachers are refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import archsmith
from archsmith import Search, SearchConfig
from archsmith.cli import app


@pytest.fixture(scope="module")
def teacher(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("teacher") / "run"
    Search(SearchConfig(data="wine", space="mlp", strategy="random", budget=2, epochs=20,
                        seed=0, space_config={"max_layers": 3, "widths": [16, 64, 128]}),
           out).run()
    return out / "best"


def test_compress_writes_students_like_a_search(teacher: Path, tmp_path: Path) -> None:
    out = tmp_path / "c"
    result = CliRunner().invoke(app, ["compress", str(teacher), "--out", str(out),
                                      "--budget", "6", "--epochs", "3",
                                      "--max-accuracy-drop", "50"])
    assert result.exit_code == 0, result.output
    info = json.loads((out / "students.json").read_text())
    assert info["pareto"] and info["best"] is not None
    assert info["best"]["params"] <= info["teacher"]["params"]
    params = [s["params"] for s in info["pareto"]]
    accs = [s["val_acc"] for s in info["pareto"]]
    assert params == sorted(params) and accs == sorted(accs)  # a front: more is better
    shown = json.loads(CliRunner().invoke(app, ["show", str(out), "--json"]).output)
    assert len(shown["trials"]) == 6 and shown["config"]["strategy"] == "n2n"
    # the exported teacher saw the validation split: students are chosen with its
    # architecture trained on the training split only, which reproduces its trial
    trial = json.loads((teacher / "metrics.json").read_text())["metrics"]["val_acc"]
    ref = json.loads((out / "teacher-train" / "metrics.json").read_text())
    assert ref["metrics"]["val_acc"] == pytest.approx(trial, abs=1e-9)
    assert info["teacher"]["val_acc_reference"] == pytest.approx(trial, abs=1e-9)
    assert shown["config"]["teacher"] == str((out / "teacher-train").resolve())
    assert shown["config"]["training"]["final_teacher"] == str(teacher.resolve())
    final = json.loads((out / "best" / "metrics.json").read_text())
    assert "weights" not in final  # distilled again from the full teacher on train+val
    kept = torch.load(out / "students" / f"{final['hash']}.pt", weights_only=True)["net"]
    exported = torch.load(out / "best" / "weights.pt", weights_only=True)
    assert any(not torch.equal(kept[k], exported[k]) for k in exported)
    # the exported student is the stored one: its test accuracy is the stored one
    model = archsmith.load(out, preprocess=False)
    from archsmith.evaluators import TrainingEvaluator

    ds = TrainingEvaluator("wine").dataset
    with torch.no_grad():
        acc = 100.0 * float((model(torch.from_numpy(ds.X_test)).argmax(1).numpy()
                             == ds.y_test).mean())
    assert acc == pytest.approx(info["best"]["test_acc"], abs=1e-6)
    # resume after the budget: nothing is lost, more students are added
    assert CliRunner().invoke(app, ["resume", str(out), "--budget", "8"]).exit_code == 0
    shown = json.loads(CliRunner().invoke(app, ["show", str(out), "--json"]).output)
    assert len(shown["trials"]) == 8


def test_bad_teachers_and_settings_are_refused(teacher: Path, tmp_path: Path) -> None:
    def run(*args: str) -> str:
        result = CliRunner().invoke(app, ["compress", *args, "--out", str(tmp_path / "x")])
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        return " ".join(result.output.split())

    assert "max-accuracy-drop must be" in run(str(teacher), "--max-accuracy-drop", "-1")
    other = tmp_path / "nb201"
    shutil.copytree(teacher, other)
    meta = json.loads((other / "arch.json").read_text())
    (other / "arch.json").write_text(json.dumps({**meta, "space": "nb201"}))
    assert "compress works on 'mlp' and 'cnn'" in run(str(other))
    wrong = tmp_path / "wrong"
    shutil.copytree(teacher, wrong)
    sd = torch.load(wrong / "weights.pt", weights_only=True)
    first = next(k for k, v in sd.items() if v.dim() == 2)
    sd[first] = torch.zeros(3, 3)
    torch.save(sd, wrong / "weights.pt")
    assert "The teacher's weights in" in run(str(wrong))
    assert "searches have no weights" in run(str(tmp_path / "missing"))


def test_a_state_dict_file_with_its_architecture_is_a_teacher(teacher: Path,
                                                             tmp_path: Path) -> None:
    meta = json.loads((teacher / "arch.json").read_text())
    arch = tmp_path / "arch.json"
    arch.write_text(json.dumps({"space": meta["space"], "space_config": meta["space_config"],
                                "decisions": meta["decisions"]}))
    out = tmp_path / "c"
    args = ["compress", str(teacher / "weights.pt"), "--data", "wine", "--out", str(out),
            "--budget", "2", "--epochs", "1", "--max-accuracy-drop", "100"]
    result = CliRunner().invoke(app, [*args, "--arch", str(arch)])
    assert result.exit_code == 0, result.output
    assert (out / "teacher" / "arch.json").is_file() and (out / "best").is_dir()
    assert not (out / "teacher-train").exists()  # nothing says it saw validation data
    missing = CliRunner().invoke(app, [*args[:4], "--out", str(tmp_path / "d")])
    assert missing.exit_code == 2 and "--arch" in missing.output


def _complete(db: Path) -> int:
    import sqlite3

    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db) as con:
            return int(con.execute("select count(*) from archsmith_trials where state = "
                                   "'complete'").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_kill_9_then_the_same_command_or_resume_goes_on(teacher: Path, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "c"
    args = ["compress", str(teacher), "--out", str(out), "--budget", "10", "--epochs", "40",
            "--max-accuracy-drop", "50"]
    proc = subprocess.Popen([sys.executable, "-m", "archsmith", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while _complete(out / "archsmith.db") < 3 and time.time() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    show = ["show", str(out), "--json"]
    before = [t for t in json.loads(CliRunner().invoke(app, show).output)["trials"]
              if t["state"] == "complete"]
    assert 3 <= len(before) < 10 and not (out / "students.json").exists()
    result = CliRunner().invoke(app, args)  # the same command continues the stored run
    assert result.exit_code == 0, result.output
    after = {t["number"]: t for t in json.loads(CliRunner().invoke(app, show).output)["trials"]}
    assert len(after) == 10 and all(t["state"] == "complete" for t in after.values())
    assert all(after[t["number"]]["metrics"] == t["metrics"] for t in before)
    assert json.loads((out / "students.json").read_text())["best"] is not None
    (out / "students.json").unlink()
    result = CliRunner().invoke(app, ["resume", str(out), "--budget", "11"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "students.json").read_text())["pareto"]


def test_a_train_only_teacher_of_another_teacher_is_not_reused(teacher: Path,
                                                                tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(teacher.parent, run)
    out = tmp_path / "c"
    args = ["compress", str(run / "best"), "--out", str(out), "--budget", "2", "--epochs",
            "1", "--max-accuracy-drop", "100"]
    assert CliRunner().invoke(app, args).exit_code == 0
    made = json.loads((out / "teacher-train" / "metrics.json").read_text())["made_from"]
    assert made["seed"] == 0 and made["epochs"] == 20  # the teacher's search's settings
    sd = torch.load(run / "best" / "weights.pt", weights_only=True)
    torch.save({k: v + 1 if v.is_floating_point() else v for k, v in sd.items()},
               run / "best" / "weights.pt")
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "trained from another teacher" in " ".join(
        result.output.split())
