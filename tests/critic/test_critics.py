from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
import torch
from conftest import ToySpace

from archsmith.critic import create_critic, critic_names
from archsmith.critic._encodings import (
    GraphFeaturizer,
    TargetTransform,
    feature_matrix,
    nb201_path_encoding,
)
from archsmith.errors import ConfigError
from archsmith.evaluators import create_benchmark
from archsmith.space import Architecture, create_space
from archsmith.space._nb201 import NB201Space

# Small configurations keep every fit well under a second.
FAST: dict[str, dict[str, Any]] = {
    "gnn": {"epochs": 40, "warm_epochs": 10},
    "mlp-ensemble": {"epochs": 30, "warm_epochs": 10, "layers": 3},
    "gp": {"iterations": 20},
}


@pytest.fixture(scope="module")
def nb201_data() -> tuple[list[Architecture], np.ndarray]:
    bench = create_benchmark("nb201/cifar10")
    space = bench.default_space()
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(60)]
    scores = np.array([bench.evaluate(a).metrics["val_acc"] for a in archs])
    return archs, scores


def test_registry() -> None:
    assert {"gnn", "mlp-ensemble", "gp"} <= set(critic_names())


@pytest.mark.parametrize("name", ["gnn", "mlp-ensemble", "gp"])
def test_fit_predict_shapes_and_variance(
    name: str, nb201_data: tuple[list[Architecture], np.ndarray]
) -> None:
    archs, scores = nb201_data
    critic = create_critic(name, archs[0].space, **FAST[name])
    assert critic.fit(archs[:40], scores[:40]) is critic
    mean, var = critic.predict(archs[40:])
    assert mean.shape == var.shape == (20,)
    assert np.isfinite(mean).all() and np.isfinite(var).all()
    assert (var >= 0).all()
    # the critic learnt something: training scores are ranked better than chance
    fit_mean, _ = critic.predict(archs[:40])
    assert np.corrcoef(fit_mean, scores[:40])[0, 1] > 0.3
    assert critic.predict([])[0].shape == (0,)


@pytest.mark.parametrize("name", ["gnn", "mlp-ensemble", "gp"])
def test_deterministic_with_same_seed(
    name: str, nb201_data: tuple[list[Architecture], np.ndarray]
) -> None:
    archs, scores = nb201_data
    preds = []
    for _ in range(2):
        critic = create_critic(name, archs[0].space, seed=3, **FAST[name])
        critic.fit(archs[:30], scores[:30], rng=np.random.default_rng(7))
        preds.append(critic.predict(archs[30:]))
    np.testing.assert_array_equal(preds[0][0], preds[1][0])
    np.testing.assert_array_equal(preds[0][1], preds[1][1])
    if name != "gp":  # the GP fit is deterministic whatever the seed
        other = create_critic(name, archs[0].space, seed=3, **FAST[name])
        other.fit(archs[:30], scores[:30], rng=np.random.default_rng(8))
        assert not np.array_equal(other.predict(archs[30:])[0], preds[0][0])


@pytest.mark.parametrize("name", ["gnn", "mlp-ensemble", "gp"])
def test_warm_start_and_state_dict(
    name: str, nb201_data: tuple[list[Architecture], np.ndarray]
) -> None:
    archs, scores = nb201_data
    space = archs[0].space
    critic = create_critic(name, space, **FAST[name])
    assert critic.state_dict() == {}
    critic.fit(archs[:30], scores[:30])
    before = critic.predict(archs[50:])[0]
    critic.fit(archs[:50], scores[:50], warm_start=True)
    after, _ = critic.predict(archs[50:])
    assert not np.array_equal(before, after)
    assert np.corrcoef(critic.predict(archs[:50])[0], scores[:50])[0, 1] > 0.3

    # state_dict survives torch.save / torch.load(weights_only=True)
    buf = io.BytesIO()
    torch.save(critic.state_dict(), buf)
    buf.seek(0)
    state = torch.load(buf, weights_only=True)
    restored = create_critic(name, space, **FAST[name])
    restored.load_state_dict(state)
    np.testing.assert_allclose(restored.predict(archs[50:])[0], after, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["gnn", "mlp-ensemble", "gp"])
def test_errors(name: str, nb201_data: tuple[list[Architecture], np.ndarray]) -> None:
    archs, scores = nb201_data
    critic = create_critic(name, archs[0].space, **FAST[name])
    with pytest.raises(ConfigError, match="fit"):
        critic.predict(archs[:2])
    with pytest.raises(ConfigError, match="scores"):
        critic.fit(archs[:3], scores[:2])


def test_bad_configs() -> None:
    space = create_space("nb201")
    with pytest.raises(ConfigError, match="hidden"):
        create_critic("gnn", space, hidden=0)
    with pytest.raises(ConfigError, match="encoding"):
        create_critic("mlp-ensemble", space, encoding="paths")
    with pytest.raises(ConfigError, match="kernel"):
        create_critic("gp", space, kernel="matern")
    with pytest.raises(ConfigError, match="transform"):
        create_critic("gnn", space, target="log")


@pytest.mark.parametrize("name", ["gnn", "mlp-ensemble", "gp"])
def test_other_spaces(name: str) -> None:
    for space in (ToySpace(), create_space("mlp")):
        rng = np.random.default_rng(0)
        archs = [space.sample(rng) for _ in range(25)]
        y = [float(sum(a.indices)) for a in archs]
        mean, var = create_critic(name, space, **FAST[name]).fit(archs, y).predict(archs)
        assert mean.shape == (25,) and (var >= 0).all()
        assert np.corrcoef(mean, y)[0, 1] > 0.5


def test_graph_featurizer_tensors() -> None:
    space = NB201Space()
    # skip edges 0→1, 1→3 and 0→3 wire the input twice into the output
    arch = space.from_arch_str(
        "|skip_connect~0|+|none~0|none~1|+|skip_connect~0|skip_connect~1|none~2|")
    feat = GraphFeaturizer(space)
    ids, adj, mask = feat.batch([arch, space.from_indices([3, 3, 3, 3, 3, 3])])
    assert ids.shape[0] == 2 and adj.shape == (2, ids.shape[1], ids.shape[1])
    assert arch.graph.labels == ("input", "output")
    assert mask[0].tolist()[:2] == [1.0, 1.0] and mask[0, 2:].sum() == 0
    assert adj[0, 1, 0] == 2.0  # the edge input → output counted twice
    assert ids[0, 0] == feat.vocab["input"] and ids[0, 1] == feat.vocab["output"]
    assert feat.vocab["<unk>"] == 0


def test_unknown_labels_map_to_unk() -> None:
    space = ToySpace()
    feat = GraphFeaturizer(space)
    arch = space.sample(np.random.default_rng(0))
    assert all(lab in feat.vocab for lab in arch.graph.labels)
    out_id = feat.vocab.pop("output")  # "output" is now a label the critic never saw
    ids, _, mask = feat.batch([arch])
    last = int(mask[0].sum()) - 1
    assert out_id != 0 and ids[0, last] == 0 and ids[0, 0] == feat.vocab["input"]


def test_path_encoding() -> None:
    space = NB201Space()
    # conv3 on 0→1, pool on 1→3, skip on 0→3: paths (skip) and (conv3, pool)
    arch = space.from_arch_str(
        "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|avg_pool_3x3~1|none~2|")
    vec = nb201_path_encoding(space, arch)
    live = ["skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
    expect = np.zeros(84, dtype=np.float32)
    expect[live.index("skip_connect")] = 1
    expect[4 + 4 * live.index("nor_conv_3x3") + live.index("avg_pool_3x3")] = 1
    np.testing.assert_array_equal(vec, expect)
    assert feature_matrix(space, [arch], "auto").shape == (1, 84)
    assert feature_matrix(space, [arch], "path+onehot").shape == (1, 114)
    assert feature_matrix(ToySpace(), [ToySpace().sample(np.random.default_rng(0))],
                          "auto").shape == (1, 12)


@pytest.mark.parametrize("kind", ["standard", "clip", "rank"])
def test_target_transform_is_monotone(kind: str) -> None:
    y = np.array([9.7, 9.7, 70.0, 85.0, 88.0, 90.0, 91.5])
    t = TargetTransform(kind).fit(y)
    z = np.linspace(-4, 4, 101)
    assert (np.diff(t.inverse(z)) > 0).all()
    if kind != "clip":
        np.testing.assert_allclose(t.inverse(t.forward(y)), y, atol=1e-6)
    back = TargetTransform.from_state(t.state())
    np.testing.assert_array_equal(back.inverse(z), t.inverse(z))
