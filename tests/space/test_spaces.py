"""Built-in search spaces: decisions, round trips, sampling, builds, data checks, graphs."""

from __future__ import annotations

import json
import pickle
from typing import Any

import numpy as np
import pytest
import torch

from archsmith.errors import SpaceError, UnknownNameError
from archsmith.space import (
    SPACES,
    ArchGraph,
    Architecture,
    Decision,
    SearchSpace,
    create_space,
    space_names,
)
from archsmith.space._cnn import CNNSpace
from archsmith.space._custom import FunctionalSpace
from archsmith.space._mlp import MLPSpace
from archsmith.space._nb201 import NB201Space

SMALL: dict[str, dict[str, Any]] = {
    "mlp": {"max_layers": 3, "widths": (8, 16)},
    "cnn": {"max_stages": 3, "channels": (4, 8)},
    "nb201": {"stem_channels": 4, "cells_per_stage": 1},
}


def _small(name: str) -> SearchSpace:
    return create_space(name, **SMALL[name])


# -- registry and decision sequences -------------------------------------------------------
def test_builtins_registered() -> None:
    assert {"mlp", "cnn", "nb201"} <= set(space_names())
    assert isinstance(create_space("mlp"), MLPSpace)
    assert isinstance(create_space("cnn"), CNNSpace)
    assert isinstance(create_space("nb201"), NB201Space)
    assert all(SPACES.help(n) for n in ("mlp", "cnn", "nb201"))


def test_unknown_space_and_option() -> None:
    with pytest.raises(UnknownNameError, match="mlp"):
        create_space("mpl")
    with pytest.raises(SpaceError, match="max_layer"):
        create_space("mlp", max_layer=3)


def test_mlp_decisions() -> None:
    space = MLPSpace(max_layers=2)
    names = [d.name for d in space.decisions]
    assert names == [
        "n_layers", "residual",
        "width_1", "act_1", "norm_1", "dropout_1",
        "width_2", "act_2", "norm_2", "dropout_2",
    ]
    d = space.decisions[space.position("width_2")]
    assert d.parent == "n_layers" and d.active_if == (2,)
    assert space.decisions[0].choices == (1, 2)


def test_cnn_and_nb201_decisions() -> None:
    cnn = CNNSpace(max_stages=2)
    assert [d.name for d in cnn.decisions][:7] == [
        "n_stages", "head", "channels_1", "kernel_1", "pool_1", "residual_1", "norm_1",
    ]
    assert cnn.decisions[cnn.position("kernel_2")].active_if == (2,)
    nb = NB201Space()
    assert [d.name for d in nb.decisions] == [
        "edge_1_0", "edge_2_0", "edge_2_1", "edge_3_0", "edge_3_1", "edge_3_2",
    ]
    assert len(nb.enumerate()) == 5**6


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_layers": 0}, "max_layers"),
        ({"widths": (16, -1)}, "widths"),
        ({"widths": (16, 16)}, "widths"),
        ({"activations": ("relu", "swish")}, "activations"),
        ({"norms": ("group",)}, "norms"),
        ({"dropouts": (0.0, 1.5)}, "dropouts"),
        ({"residual": ("yes",)}, "residual"),
        ({"widths": ()}, "widths"),
    ],
)
def test_mlp_bad_config(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(SpaceError, match=field):
        MLPSpace(**kwargs)


def test_cnn_nb201_bad_config() -> None:
    with pytest.raises(SpaceError, match="kernels"):
        CNNSpace(kernels=(3, 4))
    with pytest.raises(SpaceError, match="pools"):
        CNNSpace(pools=("max", "lp"))
    with pytest.raises(SpaceError, match="cells_per_stage"):
        NB201Space(cells_per_stage=0)


@pytest.mark.parametrize("name", ["mlp", "cnn", "nb201"])
def test_config_round_trip(name: str) -> None:
    space = _small(name)
    again = create_space(name, **space.config())
    assert again == space
    assert [d.choices for d in again.decisions] == [d.choices for d in space.decisions]


# -- architectures ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["mlp", "cnn", "nb201"])
def test_dict_and_json_round_trip(name: str) -> None:
    space = create_space(name)
    rng = np.random.default_rng(0)
    for _ in range(20):
        arch = space.sample(rng)
        assert space.from_dict(arch.to_dict()) == arch
        assert arch.to_dict()["space"] == name
        assert space.from_indices(arch.indices) == arch


def test_make_errors() -> None:
    space = MLPSpace(max_layers=2)
    base = {"n_layers": 1, "residual": False, "width_1": 16, "act_1": "relu",
            "norm_1": "none", "dropout_1": 0.0}
    arch = space.make(base)
    assert arch["width_2"] is None and arch.indices[space.position("width_2")] == -1
    # inactive decisions are ignored
    assert space.make({**base, "width_2": 32}) == arch
    with pytest.raises(SpaceError, match="missing decision 'act_1'"):
        space.make({k: v for k, v in base.items() if k != "act_1"})
    with pytest.raises(SpaceError, match="no choice 17"):
        space.make({**base, "width_1": 17})
    with pytest.raises(SpaceError, match="widht_1"):
        space.make({**base, "widht_1": 16})
    with pytest.raises(SpaceError, match="missing decision 'width_2'"):
        space.make({**base, "n_layers": 2})


@pytest.mark.parametrize("name", ["mlp", "cnn", "nb201"])
def test_sample_mutate_neighbours(name: str) -> None:
    space = create_space(name)
    a = [space.sample(np.random.default_rng(7)) for _ in range(2)]
    assert a[0] == a[1]  # deterministic under a seeded generator
    rng = np.random.default_rng(1)
    arch = space.sample(rng)
    for _ in range(30):
        child = space.mutate(arch, rng)
        assert child != arch
        # valid: re-validating the indices changes nothing
        assert space.from_indices(child.indices) == child
        arch = child
    m1 = space.mutate(arch, np.random.default_rng(3))
    m2 = space.mutate(arch, np.random.default_rng(3))
    assert m1 == m2
    nbrs = space.neighbours(arch)
    assert nbrs and len(set(nbrs)) == len(nbrs) and arch not in nbrs
    for n in nbrs:
        assert space.from_indices(n.indices) == n
        changed = [
            i for i, (x, y) in enumerate(zip(n.indices, arch.indices, strict=True))
            if x != y and x >= 0 and y >= 0
        ]
        assert len(changed) == 1


def test_nb201_neighbours_count() -> None:
    space = NB201Space()
    arch = space.sample(np.random.default_rng(0))
    assert len(space.neighbours(arch)) == 6 * 4


# -- builds ---------------------------------------------------------------------------------
def _forward(net: torch.nn.Module, shape: tuple[int, ...]) -> torch.Tensor:
    with torch.no_grad():
        return net.eval()(torch.randn(3, *shape))


def test_mlp_build_shapes() -> None:
    space = create_space("mlp")
    rng = np.random.default_rng(0)
    for _ in range(5):
        arch = space.sample(rng)
        assert _forward(space.build(arch, (64,), 10), (64,)).shape == (3, 10)
        assert _forward(space.build(arch, (1, 8, 8), 4), (1, 8, 8)).shape == (3, 4)


def test_mlp_residual_build() -> None:
    space = MLPSpace(max_layers=3, widths=(8, 16))
    vals: dict[str, Any] = {
        "n_layers": 3, "residual": True, "width_1": 8, "width_2": 8, "width_3": 16,
    }
    for k in (1, 2, 3):
        vals.update({f"act_{k}": "relu", f"norm_{k}": "layer", f"dropout_{k}": 0.0})
    arch = space.make(vals)
    assert [layer["skip"] for layer in space.layers(arch)] == [False, True, False]
    net = space.build(arch, (5,), 2)
    assert isinstance(net, torch.nn.Sequential)
    assert type(net[2]).__name__ == "Residual"
    assert _forward(net, (5,)).shape == (3, 2)
    assert _forward(pickle.loads(pickle.dumps(net)), (5,)).shape == (3, 2)
    # residual without equal consecutive widths is the plain network
    plain = space.make({**vals, "width_2": 16, "width_3": 8, "residual": False})
    fake = space.make({**vals, "width_2": 16, "width_3": 8})
    assert plain.hash == fake.hash
    assert arch.hash != space.make({**vals, "residual": False}).hash


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 40), (3, 1, 1), (2, 1)])
def test_cnn_build_shapes(shape: tuple[int, ...]) -> None:
    space = create_space("cnn")
    rng = np.random.default_rng(0)
    for _ in range(4):
        arch = space.sample(rng)
        assert _forward(space.build(arch, shape, 10), shape).shape == (3, 10)


def test_cnn_pooling_stops_at_one() -> None:
    space = CNNSpace(max_stages=4)
    vals: dict[str, Any] = {"n_stages": 4, "head": "avg"}
    for k in range(1, 5):
        vals.update({f"channels_{k}": 8, f"kernel_{k}": 3, f"pool_{k}": "max",
                     f"residual_{k}": k > 1, f"norm_{k}": "batch"})
    arch = space.make(vals)
    net = space.build(arch, (1, 5), 3)  # 5 -> 2 -> 1, then no more pooling
    pools = [m for m in net.modules() if isinstance(m, torch.nn.MaxPool1d)]
    assert len(pools) == 2
    assert _forward(net, (1, 5)).shape == (3, 3)
    convs = [m for m in space.build(arch, (1, 8, 8), 3).modules()
             if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 4
    assert _forward(pickle.loads(pickle.dumps(net)), (1, 5)).shape == (3, 3)


def test_nb201_small_build() -> None:
    space = create_space("nb201", stem_channels=8, cells_per_stage=1)
    rng = np.random.default_rng(0)
    for _ in range(3):
        arch = space.sample(rng)
        net = space.build(arch, (1, 8, 8), 10)
        assert _forward(net, (1, 8, 8)).shape == (3, 10)
    none = space.make({n: "none" for n in (d.name for d in space.decisions)})
    assert _forward(space.build(none, (1, 8, 8), 10), (1, 8, 8)).shape == (3, 10)
    assert _forward(pickle.loads(pickle.dumps(net)), (1, 8, 8)).shape == (3, 10)


def test_nb201_param_count_matches_benchmark() -> None:
    space = NB201Space()
    arch = space.from_arch_str(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
        "+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
    )
    net = space.build(arch, (3, 32, 32), 10)
    assert sum(p.numel() for p in net.parameters()) == 1_073_466  # table: 1.073466 MB


def test_build_rejects_foreign_arch() -> None:
    mlp, cnn = create_space("mlp"), create_space("cnn")
    arch = mlp.sample(np.random.default_rng(0))
    with pytest.raises(SpaceError, match="cannot be built"):
        cnn.build(arch, (1, 8, 8), 10)


# -- data checks -----------------------------------------------------------------------------
def test_check_data() -> None:
    mlp, cnn, nb = create_space("mlp"), create_space("cnn"), create_space("nb201")
    mlp.check_data((64,), 10)
    mlp.check_data((1, 8, 8), 10)
    cnn.check_data((1, 40), 10)
    cnn.check_data((1, 8, 8), 10)
    nb.check_data((3, 32, 32), 10)
    with pytest.raises(SpaceError, match="mlp"):
        cnn.check_data((64,), 10)
    with pytest.raises(SpaceError, match="dimensions"):
        cnn.check_data((1, 2, 3, 4), 10)
    with pytest.raises(SpaceError, match="'cnn' space"):
        nb.check_data((1, 40), 10)
    with pytest.raises(SpaceError, match="'mlp' space"):
        nb.check_data((64,), 10)
    with pytest.raises(SpaceError, match="num_stages"):
        nb.check_data((1, 2, 2), 10)
    with pytest.raises(SpaceError, match="classes"):
        mlp.check_data((64,), 0)
    arch = cnn.sample(np.random.default_rng(0))
    with pytest.raises(SpaceError, match="flat feature vectors"):
        cnn.build(arch, (64,), 10)


# -- graph views -----------------------------------------------------------------------------
def _valid_graph(g: ArchGraph) -> None:
    assert g.labels[0] == "input" and g.labels[-1] == "output"
    for s, t in g.edges:
        assert 0 <= s < t < g.num_nodes  # topological order


@pytest.mark.parametrize("name", ["mlp", "cnn", "nb201"])
def test_graphs_valid(name: str) -> None:
    space = create_space(name)
    rng = np.random.default_rng(0)
    for _ in range(20):
        _valid_graph(space.sample(rng).graph)


def test_mlp_graph_labels() -> None:
    space = MLPSpace(max_layers=2, widths=(8,))
    arch = space.make({"n_layers": 2, "residual": True,
                       "width_1": 8, "act_1": "gelu", "norm_1": "batch", "dropout_1": 0.1,
                       "width_2": 8, "act_2": "relu", "norm_2": "none", "dropout_2": 0.0})
    g = arch.graph
    assert g.labels == ("input", "linear8", "batchnorm", "gelu", "dropout",
                        "linear8", "relu", "output")
    assert (4, 7) in g.edges and (6, 7) in g.edges  # skip: layer-1 output feeds output


def test_cnn_graph_labels() -> None:
    space = CNNSpace(max_stages=1)
    arch = space.make({"n_stages": 1, "head": "max", "channels_1": 8, "kernel_1": 5,
                       "pool_1": "avg", "residual_1": True, "norm_1": "batch"})
    g = arch.graph
    assert g.labels == ("input", "conv5_8", "batchnorm", "relu", "conv1_8", "avgpool",
                        "globalmaxpool", "output")
    assert (3, 5) in g.edges and (4, 5) in g.edges


# -- custom spaces ---------------------------------------------------------------------------
def _build_custom(arch: Architecture, input_shape: tuple[int, ...], num_classes: int) -> Any:
    n_in = int(np.prod(input_shape))
    return torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(n_in, int(arch["width"])),  # type: ignore[arg-type]
        torch.nn.ReLU(), torch.nn.Linear(int(arch["width"]), num_classes),  # type: ignore[arg-type]
    )


def _check_custom(input_shape: tuple[int, ...], num_classes: int) -> None:
    if len(input_shape) != 1:
        raise SpaceError("custom space wants flat vectors")


def test_functional_space() -> None:
    space = FunctionalSpace(
        "custom", [Decision("width", (4, 8)), Decision("act", ("relu",))],
        _build_custom, check_fn=_check_custom,
    )
    assert space.name == "custom" and SearchSpace.name == "space"
    cfg = space.config()
    assert cfg["build_fn"].endswith(":_build_custom") and cfg["rebuild"] is True
    rebuilt = create_space("custom", **json.loads(json.dumps(cfg)))  # as stored
    assert isinstance(rebuilt, FunctionalSpace) and rebuilt.decisions == space.decisions
    assert rebuilt.build_fn is _build_custom and rebuilt.check_fn is _check_custom
    local = FunctionalSpace("local", [Decision("w", (1, 2))], lambda a, s, n: None)
    assert local.config()["rebuild"] == "build_fn is not importable by reference"
    with pytest.raises(SpaceError, match=r"cannot be rebuilt.*Pass the space object"):
        create_space("local", **local.config())
    arch = space.make({"width": 8, "act": "relu"})
    assert arch.to_dict() == {"space": "custom", "decisions": {"width": 8, "act": "relu"}}
    assert _forward(space.build(arch, (6,), 3), (6,)).shape == (3, 3)
    with pytest.raises(SpaceError, match="flat vectors"):
        space.build(arch, (1, 6), 3)
    assert arch.graph.labels[0] == "input"
    again = pickle.loads(pickle.dumps(arch))
    assert again == arch and again.space.name == "custom"
    assert len(space.enumerate()) == 2


def test_functional_space_errors() -> None:
    with pytest.raises(SpaceError, match="non-empty"):
        FunctionalSpace("", [Decision("a", (1,))], _build_custom)
    with pytest.raises(SpaceError, match="at least one decision"):
        FunctionalSpace("x", [], _build_custom)
    with pytest.raises(SpaceError, match="build_fn"):
        FunctionalSpace("x", [Decision("a", (1,))], None)  # type: ignore[arg-type]
    with pytest.raises(SpaceError, match="declared before"):
        FunctionalSpace("x", [Decision("b", (1,), parent="a", active_if=(1,)),
                              Decision("a", (1,))], _build_custom)
    with pytest.raises(SpaceError, match="twice"):
        FunctionalSpace("x", [Decision("a", (1,)), Decision("a", (2,))], _build_custom)


def test_functional_space_hash_fn() -> None:
    space = FunctionalSpace(
        "h", [Decision("a", (1, 2)), Decision("b", (1, 2))], _build_custom,
        hash_fn=lambda arch: str(int(arch["a"]) + int(arch["b"])),  # type: ignore[arg-type]
    )
    assert space.make({"a": 1, "b": 2}).hash == space.make({"a": 2, "b": 1}).hash
    assert space.make({"a": 1, "b": 1}).hash != space.make({"a": 2, "b": 1}).hash
