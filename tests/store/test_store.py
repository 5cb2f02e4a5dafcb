from __future__ import annotations

import pytest
import torch

from archsmith.errors import ConfigError
from archsmith.store import Store


def test_roundtrip_and_running(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'x.db'}"
    s = Store(url)
    sid = s.create_search("a", {"space": "mlp"}, "fp")
    with pytest.raises(ConfigError, match="already exists"):
        s.create_search("a", {}, "fp")
    for n in range(3):
        s.start_trial(sid, n, {"space": "mlp", "decisions": {"n": n}}, f"h{n}", budget=2)
    s.finish_trial(sid, 0, "complete", metrics={"val_acc": 1.0}, curve=[{"epoch": 1}])
    s.finish_trial(sid, 1, "failed", error="boom")
    # a second connection sees the committed state (as `archsmith show` would)
    other = Store(url)
    states = [t.state for t in other.trials(sid)]
    assert states == ["complete", "failed", "running"]
    assert other.drop_running(sid) == [2]
    assert [t.number for t in s.trials(sid)] == [0, 1]
    assert s.trials(sid, "failed")[0].error == "boom"


def test_strategy_state_is_loaded_without_pickle(tmp_path) -> None:  # type: ignore[no-untyped-def]
    s = Store(f"sqlite:///{tmp_path / 'x.db'}")
    sid = s.create_search("a", {}, "fp")
    state = {"w": torch.arange(3.0), "pop": [1, 2], "rng": {"state": 2**70}}
    s.save_strategy_state(sid, state)
    loaded = s.load_strategy_state(sid)
    assert loaded is not None
    assert torch.equal(loaded["w"], state["w"]) and loaded["rng"] == state["rng"]


def test_bad_url() -> None:
    with pytest.raises(ConfigError, match="Cannot open storage"):
        Store("nosuchdb://x")
