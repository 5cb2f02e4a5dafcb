from __future__ import annotations

from pathlib import Path

import pytest

from archsmith._config import SearchConfig, default_direction
from archsmith.errors import ConfigError


def test_unknown_key_is_named() -> None:
    with pytest.raises(ConfigError, match="bugdet"):
        SearchConfig.from_dict({"bugdet": 3})


@pytest.mark.parametrize(("key", "value", "match"), [
    ("budget", 0, "budget must be at least 1"),
    ("budget", "ten", "budget must be an integer"),
    ("epochs", 0, "epochs must be a positive integer"),
    ("trial_timeout", -1.0, "trial_timeout"),
    ("direction", "up", "direction"),
])
def test_bad_values(key: str, value: object, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        SearchConfig.from_dict({key: value})


def test_one_source_only() -> None:
    with pytest.raises(ConfigError, match="only one of"):
        SearchConfig(data="digits", benchmark="nb201/cifar10")


def test_toml(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text('space = "mlp"\nbudget = 4\n[strategy_config]\npopulation_size = 4\n')
    cfg = SearchConfig.from_dict(SearchConfig.from_toml(p))
    assert cfg.space == "mlp" and cfg.strategy_config == {"population_size": 4}
    p.write_text('spcae = "mlp"\n')
    with pytest.raises(ConfigError, match="spcae"):
        SearchConfig.from_toml(p)
    p.write_text('space = "mlp\n')
    with pytest.raises(ConfigError, match="not valid TOML"):
        SearchConfig.from_toml(p)


def test_directions() -> None:
    assert default_direction("val_acc") == "max"
    assert default_direction("val_loss") == "min"
    assert default_direction("latency_ms") == "min"
