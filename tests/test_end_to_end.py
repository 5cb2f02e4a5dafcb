"""Real training end to end: search, retrain the best, export, reload."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from typer.testing import CliRunner

import archsmith
from archsmith.cli import app
from archsmith.evaluators import load_dataset

runner = CliRunner()


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("e2e") / "run"
    res = runner.invoke(app, ["search", "--space", "mlp", "--data", "digits", "--strategy",
                              "evolution", "--budget", "4", "--epochs", "1", "--seed", "1",
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out


def test_best_is_retrained_exported_and_reloadable(finished_run: Path) -> None:
    best = finished_run / "best"
    for f in ("arch.json", "weights.pt", "model.onnx", "metrics.json"):
        assert (best / f).is_file(), f
    info = json.loads((best / "metrics.json").read_text())
    assert 0.0 <= info["final"]["test_acc"] <= 100.0
    net = archsmith.load(finished_run)  # takes raw inputs: digits' 0..16 pixel values
    assert isinstance(net, torch.nn.Module) and not net.training
    data = load_dataset("digits", seed=1)
    raw = load_digits().data.reshape(-1, 1, 8, 8)[data.indices["test"]].astype(np.float32)
    with torch.no_grad():
        logits = net(torch.from_numpy(raw))
    acc = 100.0 * float((logits.argmax(1).numpy() == data.y_test).mean())
    assert abs(acc - info["final"]["test_acc"]) <= 100.0 / len(raw) + 1e-9
    bare = archsmith.load(finished_run, preprocess=False)  # the standardised inputs
    with torch.no_grad():
        logits = bare(torch.from_numpy(data.X_test))
    acc = 100.0 * float((logits.argmax(1).numpy() == data.y_test).mean())
    assert acc == pytest.approx(info["final"]["test_acc"], abs=1e-6)


def test_onnx_matches_torch(finished_run: Path) -> None:
    import onnx

    model = onnx.load(str(finished_run / "best" / "model.onnx"))
    onnx.checker.check_model(model)


def test_export_torchscript(finished_run: Path) -> None:
    res = runner.invoke(app, ["export", str(finished_run), "--format", "torchscript"])
    assert res.exit_code == 0, res.output
    ts = torch.jit.load(str(finished_run / "best" / "model.torchscript.pt"))
    x = torch.rand(2, 1, 8, 8) * 16
    net = archsmith.load(finished_run)
    with torch.no_grad():
        assert torch.allclose(ts(x), net(x))
    res = runner.invoke(app, ["export", str(finished_run), "--format", "tflite"])
    assert res.exit_code == 2 and "onnx, torchscript" in res.output


def test_same_seed_same_scores(finished_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "again"
    res = runner.invoke(app, ["search", "--space", "mlp", "--data", "digits", "--strategy",
                              "evolution", "--budget", "4", "--epochs", "1", "--seed", "1",
                              "--out", str(out), "--no-export"])
    assert res.exit_code == 0, res.output

    def trials(p: Path) -> list[tuple[str, float]]:
        data = json.loads(runner.invoke(app, ["show", str(p), "--json"]).output)
        return [(t["hash"], t["metrics"]["val_acc"]) for t in data["trials"]]

    assert trials(out) == trials(finished_run)
    assert np.isfinite([v for _, v in trials(out)]).all()
