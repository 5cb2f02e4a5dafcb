"""TrainingEvaluator: metrics, determinism, failures, fit_final and pickling."""

from __future__ import annotations

import math
import pickle
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch

from archsmith.errors import ConfigError, SpaceError
from archsmith.evaluators import Evaluator
from archsmith.evaluators._training import TrainingEvaluator, derive_seeds
from archsmith.space import Architecture, Decision, SearchSpace

TIMING = {"latency_ms", "latency_iqr_ms", "train_seconds"}


@dataclass
class TinySpace(SearchSpace):
    """Flatten → Linear(width) → ReLU → Linear; ``mode`` breaks it on purpose."""

    name = "tiny"
    mode: str = "ok"

    def _decisions(self) -> list[Decision]:
        return [Decision("width", (8, 16))]

    def build(self, arch: Architecture, input_shape: tuple[int, ...], num_classes: int) -> Any:
        width = int(arch["width"])  # type: ignore[arg-type]
        n_in = math.prod(input_shape) + (1 if self.mode == "shape" else 0)
        layers: list[torch.nn.Module] = [
            torch.nn.Flatten(), torch.nn.Linear(n_in, width), torch.nn.ReLU(),
            torch.nn.Linear(width, num_classes + (1 if self.mode == "outshape" else 0)),
        ]
        if self.mode == "nan":
            layers.append(_Nan())
        if self.mode == "build":
            raise ValueError("cannot build this one")
        return torch.nn.Sequential(*layers)

    def check_data(self, input_shape: tuple[int, ...], num_classes: int) -> None:
        if self.mode == "reject":
            raise SpaceError("tiny space rejects this data")


class _Nan(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * float("nan") if self.training else x


@pytest.fixture(scope="module")
def evaluator() -> TrainingEvaluator:
    return TrainingEvaluator("digits", epochs=2, batch_size=64, seed=0, num_threads=1)


def _arch(mode: str = "ok", width: int = 16) -> Architecture:
    return TinySpace(mode).make({"width": width})


def _stable(metrics: dict[str, float]) -> dict[str, float]:
    return {k: v for k, v in metrics.items() if k not in TIMING}


def test_metrics_and_curve(evaluator: TrainingEvaluator) -> None:
    assert isinstance(evaluator, Evaluator)
    evaluator.check_space(TinySpace())
    result = evaluator.evaluate(_arch())
    assert result.ok, result.error
    m = result.metrics
    assert {"val_acc", "val_loss", "params", "flops", "latency_ms", "latency_iqr_ms",
            "train_seconds"} <= set(m)
    assert not {"test_acc", "test_loss"} & set(m)  # the test split is for the final best
    assert 30 < m["val_acc"] <= 100  # percent, > chance
    assert m["params"] == 64 * 16 + 16 + 16 * 10 + 10
    assert m["flops"] == 2 * (64 * 16 + 16 * 10)
    assert 0 < m["latency_ms"] < 100 and 0 < m["train_seconds"] < result.cost
    assert [c["epoch"] for c in result.curve] == [1, 2]
    assert set(result.curve[0]) == {"epoch", "train_loss", "val_loss", "val_acc"}
    assert result.curve[-1]["val_acc"] == m["val_acc"]
    assert result.curve[1]["train_loss"] < result.curve[0]["train_loss"]


def test_deterministic_and_leaves_global_rng(evaluator: TrainingEvaluator) -> None:
    torch.manual_seed(7)
    state = torch.random.get_rng_state()
    a = evaluator.evaluate(_arch())
    assert torch.equal(torch.random.get_rng_state(), state)
    b = evaluator.evaluate(_arch(), budget=2)
    assert _stable(a.metrics) == _stable(b.metrics)
    assert a.curve == b.curve
    other = TrainingEvaluator("digits", epochs=2, seed=1, data_seed=0, num_threads=1)
    other._dataset = evaluator.dataset
    assert _stable(other.evaluate(_arch()).metrics) != _stable(a.metrics)


def test_budget_sets_epochs(evaluator: TrainingEvaluator) -> None:
    result = evaluator.evaluate(_arch(width=8), budget=1)
    assert len(result.curve) == 1 and result.metrics["epochs"] == 1
    with pytest.raises(ConfigError, match="budget"):
        evaluator.evaluate(_arch(), budget=0)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("nan", "training diverged: loss is nan at epoch 1"),
        ("shape", "forward pass failed: RuntimeError: mat1 and mat2 shapes"),
        ("build", "building the network failed: ValueError: cannot build this one"),
        ("outshape", "the network outputs shape (2, 11) for a batch of 2"),
    ],
)
def test_failures(evaluator: TrainingEvaluator, mode: str, expected: str) -> None:
    result = evaluator.evaluate(_arch(mode))
    assert not result.ok
    assert result.error is not None and result.error.startswith(expected), result.error
    assert result.cost >= 0


def test_check_space_propagates(evaluator: TrainingEvaluator) -> None:
    with pytest.raises(SpaceError, match="rejects"):
        evaluator.check_space(TinySpace("reject"))


def test_fit_final(evaluator: TrainingEvaluator) -> None:
    net, metrics = evaluator.fit_final(_arch(), budget=1)
    assert set(metrics) == {"test_acc", "test_loss", "params", "flops", "latency_ms",
                            "peak_activation_mb", "latency_iqr_ms", "train_seconds"}
    assert not net.training
    assert all(p.device.type == "cpu" for p in net.parameters())
    assert 0 <= metrics["test_acc"] <= 100
    x = torch.from_numpy(evaluator.dataset.X_test[:5])
    assert net(x).shape == (5, 10)
    with pytest.raises(ConfigError, match="diverged"):
        evaluator.fit_final(_arch("nan"), budget=1)


def test_pickle_round_trip(evaluator: TrainingEvaluator) -> None:
    first = evaluator.evaluate(_arch(width=8), budget=1)
    data = pickle.dumps(evaluator)
    assert len(data) < 2_000_000
    clone = pickle.loads(data)
    assert clone.describe() == evaluator.describe()
    assert _stable(clone.evaluate(_arch(width=8), budget=1).metrics) == _stable(first.metrics)
    fresh = pickle.loads(pickle.dumps(TrainingEvaluator("iris")))  # dataset not loaded yet
    assert fresh.dataset.input_shape == (4,)


def test_describe(evaluator: TrainingEvaluator) -> None:
    d = evaluator.describe()
    assert d["kind"] == "training" and d["data"] == "digits" and d["epochs"] == 2
    assert d["dataset"]["sha256"] == evaluator.dataset.info["sha256"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"device": "tpu"}, "Invalid device 'tpu'"),
        ({"device": "nonsense:x"}, "Invalid device"),
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 1.5}, "batch_size"),
        ({"lr": -1.0}, "lr"),
        ({"num_threads": 0}, "num_threads"),
    ],
)
def test_config_errors(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        TrainingEvaluator("digits", **kwargs)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA message")
def test_cuda_unavailable() -> None:
    with pytest.raises(ConfigError, match="CUDA is not available"):
        TrainingEvaluator("digits", device="cuda")


def test_num_threads_restored(evaluator: TrainingEvaluator) -> None:
    before = torch.get_num_threads()
    ev = TrainingEvaluator("digits", epochs=1, num_threads=1)
    ev._dataset = evaluator.dataset
    assert ev.evaluate(_arch(width=8)).ok
    assert torch.get_num_threads() == before


def test_derive_seeds() -> None:
    seeds = derive_seeds(3, "abcdef")
    assert len(seeds) == 2 and seeds == derive_seeds(3, "abcdef")
    assert seeds != derive_seeds(3, "abcdeg")
    assert all(0 <= s < 2**32 for s in seeds)
    assert np.unique(seeds).size == 2


def test_builtin_mlp_space(evaluator: TrainingEvaluator) -> None:
    from archsmith.space import create_space

    try:
        space = create_space("mlp", max_layers=2, widths=(16, 32))
    except Exception as e:  # the built-in spaces may still be in development
        pytest.skip(f"mlp space unavailable: {e}")
    evaluator.check_space(space)
    rng = np.random.default_rng(0)
    for arch in [space.sample(rng) for _ in range(3)]:
        result = evaluator.evaluate(arch, budget=1)
        assert result.ok, result.error
        assert result.metrics["val_acc"] > 0
