"""``archsmith compress NET.pt --data D`` with a whole ``nn.Sequential`` trained outside
archsmith on the data's raw values: it is read as an ``mlp`` network computing the same
function on archsmith's standardised inputs; other modules are refused clearly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from archsmith.cli import app
from archsmith.evaluators import load_dataset


def _raw(x: np.ndarray, prep: dict) -> torch.Tensor:
    """archsmith's standardised inputs back to the data's raw values (per channel)."""
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mean, std = (np.asarray(prep[k]).reshape(shape) for k in ("mean", "std"))
    return torch.from_numpy((x * std + mean) / prep["scale"]).float().flatten(1)


@pytest.fixture(scope="module")
def user_net(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user's own MLP, trained on the raw features of sklearn's wine data."""
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)
    X, y = torch.tensor(X, dtype=torch.float32), torch.tensor(y)
    g = torch.Generator().manual_seed(0)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = nn.Sequential(nn.Linear(13, 24), nn.BatchNorm1d(24), nn.ReLU(),
                            nn.Dropout(0.2), nn.Linear(24, 20), nn.Tanh(), nn.Linear(20, 3))
        opt = torch.optim.Adam(net.parameters(), lr=0.01)
        for _ in range(60):
            for idx in torch.randperm(len(y), generator=g).split(32):
                opt.zero_grad()
                nn.functional.cross_entropy(net(X[idx]), y[idx]).backward()
                opt.step()
    path = tmp_path_factory.mktemp("user") / "net.pt"
    torch.save(net.eval(), path)
    return path


def test_a_whole_sequential_is_compressed_with_its_own_function(user_net: Path,
                                                                 tmp_path: Path) -> None:
    out = tmp_path / "c"
    result = CliRunner().invoke(app, ["compress", str(user_net), "--data", "wine", "--out",
                                      str(out), "--budget", "2", "--epochs", "2",
                                      "--max-accuracy-drop", "50"])
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "teacher" / "arch.json").read_text())
    assert meta["space"] == "mlp" and meta["converted_from"] == str(user_net.resolve())
    assert meta["decisions"]["width_1"] == 24 and meta["decisions"]["width_2"] == 20
    assert meta["decisions"]["act_2"] == "tanh" and meta["decisions"]["norm_1"] == "batch"
    assert 20 in meta["space_config"]["widths"] and 24 in meta["space_config"]["widths"]
    # the teacher's accuracy is the user's network's own on the raw validation examples
    ds = load_dataset("wine")
    net = torch.load(user_net, weights_only=False)
    with torch.no_grad():
        pred = net(_raw(ds.X_val, ds.info["preprocessing"])).argmax(1).numpy()
    own = 100.0 * float((pred == ds.y_val).mean())
    info = json.loads((out / "students.json").read_text())
    assert info["teacher"]["val_acc"] == pytest.approx(own, abs=1e-9)
    assert own > 60.0  # it learnt something: the conversion is checked on a real network


def test_modules_that_are_not_a_plain_mlp_are_refused(user_net: Path, tmp_path: Path) -> None:
    def run(module: object, data: str = "wine") -> str:
        path = tmp_path / "m.pt"
        torch.save(module, path)
        result = CliRunner().invoke(app, ["compress", str(path), "--data", data,
                                          "--out", str(tmp_path / "x")])
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        return " ".join(result.output.replace("│", " ").split())

    assert "layer 0 is a Conv1d" in run(nn.Sequential(nn.Conv1d(1, 4, 3), nn.Flatten(),
                                                       nn.Linear(44, 3)))
    assert "not an nn.Sequential" in run(nn.Linear(13, 3))
    assert "has 64 features and 10 classes" in run(torch.load(user_net, weights_only=False),
                                                   "digits")
    assert "last layer must be the Linear classifier" in run(
        nn.Sequential(nn.Linear(13, 8), nn.ReLU(), nn.Linear(8, 3), nn.ReLU()))
    assert "sets negative_slope differently" in run(
        nn.Sequential(nn.Linear(13, 8), nn.LeakyReLU(0.2), nn.Linear(8, 3)))
    assert "sets eps, affine differently" in run(
        nn.Sequential(nn.Linear(13, 8), nn.BatchNorm1d(8, eps=0.5, affine=False), nn.ReLU(),
                      nn.Linear(8, 3)))
    assert "layer 2 is a Flatten" in run(
        nn.Sequential(nn.Flatten(), nn.Linear(13, 8), nn.Flatten(), nn.Linear(8, 3)))
    assert "for a state_dict give its architecture with --arch" in run(
        nn.Sequential(nn.Linear(13, 8), nn.ReLU(), nn.Linear(8, 3)).state_dict())


def test_nested_and_double_precision_sequentials_are_read(tmp_path: Path) -> None:
    from archsmith._sequential import sequential_teacher
    from archsmith.evaluators._distill import load_teacher

    net = nn.Sequential(nn.Sequential(nn.Linear(13, 8), nn.LayerNorm(8), nn.SiLU()),
                        nn.Linear(8, 3)).double()
    torch.save(net, tmp_path / "n.pt")
    folder = sequential_teacher(tmp_path / "n.pt", "wine", tmp_path / "out")
    assert folder is not None
    arch, _, meta = load_teacher(folder)
    assert arch.space.compact(arch) == "8·silu·ln" and meta["space_config"]["widths"][0] == 8
