"""The NAS-Bench-Graph GNN space (Qin et al., NeurIPS 2022 Datasets and Benchmarks).

A network is a DAG of four computing nodes. Node ``k`` (1..4) reads the output of one
earlier node ``links[k-1]`` (0 is the input features) and applies one operation of
:data:`NBG_OPS`: ``gat``, ``gcn``, ``gin``, ``cheb``, ``sage``, ``arma``, ``graph``
(k-GNN), ``fc`` (a linear layer ignoring the graph) or ``skip`` (no operation). The
nodes that no other node reads (the leaves) are concatenated and mapped to the output.
This is the encoding of the ``nas-bench-graph`` package: ``Arch(links, ops)``.

Decisions, in order: ``links`` — one of the nine link patterns of :data:`LINKS`,
written ``"0,0,1,2"`` — then ``op_1`` .. ``op_4``. The package lets node ``k`` read any
earlier node (24 patterns), but every other pattern is a renumbering of one of these
nine (:meth:`NBGraphSpace.from_links_ops` converts), so the nine cover all 26,206
benchmarked architectures. The all-``skip`` network is not in the benchmark and is
excluded by :meth:`~NBGraphSpace.choice_mask`: 59,040 decision sequences remain.

:meth:`~NBGraphSpace.canonical_hash` is the package's ``Arch.valid_hash()``,
re-implemented here (no import needed) and checked against the package by the tests:
sequences share a hash exactly when the benchmark gives them the same table entry.

Example:
    >>> space = NBGraphSpace()
    >>> arch = space.make({"links": "0,1,1,2", "op_1": "gcn", "op_2": "gin",
    ...                    "op_3": "cheb", "op_4": "fc"})
    >>> space.bench_key(arch)
    61237
    >>> space.from_links_ops([0, 1, 2, 1], ["gcn", "gin", "fc", "cheb"]).hash == arch.hash
    True
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from archsmith.errors import SpaceError
from archsmith.space import SPACES
from archsmith.space._base import ArchGraph, Architecture, Decision, SearchSpace
from archsmith.space._mlp import _check_arch, _check_classes, _digest, _names, _space_factory

if TYPE_CHECKING:
    import numpy as np
    import torch.nn

__all__ = ["DATASETS", "LINKS", "NBG_OPS", "PROTEINS_OPS", "NBGraphSpace"]

#: The nine operations, in the package's order (the digits of its hash).
NBG_OPS: tuple[str, ...] = ("gat", "gcn", "gin", "cheb", "sage", "arma", "graph", "fc", "skip")
#: The operations benchmarked on ogbn-proteins.
PROTEINS_OPS: tuple[str, ...] = ("gcn", "sage", "arma", "fc", "skip")
#: The nine link patterns of the benchmark, in the package's order (first hash digit).
LINKS: tuple[tuple[int, int, int, int], ...] = (
    (0, 0, 0, 0), (0, 0, 0, 1), (0, 0, 1, 1), (0, 0, 1, 2), (0, 0, 1, 3),
    (0, 1, 1, 1), (0, 1, 1, 2), (0, 1, 2, 2), (0, 1, 2, 3),
)
_LINK_NAMES: tuple[str, ...] = tuple(",".join(map(str, lk)) for lk in LINKS)
_LINK_INDEX: dict[tuple[int, ...], int] = {lk: i for i, lk in enumerate(LINKS)}
_OP_DIGIT = {op: i for i, op in enumerate(NBG_OPS)}
_OP_NAMES: tuple[str, ...] = ("op_1", "op_2", "op_3", "op_4")

#: Per dataset: node features, classes, and the benchmark's network settings
#: ``(hidden_dim, num_pre, num_pro)``. The settings were recovered from the tables:
#: with them :meth:`NBGraphSpace.count_params` equals the table's ``para`` for every
#: architecture (physics: 24,639 of 26,206; its other rows average models of
#: different sizes). Dropout cannot be recovered from the tables.
DATASETS: dict[str, tuple[int, int, tuple[int, int, int]]] = {
    "cora": (1433, 7, (256, 0, 1)),
    "citeseer": (3703, 6, (256, 0, 1)),
    "pubmed": (500, 3, (128, 0, 0)),
    "cs": (6805, 15, (128, 1, 0)),
    "physics": (8415, 5, (256, 1, 0)),
    "photo": (745, 8, (128, 0, 0)),
    "computers": (767, 10, (64, 1, 1)),
    "arxiv": (128, 40, (128, 0, 1)),
    "proteins": (8, 112, (256, 1, 1)),
}

# Non-canonical link pattern -> (canonical pattern, op order): the same DAG numbered
# differently, as the package's ``Arch.regularize`` maps it.
_RENUMBER: dict[tuple[int, ...], tuple[tuple[int, int, int, int], tuple[int, ...]]] = {
    (0, 0, 0, 2): (LINKS[1], (1, 0, 2, 3)), (0, 0, 0, 3): (LINKS[1], (2, 0, 1, 3)),
    (0, 0, 1, 0): (LINKS[1], (0, 1, 3, 2)), (0, 0, 2, 0): (LINKS[1], (1, 0, 3, 2)),
    (0, 0, 2, 1): (LINKS[3], (1, 0, 2, 3)), (0, 0, 2, 2): (LINKS[2], (1, 0, 2, 3)),
    (0, 0, 2, 3): (LINKS[4], (1, 0, 2, 3)), (0, 1, 0, 0): (LINKS[1], (0, 2, 3, 1)),
    (0, 1, 0, 1): (LINKS[2], (0, 2, 1, 3)), (0, 1, 0, 2): (LINKS[4], (0, 2, 1, 3)),
    (0, 1, 0, 3): (LINKS[3], (0, 2, 1, 3)), (0, 1, 1, 0): (LINKS[2], (0, 3, 1, 2)),
    (0, 1, 1, 3): (LINKS[6], (0, 2, 1, 3)), (0, 1, 2, 0): (LINKS[4], (0, 3, 1, 2)),
    (0, 1, 2, 1): (LINKS[6], (0, 1, 3, 2)),
}
# Positions of interchangeable sibling nodes per pattern (sorted by op digit).
_SIBLINGS: dict[tuple[int, ...], tuple[int, ...]] = {
    LINKS[0]: (0, 1, 2, 3), LINKS[1]: (1, 2), LINKS[2]: (2, 3), LINKS[5]: (1, 2, 3),
    LINKS[7]: (2, 3),
}


@dataclass(frozen=True)
class NBGraphSpace(SearchSpace):
    """NAS-Bench-Graph: four computing nodes, each an input link and an operation.

    The fields configure :meth:`build` (and ``ops`` the choices); table lookups do not
    depend on them. :meth:`for_dataset` gives the benchmark's settings per dataset.
    ``build`` needs PyTorch Geometric: ``pip install archsmith[gnn]``.

    Args:
        ops: Allowed operations, a subset of :data:`NBG_OPS` with at least one that is
            not ``skip`` (kept in the package's order).
        hidden_dim: Width of every hidden node (a multiple of 4: ``gat`` has 4 heads).
        num_pre: Linear layers before the DAG (0..2).
        num_pro: Linear layers after the DAG's output layer (0..2).
        dropout: Dropout on the input features and before every operation.
        normalize: Symmetric normalisation and self-loops in ``gcn``, self-loops in
            ``gat``. The benchmark switched them off on ogbn-proteins (where its older
            PyG still added ``gcn`` self-loops; PyG 2.8 refuses that combination).

    Example:
        >>> import numpy as np
        >>> space = NBGraphSpace.for_dataset("proteins")
        >>> space.ops, space.hidden_dim
        (('gcn', 'sage', 'arma', 'fc', 'skip'), 256)
        >>> arch = space.sample(np.random.default_rng(0))
        >>> space.from_dict(arch.to_dict()) == arch
        True
    """

    name: ClassVar[str] = "nbgraph"

    ops: tuple[str, ...] = NBG_OPS
    hidden_dim: int = 256
    num_pre: int = 0
    num_pro: int = 1
    dropout: float = 0.5
    normalize: bool = True

    def __post_init__(self) -> None:
        ops = _names("ops", self.ops, NBG_OPS)
        if set(ops) == {"skip"}:
            raise SpaceError("`ops` needs at least one operation besides 'skip'.")
        object.__setattr__(self, "ops", tuple(o for o in NBG_OPS if o in ops))
        d = self.hidden_dim
        if isinstance(d, bool) or not isinstance(d, int) or d < 4 or d % 4:
            raise SpaceError(f"`hidden_dim` must be a positive multiple of 4, got {d!r}.")
        for field in ("num_pre", "num_pro"):
            v = getattr(self, field)
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 2:
                raise SpaceError(f"`{field}` must be 0, 1 or 2, got {v!r}.")
        p = self.dropout
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0.0 <= p < 1.0:
            raise SpaceError(f"`dropout` must be a probability in [0, 1), got {p!r}.")
        object.__setattr__(self, "dropout", float(p))
        if not isinstance(self.normalize, bool):
            raise SpaceError(f"`normalize` must be true or false, got {self.normalize!r}.")

    @classmethod
    def for_dataset(cls, dataset: str) -> NBGraphSpace:
        """The space with the benchmark's settings for ``dataset`` (see :data:`DATASETS`).

        Raises:
            UnknownNameError: ``dataset`` is not one of the nine.
        """
        from archsmith.errors import UnknownNameError

        if dataset not in DATASETS:
            raise UnknownNameError("NAS-Bench-Graph dataset", dataset, list(DATASETS))
        dim, pre, pro = DATASETS[dataset][2]
        if dataset == "proteins":
            return cls(PROTEINS_OPS, dim, pre, pro, normalize=False)
        return cls(NBG_OPS, dim, pre, pro)

    def _decisions(self) -> list[Decision]:
        return [Decision("links", _LINK_NAMES), *(Decision(n, self.ops) for n in _OP_NAMES)]

    def choice_mask(self, i: int, indices: Sequence[int]) -> np.ndarray:
        """Excludes ``skip`` for ``op_4`` when ``op_1..op_3`` are all ``skip``."""
        import numpy as np

        mask = np.ones(self.decisions[i].size, dtype=bool)
        if i == 4 and "skip" in self.ops:
            skip = self.ops.index("skip")
            if all(indices[j] == skip for j in (1, 2, 3)):
                mask[skip] = False
        return mask

    # -- the package's encoding ---------------------------------------------------------
    def links(self, arch: Architecture) -> tuple[int, int, int, int]:
        """The link pattern, e.g. ``(0, 1, 1, 2)``."""
        _check_arch(self, arch)
        return LINKS[arch.indices[0]]

    def arch_ops(self, arch: Architecture) -> tuple[str, ...]:
        """The four operations."""
        _check_arch(self, arch)
        return tuple(self.ops[i] for i in arch.indices[1:])

    def from_links_ops(self, links: Sequence[int], ops: Sequence[str]) -> Architecture:
        """Architecture of the package's ``Arch(links, ops)``; any valid links accepted.

        Node ``k`` may read any earlier node (``links[k-1]`` in ``0..k-1``); patterns
        outside :data:`LINKS` are renumbered to the equivalent one (ops reordered).

        Raises:
            SpaceError: invalid links or an operation not in this space.
        """
        key = tuple(int(v) for v in links)
        if len(key) != 4 or any(not 0 <= v <= k for k, v in enumerate(key)) or len(ops) != 4:
            raise SpaceError(
                f"NAS-Bench-Graph needs 4 links with links[k] in 0..k and 4 ops, got "
                f"links={list(links)}, ops={list(ops)}."
            )
        order: Sequence[int] = range(4)
        if key in _RENUMBER:
            key, order = _RENUMBER[key]
        values: dict[str, Any] = {"links": ",".join(map(str, key))}
        values.update({n: ops[j] for n, j in zip(_OP_NAMES, order, strict=True)})
        return self.make(values)

    def bench_key(self, arch: Architecture) -> int:
        """The package's ``Arch(links, ops).valid_hash()``: the benchmark's table key."""
        return _valid_hash(self.links(arch), self.arch_ops(arch))

    def canonical(self, arch: Architecture) -> tuple[tuple[int, ...], tuple[str, ...]]:
        """The benchmark's representative ``(links, ops)`` of ``arch`` (what it trained).

        Example:
            >>> space = NBGraphSpace()
            >>> space.canonical(space.from_links_ops([0, 0, 0, 0], ["fc", "gcn", "fc", "gat"]))
            ((0, 0, 0, 0), ('gat', 'gcn', 'fc', 'fc'))
        """
        text = f"{self.bench_key(arch):05d}"
        return LINKS[int(text[0])], tuple(NBG_OPS[int(c)] for c in text[1:])

    # -- function identity --------------------------------------------------------------
    def canonical_hash(self, arch: Architecture) -> str:
        """Digest of :meth:`bench_key`: equal exactly for one benchmark table entry.

        Collapsed are renumberings of the same DAG (sibling nodes in any order) and the
        package's ``skip`` rewrites: a ``skip`` node is treated as a rewiring (its
        readers read its input; a ``skip`` of the raw input that nothing reads is
        dropped). 59,040 sequences give 26,206 hashes.
        """
        return _digest([self.name, self.bench_key(arch)])

    def graph(self, arch: Architecture) -> ArchGraph:
        """Op graph of :meth:`canonical`: ``input``, the four ops, ``output``.

        Node ``k`` has an edge from node ``links[k-1]``; the leaves feed ``output``.
        Architectures with the same hash have the same graph.

        Example:
            >>> space = NBGraphSpace()
            >>> g = space.from_links_ops([0, 1, 2, 1], ["gcn", "gin", "fc", "cheb"]).graph
            >>> g.labels
            ('input', 'gcn', 'gin', 'cheb', 'fc', 'output')
            >>> g.edges
            ((0, 1), (1, 2), (1, 3), (2, 4), (3, 5), (4, 5))
        """
        links, ops = self.canonical(arch)
        edges = [(src, k + 1) for k, src in enumerate(links)]
        edges += [(n, 5) for n in range(1, 5) if n not in links]
        return ArchGraph(("input", *ops, "output"), tuple(sorted(edges)))

    # -- data and networks --------------------------------------------------------------
    def check_data(self, input_shape: tuple[int, ...], num_classes: int) -> None:
        """Always raises: archsmith's datasets are not graphs.

        The space models node classification on a graph (node features plus
        ``edge_index``); images, signals and feature tables carry no edges.
        """
        raise SpaceError(
            f"Space 'nbgraph' builds graph neural networks for node classification (node "
            f"features plus graph edges), but the data are examples of shape "
            f"{tuple(input_shape)} without a graph. Use it with a tabular benchmark, "
            "`--benchmark nbgraph/<dataset>` (cora, citeseer, pubmed, cs, physics, photo, "
            "computers, arxiv, proteins), or choose the 'mlp', 'cnn' or 'nb201' space for "
            "this data."
        )

    def count_params(self, arch: Architecture, num_features: int, num_classes: int) -> int:
        """Parameters of :meth:`build`'s network, computed without PyTorch Geometric.

        Example:
            >>> space = NBGraphSpace.for_dataset("cora")
            >>> arch = space.from_links_ops([0, 0, 0, 0], ["gat"] * 4)
            >>> space.count_params(arch, 1433, 7)  # the table's para: 1.736711 (millions)
            1736711
        """
        links, ops = self.canonical(arch)
        d, p = self.hidden_dim, 0
        for _, op, i, _ in _plan(links, ops, num_features, d, self.num_pre):
            two = 2 * i * d + d
            p += 2 * d + {"gat": i * d + 3 * d, "gcn": i * d + d, "gin": i * d + d,
                          "fc": i * d + d, "skip": 0, "arma": two + d * d}.get(op, two)
        widths = [num_features] + [d] * self.num_pre
        leaves = sum(n not in links for n in range(1, 5))
        outs = [leaves * d] + [d] * self.num_pro + [num_classes]
        pairs = [*itertools.pairwise(widths), *itertools.pairwise(outs)]
        return p + sum(a * b + b for a, b in pairs)

    def build(
        self, arch: Architecture, input_shape: tuple[int, ...], num_classes: int
    ) -> torch.nn.Module:
        """The benchmark's PyTorch Geometric network for ``arch`` (its :meth:`canonical`).

        Input dropout → ``num_pre`` linear layers → the DAG (an op reading a hidden node
        gets it through its own batch norm → ReLU → dropout) → concatenated leaves →
        ReLU → linear → ``num_pro`` linear layers (ELU between), as in NAS-Bench-Graph.
        Call it as ``net(x, edge_index)`` with ``x`` of shape ``(nodes, features)``.

        Args:
            arch: An architecture of this space.
            input_shape: ``(num_node_features,)``.
            num_classes: Number of output logits per node.

        Raises:
            ConfigError: PyTorch Geometric is not installed (``pip install archsmith[gnn]``).
            SpaceError: ``input_shape`` is not ``(num_node_features,)``.
        """
        links, ops = self.canonical(arch)
        shape = tuple(input_shape)
        if len(shape) != 1 or isinstance(shape[0], bool) or not isinstance(shape[0], int) or (
            shape[0] < 1
        ):
            raise SpaceError(
                f"Space 'nbgraph' needs input_shape=(num_node_features,), got {shape}."
            )
        _check_classes(self.name, num_classes)
        from archsmith._lazy import optional_import

        optional_import("torch_geometric.nn", "gnn", "Building models of space 'nbgraph'",
                        hint="Benchmark lookups (--benchmark nbgraph/...) do not need it.")
        return _net_class()(
            _plan(links, ops, shape[0], self.hidden_dim, self.num_pre), links, shape[0],
            num_classes, self.hidden_dim, self.num_pre, self.num_pro, self.dropout,
            self.normalize,
        )


def _plan(
    links: Sequence[int], ops: Sequence[str], num_features: int, dim: int, num_pre: int
) -> list[tuple[int, str, int, bool]]:
    """``(input node, op, input width, input is raw features)`` per computing node.

    Without pre-processing layers the input node holds the raw features, and so does a
    ``skip`` of them; ops reading raw features get them without batch norm → ReLU →
    dropout. (The benchmark's canonical forms never output raw features.)
    """
    raw = [num_pre == 0]
    out = []
    for src, op in zip(links, ops, strict=True):
        out.append((src, op, num_features if raw[src] else dim, raw[src]))
        raw.append(raw[src] and op == "skip")
    return out


# -- the package's valid_hash -------------------------------------------------------------
def _move_skips(links: list[int], ops: list[str]) -> tuple[list[int], list[str]]:
    """The package's ``Arch.move_skip_op``: rewires ``skip`` nodes to the front."""
    for i in range(4):
        if ops[i] != "skip":
            continue
        son = (i + 1) in links
        brother = any(j != i and src == links[i] for j, src in enumerate(links))
        k, raw_chain = i, True  # is node i+1 a chain of skips from the input?
        while k > -1:
            if ops[k] != "skip":
                raw_chain = False
                break
            k = links[k] - 1
        if son or not brother or raw_chain:
            ops = [ops[i], *ops[:i], *ops[i + 1 :]]
            new = list(links)
            for j, src in enumerate(links):
                if src == i + 1:
                    new[j] = links[i] + 1  # readers of the skip read its input
                elif src <= i:
                    new[j] = src + 1
            links = [0, *new[:i], *new[i + 1 :]]
    if links == [0, 1, 2, 1]:
        links, ops = [0, 1, 1, 2], [ops[0], ops[1], ops[3], ops[2]]
    elif links == [0, 1, 1, 3]:
        links, ops = [0, 1, 1, 2], [ops[0], ops[2], ops[1], ops[3]]
    return links, ops


def _valid_hash(links: Sequence[int], ops: Sequence[str]) -> int:
    """The package's ``Arch(links, ops).valid_hash()`` (links must be in :data:`LINKS`)."""
    lk, op = _move_skips(list(links), list(ops))
    key = tuple(lk)
    digits = [_OP_DIGIT[o] for o in op]
    if key == (0, 0, 1, 2):
        if digits[0] > digits[1] or (digits[0] == digits[1] and digits[2] > digits[3]):
            digits = [digits[1], digits[0], digits[3], digits[2]]
    elif key in _SIBLINGS:
        pos = _SIBLINGS[key]
        for p, v in zip(pos, sorted(digits[p] for p in pos), strict=True):
            digits[p] = v
    h = _LINK_INDEX[key]
    for v in digits:
        h = h * 10 + v
    return h


# -- the network, defined on first use (torch and PyTorch Geometric stay unimported) -----
_NET: dict[str, type] = {}


def _net_class() -> type:
    if _NET:
        return _NET["NBGraphNet"]
    import torch
    import torch.nn.functional as F
    from torch import Tensor, nn

    class _Linear(nn.Linear):
        """``fc``: a linear layer that ignores the graph."""

        def forward(self, x: Tensor, edge_index: Tensor | None = None) -> Tensor:
            return super().forward(x)

    class _Skip(nn.Module):
        """``skip``: passes its input on."""

        def forward(self, x: Tensor, edge_index: Tensor | None = None) -> Tensor:
            return x

    def make_op(op: str, c_in: int, dim: int, normalize: bool) -> nn.Module:
        from torch_geometric import nn as gnn

        return {  # the calls of NAS-Bench-Graph's gnn_map
            "gat": lambda: gnn.GATConv(c_in, dim // 4, heads=4, add_self_loops=normalize),
            "gcn": lambda: gnn.GCNConv(c_in, dim, normalize=normalize),
            "gin": lambda: gnn.GINConv(nn.Linear(c_in, dim)),
            "cheb": lambda: gnn.ChebConv(c_in, dim, K=2),
            "sage": lambda: gnn.SAGEConv(c_in, dim),
            "arma": lambda: gnn.ARMAConv(c_in, dim),
            "graph": lambda: gnn.GraphConv(c_in, dim),
            "fc": lambda: _Linear(c_in, dim),
            "skip": _Skip,
        }[op]()

    class NBGraphNet(nn.Module):
        """NAS-Bench-Graph network; ``forward(x, edge_index)`` gives per-node logits."""

        def __init__(
            self, plan: list[tuple[int, str, int, bool]], links: Sequence[int],
            num_features: int, num_classes: int, dim: int, num_pre: int, num_pro: int,
            dropout: float, normalize: bool,
        ) -> None:
            super().__init__()
            self.p = dropout
            self.plan = [(src, raw) for src, _, _, raw in plan]
            self.leaves = [n for n in range(1, 5) if n not in links]
            widths = [num_features] + [dim] * num_pre
            self.pre = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(widths))
            self.ops = nn.ModuleList(make_op(op, c, dim, normalize) for _, op, c, _ in plan)
            # one norm per op, as in the benchmark (unused by ops reading raw features)
            self.norms = nn.ModuleList(nn.BatchNorm1d(dim) for _ in plan)
            outs = [dim] * num_pro + [num_classes]
            self.cell_out = nn.Linear(len(self.leaves) * dim, outs[0])
            self.post = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(outs))

        @staticmethod
        def _stack(layers: nn.ModuleList, h: Tensor) -> Tensor:
            for j, layer in enumerate(layers):
                h = layer(h) if j == 0 else layer(F.elu(h))
            return h

        def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
            nodes = [self._stack(self.pre, F.dropout(x, self.p, self.training))]
            for (src, raw), op, norm in zip(self.plan, self.ops, self.norms, strict=True):
                h = nodes[src]
                if not raw:
                    h = F.dropout(F.relu(norm(h)), self.p, self.training)
                nodes.append(op(h, edge_index))
            h = F.relu(torch.cat([nodes[n] for n in self.leaves], dim=1))
            return self._stack(self.post, self.cell_out(h))

    for cls in (_Linear, _Skip, NBGraphNet):
        cls.__module__ = __name__
        cls.__qualname__ = cls.__name__
        _NET[cls.__name__] = cls
    return NBGraphNet


def __getattr__(name: str) -> Any:
    # Lets pickle find the lazily defined classes (``archsmith.space._nbgraph.NBGraphNet``).
    if name in ("NBGraphNet", "_Linear", "_Skip"):
        _net_class()
        return _NET[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


SPACES.add(
    "nbgraph",
    _space_factory(NBGraphSpace),
    help="NAS-Bench-Graph GNN space (4 nodes: input link + one of 9 ops; 26,206 "
    "architectures); node classification; tabular results via the nbgraph/* benchmarks.",
)
