"""NAS-Bench-Graph space: encoding, the package's hash, graph view, build without PyG."""

from __future__ import annotations

import itertools
import sys
import types
from typing import Any

import numpy as np
import pytest

from archsmith.errors import ConfigError, SpaceError
from archsmith.space import create_space, space_names
from archsmith.space._nbgraph import (
    DATASETS,
    LINKS,
    NBG_OPS,
    PROTEINS_OPS,
    NBGraphSpace,
    _valid_hash,
)

nbg = pytest.importorskip("nas_bench_graph")
SPACE = NBGraphSpace()
ALL_LINKS = [(0, a, b, c) for a in range(2) for b in range(3) for c in range(4)]


def package_hash(links: Any, ops: Any) -> int:
    return int(nbg.Arch(list(links), list(ops)).valid_hash())


def test_registered_and_decision_sequence() -> None:
    assert "nbgraph" in space_names()
    assert isinstance(create_space("nbgraph"), NBGraphSpace)
    assert [d.name for d in SPACE.decisions] == ["links", "op_1", "op_2", "op_3", "op_4"]
    assert SPACE.decisions[0].choices == (
        "0,0,0,0", "0,0,0,1", "0,0,1,1", "0,0,1,2", "0,0,1,3",
        "0,1,1,1", "0,1,1,2", "0,1,2,2", "0,1,2,3",
    )
    assert all(d.choices == NBG_OPS for d in SPACE.decisions[1:])
    from nas_bench_graph.architecture import gnn_list, gnn_list_proteins, link_list

    assert tuple(gnn_list) == NBG_OPS and [list(lk) for lk in LINKS] == link_list
    assert set(gnn_list_proteins) == set(PROTEINS_OPS)


def test_round_trips_and_config() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        arch = SPACE.sample(rng)
        assert SPACE.from_dict(arch.to_dict()) == arch
        assert SPACE.from_links_ops(SPACE.links(arch), SPACE.arch_ops(arch)) == arch
    small = create_space("nbgraph", ops=["skip", "gcn"])  # lists from JSON/TOML configs
    assert isinstance(small, NBGraphSpace) and small.ops == ("gcn", "skip")  # package order
    for space in (SPACE, NBGraphSpace.for_dataset("proteins"), small):
        assert create_space("nbgraph", **space.config()) == space


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"ops": ["skip"]}, "besides 'skip'"),
        ({"ops": ["gcn", "conv"]}, "unknown value 'conv'"),
        ({"hidden_dim": 30}, "multiple of 4"),
        ({"num_pre": 3}, "0, 1 or 2"),
        ({"dropout": 1.0}, r"\[0, 1\)"),
        ({"width": 3}, "no option"),
    ],
)
def test_config_errors(config: dict[str, Any], match: str) -> None:
    with pytest.raises(SpaceError, match=match):
        create_space("nbgraph", **config)


def test_hash_matches_package_on_every_sequence() -> None:
    for lk in LINKS:
        for ops in itertools.product(NBG_OPS, repeat=4):
            assert _valid_hash(lk, ops) == package_hash(lk, ops), (lk, ops)


def test_other_link_patterns_are_renumbered_like_the_package() -> None:
    rng = np.random.default_rng(1)
    for lk in ALL_LINKS:
        for _ in range(150):
            ops = [NBG_OPS[i] for i in rng.integers(len(NBG_OPS), size=4)]
            if set(ops) == {"skip"}:
                continue
            arch = SPACE.from_links_ops(lk, ops)
            assert SPACE.bench_key(arch) == package_hash(lk, ops), (lk, ops)


def test_enumeration_reaches_the_whole_benchmark() -> None:
    archs = SPACE.enumerate()
    assert len(archs) == 59_040  # 9 link patterns x 9**4 ops, minus 9 all-skip sequences
    table = nbg.light_read("cora")
    keys = {SPACE.bench_key(a) for a in archs}
    assert keys == set(table) and len(keys) == 26_206
    # the canonical hash collapses exactly what the package's valid_hash collapses
    assert len({a.hash for a in archs}) == 26_206
    by_hash: dict[str, int] = {}
    for a in archs[::7]:
        assert by_hash.setdefault(a.hash, SPACE.bench_key(a)) == SPACE.bench_key(a)


def test_samples_are_in_the_tables() -> None:
    rng = np.random.default_rng(2)
    cora = nbg.light_read("cora")
    assert all(SPACE.bench_key(SPACE.sample(rng)) in cora for _ in range(500))
    proteins_space = NBGraphSpace.for_dataset("proteins")
    proteins = nbg.light_read("proteins")
    assert all(proteins_space.bench_key(proteins_space.sample(rng)) in proteins
               for _ in range(500))
    assert len({proteins_space.bench_key(a) for a in proteins_space.enumerate()}) == len(
        proteins) == 2021


def test_equivalent_architectures_share_the_hash() -> None:
    a = SPACE.from_links_ops([0, 1, 2, 1], ["gcn", "gin", "fc", "cheb"])
    b = SPACE.from_links_ops([0, 1, 1, 2], ["gcn", "gin", "cheb", "fc"])  # renumbered
    # (the package README's second form, ops gcn, cheb, gin, fc, is another network)
    assert SPACE.from_links_ops([0, 1, 1, 2], ["gcn", "cheb", "gin", "fc"]).hash != a.hash
    c = SPACE.from_links_ops([0, 0, 0, 0], ["gcn", "gat", "gat", "gat"])
    d = SPACE.from_links_ops([0, 0, 0, 0], ["gat", "gat", "gcn", "gat"])
    assert a == b and c != d and c.hash == d.hash and a.hash != c.hash
    assert SPACE.canonical(c) == SPACE.canonical(d) == ((0, 0, 0, 0), ("gat", "gat", "gat", "gcn"))
    # skip rewrites: a trailing skip gives the chain without it
    e = SPACE.from_links_ops([0, 1, 2, 3], ["gcn", "gcn", "gcn", "skip"])
    f = SPACE.from_links_ops([0, 1, 2, 3], ["skip", "gcn", "gcn", "gcn"])
    assert e.hash == f.hash


def test_all_skip_is_masked() -> None:
    with pytest.raises(SpaceError, match="not allowed"):
        SPACE.from_links_ops([0, 1, 2, 3], ["skip"] * 4)
    masked = SPACE.choice_mask(4, [0, 8, 8, 8, -1])
    assert not masked[NBG_OPS.index("skip")] and masked.sum() == 8
    assert SPACE.choice_mask(4, [0, 8, 1, 8, -1]).all()


def test_from_links_ops_errors() -> None:
    with pytest.raises(SpaceError, match="links"):
        SPACE.from_links_ops([0, 2, 0, 0], ["gcn"] * 4)
    with pytest.raises(SpaceError, match="no choice 'gat'"):
        NBGraphSpace.for_dataset("proteins").from_links_ops([0, 0, 0, 0], ["gat"] * 4)


def test_mutate_and_neighbours_stay_valid() -> None:
    rng = np.random.default_rng(3)
    table = nbg.light_read("cora")
    for _ in range(200):
        arch = SPACE.sample(rng)
        child = SPACE.mutate(arch, rng)
        assert child != arch and SPACE.from_indices(child.indices) == child
        assert SPACE.bench_key(child) in table
    arch = SPACE.from_links_ops([0, 1, 2, 3], ["gcn", "gat", "sage", "fc"])
    nbrs = SPACE.neighbours(arch)
    assert len(nbrs) == 8 + 4 * 8 and len(set(nbrs)) == len(nbrs)
    assert all(sum(x != y for x, y in zip(n.indices, arch.indices, strict=True)) == 1
               for n in nbrs)
    assert all(SPACE.bench_key(n) in table for n in nbrs)
    lonely = SPACE.from_links_ops([0, 1, 2, 3], ["skip", "skip", "skip", "gcn"])
    assert all(SPACE.bench_key(n) in table for n in SPACE.neighbours(lonely))


def test_graph_view() -> None:
    g = SPACE.from_links_ops([0, 1, 2, 1], ["gcn", "gin", "fc", "cheb"]).graph
    assert g.labels == ("input", "gcn", "gin", "cheb", "fc", "output")
    assert g.edges == ((0, 1), (1, 2), (1, 3), (2, 4), (3, 5), (4, 5))
    rng = np.random.default_rng(4)
    for _ in range(100):
        arch = SPACE.sample(rng)
        g = arch.graph
        assert g.num_nodes == 6 and g.labels[0] == "input" and g.labels[-1] == "output"
        assert set(g.labels[1:5]) <= set(NBG_OPS)
        assert sorted(t for _, t in g.edges if t < 5) == [1, 2, 3, 4]  # one input link each
        assert all(s < t for s, t in g.edges) and any(t == 5 for _, t in g.edges)
        links, ops = SPACE.canonical(arch)
        twin = SPACE.from_links_ops(links, ops)
        assert twin.hash == arch.hash and twin.graph == g


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 40), (30,)])
def test_check_data_refuses_non_graph_data(shape: tuple[int, ...]) -> None:
    with pytest.raises(SpaceError, match="nbgraph/<dataset>"):
        SPACE.check_data(shape, 10)


def test_build_without_torch_geometric(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch_geometric", None)  # makes the import fail
    arch = SPACE.sample(np.random.default_rng(5))
    with pytest.raises(ConfigError, match=r"archsmith\[gnn\]"):
        SPACE.build(arch, (1433,), 7)
    with pytest.raises(SpaceError, match="num_node_features"):
        SPACE.build(arch, (1, 8, 8), 7)


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_presets_reproduce_the_table_parameter_counts(dataset: str) -> None:
    features, classes, _ = DATASETS[dataset]
    space = NBGraphSpace.for_dataset(dataset)
    table = nbg.light_read(dataset)
    rng = np.random.default_rng(6)
    archs = [space.sample(rng) for _ in range(300)]
    same = [space.count_params(a, features, classes) == round(float(
        table[space.bench_key(a)]["para"]) * 1e6) for a in archs]
    # physics: some rows average differently sized models over the three seeds
    assert sum(same) >= (270 if dataset == "physics" else 300)


# -- build() with a stand-in for torch_geometric (same constructor arguments and
# parameter shapes as PyG 2.8; the message passing is replaced by a dense product) ----
def _fake_pyg() -> types.ModuleType:
    import torch
    from torch import nn

    class _Conv(nn.Module):
        def __init__(self, c_in: int, c_out: int, shapes: list[tuple[int, ...]]) -> None:
            super().__init__()
            self.ws = nn.ParameterList(nn.Parameter(torch.randn(*s) * 0.1) for s in shapes)
            self.c_in, self.c_out = c_in, c_out

        def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
            adj = torch.zeros(x.shape[0], x.shape[0])
            adj[edge_index[1], edge_index[0]] = 1.0
            w = self.ws[0].reshape(self.c_in, self.c_out)
            return adj @ x @ w + x @ w

    def gat(c_in: int, c_out: int, heads: int = 1, concat: bool = True,
            add_self_loops: bool = True) -> nn.Module:
        d = c_out * heads
        return _Conv(c_in, d, [(c_in, d), (1, heads, c_out), (1, heads, c_out), (d,)])

    def gcn(c_in: int, c_out: int, normalize: bool = True) -> nn.Module:
        return _Conv(c_in, c_out, [(c_in, c_out), (c_out,)])

    def two(c_in: int, c_out: int, K: int = 2) -> nn.Module:
        return _Conv(c_in, c_out, [(c_in, c_out), (c_in, c_out), (c_out,)])

    class GINConv(nn.Module):
        def __init__(self, net: nn.Module) -> None:
            super().__init__()
            self.nn = net

        def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
            return self.nn(x)

    def arma(c_in: int, c_out: int) -> nn.Module:
        return _Conv(c_in, c_out, [(c_in, c_out), (1, 1, c_out, c_out), (1, 1, c_in, c_out),
                                   (1, 1, 1, c_out)])

    pyg_nn = types.ModuleType("torch_geometric.nn")
    pyg_nn.__dict__.update(GATConv=gat, GCNConv=gcn, GINConv=GINConv, ChebConv=two,
                           SAGEConv=two, ARMAConv=arma, GraphConv=two)
    pyg = types.ModuleType("torch_geometric")
    pyg.nn = pyg_nn  # type: ignore[attr-defined]
    return pyg


def test_build_wiring_with_a_stand_in_for_pyg(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: threads only add overhead on a busy machine
    try:
        _check_fake_builds(monkeypatch)
    finally:
        torch.set_num_threads(threads)


def _check_fake_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    pyg = _fake_pyg()
    monkeypatch.setitem(sys.modules, "torch_geometric", pyg)
    monkeypatch.setitem(sys.modules, "torch_geometric.nn", pyg.nn)  # type: ignore[attr-defined]
    edge_index = torch.tensor([[0, 1, 2, 3, 4], [1, 2, 3, 4, 0]])
    cora = nbg.light_read("cora")
    for dataset in ("cora", "pubmed", "computers"):
        features, classes, _ = DATASETS[dataset]
        space = NBGraphSpace.for_dataset(dataset)
        rng = np.random.default_rng(7)
        for _ in range(12):
            arch = space.sample(rng)
            torch.manual_seed(0)
            net = space.build(arch, (features,), classes)
            assert sum(p.numel() for p in net.parameters()) == space.count_params(
                arch, features, classes)
            out = net.train()(torch.randn(5, features), edge_index)
            assert out.shape == (5, classes)
            out.sum().backward()
            with torch.no_grad():
                assert net.eval()(torch.randn(5, features), edge_index).shape == (5, classes)
            if dataset == "cora":
                para = float(cora[space.bench_key(arch)]["para"])
                assert sum(p.numel() for p in net.parameters()) == round(para * 1e6)
