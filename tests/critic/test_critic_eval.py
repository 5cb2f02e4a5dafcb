from __future__ import annotations

import pytest

from archsmith.critic._eval import critic_eval
from archsmith.errors import ConfigError, SpaceError, UnknownNameError


def test_small_run_returns_sane_keys() -> None:
    out = critic_eval("nb201", "nb201/cifar10", train_size=30, test_size=200, seeds=1,
                      critic="gnn", critic_config={"epochs": 40})
    for key in ("kendall_tau", "spearman", "mae"):
        assert isinstance(out[key], float)
        assert len(out["per_seed"][key]) == 1
    assert -1.0 <= out["kendall_tau"] <= 1.0 and -1.0 <= out["spearman"] <= 1.0
    assert out["kendall_tau"] > 0.2  # far better than chance even with 30 cells
    assert 0.0 < out["mae"] < 50.0
    assert out["fit_seconds"] > 0 and out["predict_seconds"] > 0
    assert out["train_size"] == 30 and out["test_size"] == 200 and out["seeds"] == 1
    assert out["critic"] == "gnn"


def test_default_test_set_is_the_rest_and_seeds_average() -> None:
    out = critic_eval("nb201", "nb201/cifar10", train_size=20, seeds=2, critic="gp")
    assert out["test_size"] == 6040 - 20  # NAS-Bench-201's distinct cells minus training
    taus = out["per_seed"]["kendall_tau"]
    assert len(taus) == 2 and out["kendall_tau"] == pytest.approx(sum(taus) / 2)


def test_errors() -> None:
    with pytest.raises(ConfigError, match="train_size"):
        critic_eval("nb201", "nb201/cifar10", train_size=1)
    with pytest.raises(ConfigError, match="test_size"):
        critic_eval("nb201", "nb201/cifar10", train_size=10, test_size=10_000)
    with pytest.raises(UnknownNameError):
        critic_eval("nb201", "nb201/cifar10", train_size=10, critic="nope")
    with pytest.raises(SpaceError, match="nb201"):
        critic_eval("mlp", "nb201/cifar10", train_size=10)
