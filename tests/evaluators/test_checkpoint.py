"""A trial continued from a checkpoint ends as an uninterrupted one (issue 13 groundwork)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from archsmith.evaluators import TrainingEvaluator
from archsmith.evaluators._checkpoint import checkpoint_key, load_checkpoint
from archsmith.space import create_space


def _arch() -> object:
    space = create_space("cnn")
    rng = np.random.default_rng(3)
    while True:  # one with dropout-free conv stages and batch norm somewhere
        arch = space.sample(rng)
        if any(arch[f"norm_{k}"] == "batch" for k in range(1, int(arch["n_stages"]) + 1)):
            return arch


def test_continuing_from_a_checkpoint_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    ev = TrainingEvaluator("digits", epochs=5, seed=0)
    arch = _arch()
    full_ckpt = tmp_path / "full.pt"
    full = ev.evaluate(arch, 5, checkpoint=full_ckpt)
    ckpt = tmp_path / "rungs.pt"
    for budget in (1, 3, 5):  # rungs 1 -> 3 -> 5
        res = ev.evaluate(arch, budget, checkpoint=ckpt)
        assert res.ok, res.error
        assert [c["epoch"] for c in res.curve] == list(range(1, budget + 1))
    assert res.metrics["resumed_from_epoch"] == 3.0
    assert res.curve == full.curve and res.metrics["val_acc"] == full.metrics["val_acc"]
    key = checkpoint_key(ev.describe(), arch.hash)  # type: ignore[attr-defined]
    a, b = load_checkpoint(full_ckpt, key), load_checkpoint(ckpt, key)
    assert a is not None and b is not None and a["epoch"] == b["epoch"] == 5
    for name, tensor in a["net"].items():
        assert torch.equal(tensor, b["net"][name]), name


def test_a_checkpoint_of_other_settings_is_ignored(tmp_path: Path) -> None:
    arch = _arch()
    ckpt = tmp_path / "c.pt"
    TrainingEvaluator("digits", epochs=2, seed=0).evaluate(arch, 2, checkpoint=ckpt)
    other = TrainingEvaluator("digits", epochs=2, seed=0, lr=0.01)
    res = other.evaluate(arch, 3, checkpoint=ckpt)
    assert "resumed_from_epoch" not in res.metrics  # trained from scratch
    ckpt.write_bytes(b"garbage")
    assert other.evaluate(arch, 1, checkpoint=ckpt).ok  # a torn file is not an error
