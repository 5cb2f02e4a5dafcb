"""Featurisation shared by the critics: decision one-hots, path encodings, graph tensors.

* :func:`onehot_matrix` — ``space.encode(arch)`` stacked (one-hot decisions).
* :func:`nb201_path_encoding` / :func:`path_matrix` — BANANAS's path encoding of a
  NAS-Bench-201 cell: every input→output path of non-``none`` edges, identified by its
  op sequence and counted (two paths with the same op sequence count twice). Spaces may
  provide their own ``path_encoding(arch)``; other spaces fall back to the one-hots.
* :class:`GraphFeaturizer` — an architecture's :class:`~archsmith.space.ArchGraph` as
  dense tensors (node-label ids, in-adjacency, node mask), cached per
  :attr:`Architecture.hash`, padded per batch.

Example:
    >>> from archsmith.space import create_space
    >>> space = create_space("nb201")
    >>> arch = space.from_indices([3, 3, 3, 1, 2, 0])  # skip and conv3 → conv1 reach out
    >>> vec = nb201_path_encoding(space, arch)
    >>> vec.shape, float(vec.sum())
    ((84,), 2.0)
    >>> feat = GraphFeaturizer(space)
    >>> ids, adj, mask = feat.batch([arch])
    >>> tuple(ids.shape), tuple(adj.shape), int(mask.sum())
    ((1, 4), (1, 4, 4), 4)
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import numpy as np

from archsmith._threads import single_thread

if TYPE_CHECKING:
    import torch

    from archsmith.space import Architecture, SearchSpace

__all__ = [
    "UNK",
    "GraphFeaturizer",
    "TargetTransform",
    "feature_matrix",
    "has_path_encoding",
    "load_network_state",
    "nb201_path_encoding",
    "network_state",
    "onehot_matrix",
    "path_matrix",
    "single_threaded",
]

_P = ParamSpec("_P")
_R = TypeVar("_R")

#: Label of the shared "unknown" node id (always id 0).
UNK = "<unk>"

# NAS-Bench-201 cell paths from node 0 to node 3, as edge positions in EDGES order
# ((0,1), (0,2), (1,2), (0,3), (1,3), (2,3)).
_NB201_PATHS: tuple[tuple[int, ...], ...] = ((3,), (0, 4), (1, 5), (0, 2, 5))


def onehot_matrix(space: SearchSpace, archs: Sequence[Architecture]) -> np.ndarray:
    """``space.encode(arch)`` for every architecture, as a ``float32`` matrix.

    Example:
        >>> from archsmith.space import create_space
        >>> space = create_space("nb201")
        >>> onehot_matrix(space, [space.from_indices([0] * 6)]).shape
        (1, 30)
    """
    if not archs:
        return np.zeros((0, sum(d.size for d in space.decisions)), dtype=np.float32)
    return np.stack([space.encode(a) for a in archs]).astype(np.float32, copy=False)


def nb201_path_encoding(space: SearchSpace, arch: Architecture) -> np.ndarray:
    """BANANAS path encoding of a NAS-Bench-201 cell (84 counts).

    Features are the op sequences of length 1, 2 and 3 over the four non-``none`` ops
    (4 + 16 + 64); a feature counts the cell's input→output paths with that sequence.
    Paths through a ``none`` edge carry no data and are left out.

    Args:
        space: The ``nb201`` space (anything with ``ops(arch)`` returning the six edge
            ops in ``Op0..Op5`` order).
        arch: A cell of ``space``.
    """
    from archsmith.space._nb201 import NB201_OPS

    ops: tuple[str, ...] = space.ops(arch)  # type: ignore[attr-defined]
    live = [op for op in NB201_OPS if op != "none"]
    index = {op: k for k, op in enumerate(live)}
    k = len(live)
    vec = np.zeros(k + k**2 + k**3, dtype=np.float32)
    offsets = {1: 0, 2: k, 3: k + k**2}
    for path in _NB201_PATHS:
        seq = [ops[e] for e in path]
        if "none" in seq:
            continue
        pos = 0
        for op in seq:
            pos = pos * k + index[op]
        vec[offsets[len(seq)] + pos] += 1.0
    return vec


def has_path_encoding(space: SearchSpace) -> bool:
    """Whether :func:`path_matrix` has a real path encoding for ``space``."""
    from archsmith.space._base import PathEncodable
    from archsmith.space._nb201 import NB201Space

    return isinstance(space, PathEncodable | NB201Space)


def path_matrix(space: SearchSpace, archs: Sequence[Architecture]) -> np.ndarray:
    """Path encodings of ``archs``: ``space.path_encoding`` if the space has one, the
    NAS-Bench-201 encoding for ``nb201``, else the decision one-hots.

    Example:
        >>> from archsmith.space import create_space
        >>> space = create_space("nb201")
        >>> path_matrix(space, [space.from_indices([1] * 6)])[0, :4].tolist()
        [1.0, 0.0, 0.0, 0.0]
    """
    from archsmith.space._base import PathEncodable

    if isinstance(space, PathEncodable):
        rows = [np.asarray(space.path_encoding(a), dtype=np.float32) for a in archs]
    elif has_path_encoding(space):
        rows = [nb201_path_encoding(space, a) for a in archs]
    else:
        return onehot_matrix(space, archs)
    if not rows:
        width = len(path_matrix(space, [space.sample(np.random.default_rng(0))])[0])
        return np.zeros((0, width), dtype=np.float32)
    return np.stack(rows)


def feature_matrix(space: SearchSpace, archs: Sequence[Architecture], encoding: str) -> np.ndarray:
    """Features of ``archs`` for vector critics.

    Args:
        space: The search space.
        archs: Architectures of ``space``.
        encoding: ``"onehot"`` (decision one-hots), ``"path"`` (:func:`path_matrix`),
            ``"path+onehot"`` (both, concatenated) or ``"auto"`` (``"path"`` where the
            space has a path encoding, else ``"onehot"``).

    Raises:
        ConfigError: ``encoding`` is unknown.
    """
    from archsmith.errors import ConfigError

    if encoding == "auto":
        encoding = "path" if has_path_encoding(space) else "onehot"
    if encoding == "onehot":
        return onehot_matrix(space, archs)
    if encoding == "path":
        return path_matrix(space, archs)
    if encoding == "path+onehot":
        return np.concatenate([path_matrix(space, archs), onehot_matrix(space, archs)], axis=1)
    raise ConfigError(
        f"Unknown encoding {encoding!r}; use 'auto', 'path', 'onehot' or 'path+onehot'."
    )


_MAX_CACHED = 500_000
_SHARED: weakref.WeakKeyDictionary[SearchSpace, dict[str, object]] = (
    weakref.WeakKeyDictionary()
)


def _shared_store(space: SearchSpace) -> dict[str, object] | None:
    """Per-space cache shared by featurisers (``None`` for unhashable spaces)."""
    try:
        store = _SHARED.get(space)
        if store is None:
            store = _SHARED[space] = {}
        return store
    except TypeError:  # e.g. a non-frozen dataclass space has no hash
        return None


class GraphFeaturizer:
    """Turns architectures into padded dense graph tensors for the GNN critic.

    The node-label vocabulary is built from the space alone (so it never changes
    between fits): ``<unk>`` (id 0), ``input``, ``output``, every decision value as
    ``str(value)`` and ``name=value``, and the labels of the graphs of 256
    architectures sampled with a fixed seed. Labels outside it map to ``<unk>``.

    Graphs are cached per architecture hash, in a store shared by all featurisers of
    equal (hashable) spaces in the process, so refitting a fresh critic does not
    recompute them; label ids are cached per featuriser. A batch is padded to its
    largest graph.

    Args:
        space: The search space.
        sample_size: Architectures sampled (seed 0) to collect graph labels.
    """

    def __init__(self, space: SearchSpace, sample_size: int = 256) -> None:
        self.space = space
        shared = _shared_store(space)
        cached = shared.get("vocab") if shared is not None else None
        vocab: dict[str, int] = {}
        if isinstance(cached, dict):
            vocab = cached
        else:
            labels: list[str] = [UNK, "input", "output"]
            for d in space.decisions:
                for v in d.choices:
                    labels += [str(v), f"{d.name}={v}"]
            rng = np.random.default_rng(0)
            for _ in range(sample_size):
                labels += list(space.sample(rng).graph.labels)
            for lab in labels:
                vocab.setdefault(lab, len(vocab))
            if shared is not None:
                shared["vocab"] = vocab
        self.vocab: dict[str, int] = dict(vocab)
        graphs = shared.get("graphs") if shared is not None else None
        if not isinstance(graphs, dict):
            graphs = {}
            if shared is not None:
                shared["graphs"] = graphs
        self._graphs: dict[str, tuple[tuple[str, ...], np.ndarray]] = graphs
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    @property
    def num_labels(self) -> int:
        """Size of the vocabulary (including ``<unk>``)."""
        return len(self.vocab)

    def _entry(self, arch: Architecture) -> tuple[np.ndarray, np.ndarray]:
        key = arch.hash
        hit = self._cache.get(key)
        if hit is None:
            graph = self._graphs.get(key)
            if graph is None:
                g = arch.graph
                graph = (g.labels, np.array(g.edges, dtype=np.int64).reshape(-1, 2))
                if len(self._graphs) >= _MAX_CACHED:
                    self._graphs.clear()
                self._graphs[key] = graph
            ids = np.array([self.vocab.get(lab, 0) for lab in graph[0]], dtype=np.int64)
            hit = (ids, graph[1])
            if len(self._cache) >= _MAX_CACHED:
                self._cache.clear()
            self._cache[key] = hit
        return hit

    def batch(
        self, archs: Sequence[Architecture]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Padded tensors of ``archs``.

        Returns:
            ``(ids, adj, mask)``: label ids ``[B, N]`` (``long``; padding is 0),
            in-adjacency ``adj[b, v, u]`` = number of edges ``u → v`` (``float32``,
            ``[B, N, N]``) and the node mask ``[B, N]`` (``float32``). Node 0 is the
            input and node ``mask[b].sum() - 1`` the output, by the graph convention.
        """
        import torch

        entries = [self._entry(a) for a in archs]
        n = max((len(e[0]) for e in entries), default=1)
        b = len(entries)
        ids = np.zeros((b, n), dtype=np.int64)
        adj = np.zeros((b, n, n), dtype=np.float32)
        mask = np.zeros((b, n), dtype=np.float32)
        for i, (lab, edges) in enumerate(entries):
            ids[i, : len(lab)] = lab
            mask[i, : len(lab)] = 1.0
            if len(edges):
                np.add.at(adj[i], (edges[:, 1], edges[:, 0]), 1.0)
        return torch.from_numpy(ids), torch.from_numpy(adj), torch.from_numpy(mask)


class TargetTransform:
    """Monotone map of training scores to a standardised target, and back.

    * ``"standard"``: ``(y - mean) / std``.
    * ``"clip"``: scores below the ``clip`` quantile are raised to it, then standardised
      (NAS-Bench-201's few "dead" cells at ~10% would otherwise dominate a squared loss).
    * ``"rank"``: the normal scores of the ranks, ``Φ⁻¹((rank + 0.5) / n)``; the inverse
      interpolates between the training pairs and extrapolates linearly beyond them.

    The inverse of every kind is strictly increasing, so predicted rankings survive it.

    Args:
        kind: ``"standard"``, ``"clip"`` or ``"rank"``.
        clip: Lower quantile for ``"clip"``.

    Example:
        >>> t = TargetTransform("rank").fit(np.array([10.0, 80.0, 85.0, 90.0]))
        >>> z = t.forward(np.array([10.0, 90.0]))
        >>> bool(z[0] < 0 < z[1]), np.allclose(t.inverse(z), [10.0, 90.0])
        (True, True)
    """

    def __init__(self, kind: str = "standard", clip: float = 0.1) -> None:
        from archsmith.errors import ConfigError

        if kind not in ("standard", "clip", "rank"):
            raise ConfigError(
                f"Unknown target transform {kind!r}; use 'standard', 'clip' or 'rank'."
            )
        if not 0.0 <= clip < 0.5:
            raise ConfigError(f"target clip quantile must be in [0, 0.5), got {clip}.")
        self.kind = kind
        self.clip = clip
        self.mean = 0.0
        self.std = 1.0
        self.low = -np.inf
        self.xs: np.ndarray = np.zeros(0)  # sorted training z (rank kind)
        self.ys: np.ndarray = np.zeros(0)  # matching scores

    def fit(self, y: np.ndarray) -> TargetTransform:
        """Sets the transform from training scores ``y``."""
        y = np.asarray(y, dtype=np.float64)
        self.low = float(np.quantile(y, self.clip)) if self.kind == "clip" else -np.inf
        yc = np.maximum(y, self.low)
        self.mean = float(yc.mean())
        self.std = float(yc.std()) or 1.0
        if self.kind == "rank":
            z = _normal_scores(y)
            order = np.argsort(y, kind="stable")
            self.xs, self.ys = z[order], y[order]
        return self

    def forward(self, y: np.ndarray) -> np.ndarray:
        """Training target of scores ``y``."""
        y = np.asarray(y, dtype=np.float64)
        if self.kind == "rank":
            if len(self.ys) < 2:
                return (y - self.mean) / self.std
            return np.interp(y, self.ys, self.xs)
        return (np.maximum(y, self.low) - self.mean) / self.std

    def inverse(self, z: np.ndarray) -> np.ndarray:
        """Scores of targets ``z`` (inverse of :meth:`forward`, strictly increasing)."""
        z = np.asarray(z, dtype=np.float64)
        if self.kind != "rank" or len(self.ys) < 2:
            return z * self.std + self.mean
        xs, ys = self.xs, self.ys
        out = np.interp(z, xs, ys)
        # Beyond the data: continue with the overall slope (std of y per unit of z),
        # and break ties among equal training scores by a tiny slope so order survives.
        slope = self.std / max(float(np.std(xs)), 1e-12)
        out = np.where(z < xs[0], ys[0] + (z - xs[0]) * slope, out)
        out = np.where(z > xs[-1], ys[-1] + (z - xs[-1]) * slope, out)
        return out + 1e-9 * slope * z

    def state(self) -> dict[str, object]:
        """JSON-serialisable state."""
        return {"kind": self.kind, "clip": self.clip, "mean": self.mean, "std": self.std,
                "low": None if np.isinf(self.low) else self.low,
                "xs": self.xs.tolist(), "ys": self.ys.tolist()}

    @classmethod
    def from_state(cls, state: dict[str, object]) -> TargetTransform:
        """Inverse of :meth:`state`."""
        t = cls(str(state["kind"]), float(state["clip"]))  # type: ignore[arg-type]
        t.mean = float(state["mean"])  # type: ignore[arg-type]
        t.std = float(state["std"])  # type: ignore[arg-type]
        low = state["low"]
        t.low = -np.inf if low is None else float(low)  # type: ignore[arg-type]
        t.xs = np.asarray(state["xs"], dtype=np.float64)
        t.ys = np.asarray(state["ys"], dtype=np.float64)
        return t


def network_state(transform: TargetTransform, net: torch.nn.Module | None) -> dict[str, Any]:
    """A fitted network critic's state: its target transform and a copy of its weights."""
    if net is None:
        return {}
    return {"transform": transform.state(),
            "net": {k: v.detach().clone() for k, v in net.state_dict().items()}}


def load_network_state(
    state: dict[str, Any], new_net: Callable[[int], torch.nn.Module]
) -> tuple[TargetTransform, torch.nn.Module] | None:
    """Inverse of :func:`network_state` (``None`` for an unfitted critic's state)."""
    if not state:
        return None
    net = new_net(0)
    net.load_state_dict(state["net"])
    net.eval()
    return TargetTransform.from_state(state["transform"]), net


def _normal_scores(y: np.ndarray) -> np.ndarray:
    """``Φ⁻¹((rank - 0.5) / n)`` with average ranks for ties (stdlib, no scipy import)."""
    from statistics import NormalDist

    order = np.argsort(y, kind="stable")
    ranks = np.empty(len(y), dtype=np.float64)
    ranks[order] = np.arange(1, len(y) + 1)
    _, inv = np.unique(y, return_inverse=True)
    sums = np.bincount(inv, weights=ranks)
    counts = np.bincount(inv)
    avg = (sums / counts)[inv]
    inv_cdf = NormalDist().inv_cdf
    return np.array([inv_cdf(float(q)) for q in (avg - 0.5) / len(y)])


def single_threaded(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Decorator running ``fn`` inside :func:`single_thread`."""

    @functools.wraps(fn)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with single_thread():
            return fn(*args, **kwargs)

    return wrapper
