"""Search-space core: decisions, architectures, graphs and the space base class.

A search space compiles to an ordered sequence of categorical :class:`Decision`
objects. A decision may be *conditional*: it is active only when an earlier
decision (its ``parent``) is active and takes one of the values in ``active_if``.
An :class:`Architecture` is an immutable assignment of one choice index to every
decision (``-1`` for inactive decisions). That index sequence is what a
generator emits, what evolution mutates and what storage records.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from archsmith.errors import SpaceError

if TYPE_CHECKING:
    import torch.nn

__all__ = ["ArchGraph", "Architecture", "Decision", "PathEncodable", "SearchSpace",
           "repeated_decisions"]

Choice = str | int | float | bool | None


@dataclass(frozen=True)
class Decision:
    """One categorical choice of a search space.

    Args:
        name: Unique name of the decision (``"width_1"``).
        choices: The possible values, JSON-serialisable scalars.
        parent: Name of an earlier decision this one depends on, or ``None``.
        active_if: Values of ``parent`` for which this decision is active.

    Example:
        >>> Decision("depth", (1, 2, 3)).choices
        (1, 2, 3)
    """

    name: str
    choices: tuple[Choice, ...]
    parent: str | None = None
    active_if: tuple[Choice, ...] = ()

    def __post_init__(self) -> None:
        if not self.name:
            raise SpaceError("A decision needs a non-empty name.")
        if len(self.choices) == 0:
            raise SpaceError(f"Decision {self.name!r} has no choices; give at least one value.")
        if len(set(map(_key, self.choices))) != len(self.choices):
            raise SpaceError(f"Decision {self.name!r} lists a choice twice: {self.choices!r}.")
        if self.parent is not None and not self.active_if:
            raise SpaceError(
                f"Decision {self.name!r} depends on {self.parent!r} but gives no `active_if` "
                "values; list the parent values that make it active."
            )

    @property
    def size(self) -> int:
        """Number of choices."""
        return len(self.choices)

    def index(self, value: Any) -> int:
        """Index of ``value`` among the choices.

        Raises:
            SpaceError: ``value`` is not a valid choice; the message lists the valid ones.
        """
        for i, c in enumerate(self.choices):
            if _key(c) == _key(value):
                return i
        raise SpaceError(
            f"Decision {self.name!r} has no choice {value!r}; valid choices: {list(self.choices)}."
        )


def _key(v: Any) -> str:
    """Comparison key of a choice: numbers compare by value (``0 == 0.0``), bools not."""
    if isinstance(v, int | float) and not isinstance(v, bool):
        return repr(float(v))
    return json.dumps(v, sort_keys=True)


def repeated_decisions(count: str, max_count: int,
                       fields: Sequence[tuple[str, Sequence[Choice]]]) -> list[Decision]:
    """Per-block decisions ``{field}_{k}`` for blocks ``k = 1..max_count``, each active
    when the decision ``count`` is at least ``k`` (layers of an MLP, stages of a CNN).

    Example:
        >>> [d.name for d in repeated_decisions("n", 2, [("w", (8, 16))])]
        ['w_1', 'w_2']
        >>> repeated_decisions("n", 2, [("w", (8, 16))])[1].active_if
        (2,)
    """
    out: list[Decision] = []
    for k in range(1, max_count + 1):
        when = tuple(range(k, max_count + 1))
        out += [Decision(f"{name}_{k}", tuple(choices), count, when)
                for name, choices in fields]
    return out


@runtime_checkable
class PathEncodable(Protocol):
    """A space with a path encoding of its own (BANANAS's encoding: one entry per
    input-to-output path of ops), used by the path-based critics."""

    def path_encoding(self, arch: Architecture) -> np.ndarray:
        """A fixed-length vector, one entry per possible path."""


@dataclass(frozen=True)
class ArchGraph:
    """Graph view of an architecture for predictors.

    Nodes are operations (``labels[i]`` is node ``i``'s op name; by convention node 0
    is ``"input"`` and the last node is ``"output"``); ``edges`` are directed
    ``(source, target)`` pairs of data flow.
    """

    labels: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]

    @property
    def num_nodes(self) -> int:
        return len(self.labels)


class Architecture:
    """An immutable architecture: one choice index per decision of ``space``.

    Create architectures with :meth:`SearchSpace.make`, :meth:`SearchSpace.sample` or
    :meth:`SearchSpace.from_indices` rather than directly.

    Example:
        >>> from archsmith.space import create_space
        >>> space = create_space("mlp")
        >>> arch = space.sample(np.random.default_rng(0))
        >>> space.from_dict(arch.to_dict()) == arch
        True
    """

    __slots__ = ("_hash", "indices", "space")

    def __init__(self, space: SearchSpace, indices: Sequence[int]) -> None:
        self.space = space
        self.indices: tuple[int, ...] = tuple(int(i) for i in indices)
        self._hash: str | None = None

    # -- values -------------------------------------------------------------------------
    @property
    def values(self) -> dict[str, Choice]:
        """Active decisions as ``{name: value}`` in decision order."""
        return {
            d.name: d.choices[i]
            for d, i in zip(self.space.decisions, self.indices, strict=True)
            if i >= 0
        }

    def __getitem__(self, name: str) -> Choice:
        """Value of decision ``name`` (``None`` when it is inactive)."""
        i = self.space.position(name)
        idx = self.indices[i]
        return None if idx < 0 else self.space.decisions[i].choices[idx]

    def get(self, name: str, default: Choice = None) -> Choice:
        v = self[name]
        return default if v is None else v

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form: ``{"space": name, "decisions": {...}}``."""
        return {"space": self.space.name, "decisions": self.values}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=False)

    # -- identity -----------------------------------------------------------------------
    @property
    def hash(self) -> str:
        """Canonical hash; isomorphic architectures (same function) share it."""
        if self._hash is None:
            self._hash = self.space.canonical_hash(self)
        return self._hash

    @property
    def graph(self) -> ArchGraph:
        """Graph view (nodes = ops, edges = data flow)."""
        return self.space.graph(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Architecture):
            return NotImplemented
        return self.space.name == other.space.name and self.indices == other.indices

    def __hash__(self) -> int:
        return hash((self.space.name, self.indices))

    def __repr__(self) -> str:
        vals = ", ".join(f"{k}={v!r}" for k, v in self.values.items())
        return f"Architecture({self.space.name}: {vals})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Architecture, (self.space, self.indices))


class SearchSpace:
    """Base class of search spaces.

    Subclasses are dataclasses whose fields are the constructor arguments; they set the
    class attribute ``name`` and implement :meth:`_decisions` and :meth:`build`; they
    may override :meth:`graph`, :meth:`canonical_hash`, :meth:`choice_mask` and
    :meth:`check_data`. Constructor arguments are the whole configuration
    (:meth:`config` returns them), so ``create_space(space.name, **space.config())``
    rebuilds an equal space.
    """

    name: ClassVar[str] = "space"
    _decs: tuple[Decision, ...] = ()
    _pos: dict[str, int] = {}  # noqa: RUF012 - replaced per instance on first use

    # -- to implement -------------------------------------------------------------------
    def _decisions(self) -> list[Decision]:
        raise NotImplementedError

    def build(
        self, arch: Architecture, input_shape: tuple[int, ...], num_classes: int
    ) -> torch.nn.Module:
        """Builds the network for ``arch``.

        Args:
            arch: An architecture of this space.
            input_shape: Shape of one example without the batch dimension, e.g.
                ``(1, 8, 8)`` for images, ``(1, 40)`` for 1-D signals, ``(64,)`` for
                feature vectors.
            num_classes: Number of output logits.
        """
        raise NotImplementedError

    def check_data(self, input_shape: tuple[int, ...], num_classes: int) -> None:
        """Raises :class:`SpaceError` when the space cannot model such data."""

    # -- decision sequence --------------------------------------------------------------
    @property
    def decisions(self) -> tuple[Decision, ...]:
        """The ordered decision sequence (compiled once)."""
        if not self._decs:
            decs = tuple(self._decisions())
            pos: dict[str, int] = {}
            for i, d in enumerate(decs):
                if d.name in pos:
                    raise SpaceError(f"Space {self.name!r} declares decision {d.name!r} twice.")
                if d.parent is not None:
                    if d.parent not in pos:
                        raise SpaceError(
                            f"Decision {d.name!r} depends on {d.parent!r}, which must be "
                            "declared before it."
                        )
                    parent = decs[pos[d.parent]]
                    for v in d.active_if:
                        parent.index(v)
                pos[d.name] = i
            object.__setattr__(self, "_decs", decs)
            object.__setattr__(self, "_pos", pos)
        return self._decs

    def __len__(self) -> int:
        return len(self.decisions)

    def position(self, name: str) -> int:
        """Index of decision ``name`` in the sequence."""
        _ = self.decisions
        try:
            return self._pos[name]
        except KeyError:
            raise SpaceError(
                f"Space {self.name!r} has no decision {name!r}; its decisions are "
                f"{[d.name for d in self.decisions]}."
            ) from None

    def is_active(self, i: int, indices: Sequence[int]) -> bool:
        """Whether decision ``i`` is active given the (partial) choices ``indices``.

        Only entries before ``i`` are read, so generators can call it while emitting.
        """
        d = self.decisions[i]
        if d.parent is None:
            return True
        p = self._pos[d.parent]
        pi = indices[p]
        if pi < 0:
            return False
        return _key(self.decisions[p].choices[pi]) in {_key(v) for v in d.active_if}

    def choice_mask(self, i: int, indices: Sequence[int]) -> np.ndarray:
        """Boolean mask of valid choices for decision ``i`` given earlier choices.

        All choices are valid by default; spaces with invalid combinations override it.
        """
        return np.ones(self.decisions[i].size, dtype=bool)

    def config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-serialisable) that rebuild this space."""
        out: dict[str, Any] = {}
        if dataclasses.is_dataclass(self):
            for f in dataclasses.fields(self):
                v = getattr(self, f.name)
                out[f.name] = list(v) if isinstance(v, tuple) else v
        return out

    # -- creating architectures ---------------------------------------------------------
    def from_indices(self, indices: Sequence[int]) -> Architecture:
        """Architecture from choice indices; inactive entries are normalised to ``-1``.

        Raises:
            SpaceError: wrong length, an index out of range, or an invalid choice.
        """
        decs = self.decisions
        if len(indices) != len(decs):
            raise SpaceError(
                f"Space {self.name!r} has {len(decs)} decisions but {len(indices)} indices "
                "were given."
            )
        out = [-1] * len(decs)
        for i, d in enumerate(decs):
            if not self.is_active(i, out):
                continue
            idx = int(indices[i])
            if not 0 <= idx < d.size:
                raise SpaceError(
                    f"Decision {d.name!r} needs an index in 0..{d.size - 1}, got {idx}."
                )
            if not self.choice_mask(i, out)[idx]:
                raise SpaceError(f"Choice {d.choices[idx]!r} of {d.name!r} is not allowed here.")
            out[i] = idx
        return Architecture(self, out)

    def make(self, values: Mapping[str, Any]) -> Architecture:
        """Architecture from ``{decision name: value}``.

        Every active decision must be given; values of inactive decisions are ignored.

        Raises:
            SpaceError: an unknown decision name, an invalid value or a missing one.
        """
        decs = self.decisions
        unknown = set(values) - set(self._pos)
        if unknown:
            raise SpaceError(
                f"Space {self.name!r} has no decision(s) {sorted(unknown)}; its decisions are "
                f"{[d.name for d in decs]}."
            )
        out = [-1] * len(decs)
        for i, d in enumerate(decs):
            if not self.is_active(i, out):
                continue
            if d.name not in values:
                raise SpaceError(
                    f"Architecture for space {self.name!r} is missing decision {d.name!r} "
                    f"(choices: {list(d.choices)})."
                )
            out[i] = d.index(values[d.name])
        return self.from_indices(out)

    def from_dict(self, data: Mapping[str, Any]) -> Architecture:
        """Inverse of :meth:`Architecture.to_dict`."""
        if not isinstance(data, Mapping) or "decisions" not in data:
            raise SpaceError(
                'An architecture dict needs the form {"space": name, "decisions": {...}}.'
            )
        extra = set(data) - {"space", "decisions"}
        if extra:
            raise SpaceError(f"Unknown key(s) {sorted(extra)} in architecture dict.")
        if data.get("space", self.name) != self.name:
            raise SpaceError(
                f"Architecture belongs to space {data['space']!r}, not {self.name!r}."
            )
        return self.make(data["decisions"])

    def sample(self, rng: np.random.Generator) -> Architecture:
        """Uniformly samples each active decision in order."""
        out = [-1] * len(self.decisions)
        for i, _ in enumerate(self.decisions):
            if self.is_active(i, out):
                mask = self.choice_mask(i, out)
                valid = np.flatnonzero(mask)
                out[i] = int(valid[rng.integers(len(valid))])
        return Architecture(self, out)

    def _complete(
        self, prefix: list[int], start: int, rng: np.random.Generator | None
    ) -> list[int]:
        """Re-validates decisions from ``start`` on: keeps valid values, fills newly active."""
        out = list(prefix)
        for j in range(start, len(self.decisions)):
            if not self.is_active(j, out):
                out[j] = -1
                continue
            mask = self.choice_mask(j, out)
            if out[j] >= 0 and mask[out[j]]:
                continue
            valid = np.flatnonzero(mask)
            out[j] = int(valid[rng.integers(len(valid))]) if rng is not None else int(valid[0])
        return out

    def mutate(self, arch: Architecture, rng: np.random.Generator) -> Architecture:
        """Changes one active decision to a different valid value.

        Decisions that become active are sampled; ones that become inactive are cleared.
        Returns ``arch`` itself only when no decision has an alternative.
        """
        active = [
            i for i, idx in enumerate(arch.indices)
            if idx >= 0 and self.choice_mask(i, arch.indices).sum() > 1
        ]
        if not active:
            return arch
        i = active[int(rng.integers(len(active)))]
        mask = self.choice_mask(i, arch.indices).copy()
        mask[arch.indices[i]] = False
        valid = np.flatnonzero(mask)
        out = list(arch.indices)
        out[i] = int(valid[rng.integers(len(valid))])
        return Architecture(self, self._complete(out, i + 1, rng))

    def neighbours(self, arch: Architecture) -> list[Architecture]:
        """All architectures that differ from ``arch`` in exactly one active decision.

        Newly activated decisions take their first valid choice (deterministic).
        """
        result: list[Architecture] = []
        for i, idx in enumerate(arch.indices):
            if idx < 0:
                continue
            mask = self.choice_mask(i, arch.indices)
            for c in np.flatnonzero(mask):
                if c == idx:
                    continue
                out = list(arch.indices)
                out[i] = int(c)
                result.append(Architecture(self, self._complete(out, i + 1, None)))
        return result

    def enumerate(self, limit: int | None = 100_000) -> list[Architecture]:
        """All architectures of the space (raises when there are more than ``limit``)."""
        results: list[Architecture] = []

        def rec(i: int, cur: list[int]) -> None:
            if limit is not None and len(results) > limit:
                raise SpaceError(f"Space {self.name!r} has more than {limit} architectures.")
            if i == len(self.decisions):
                results.append(Architecture(self, cur))
                return
            if not self.is_active(i, cur):
                rec(i + 1, [*cur[:i], -1, *cur[i + 1 :]])
                return
            for c in np.flatnonzero(self.choice_mask(i, cur)):
                rec(i + 1, [*cur[:i], int(c), *cur[i + 1 :]])

        rec(0, [-1] * len(self.decisions))
        return results

    # -- network transformations --------------------------------------------------------
    def transform(self, parent: Architecture, child: Architecture,
                  state_dict: dict[str, Any], **options: Any) -> Any:
        """Initial weights for ``child`` from ``parent``'s trained ``state_dict``:
        Net2Net growth (function-preserving), N2N shrinkage and the rest with maximal
        reuse. Supported by the ``mlp`` and ``cnn`` spaces; returns a
        :class:`archsmith.transform.Transformed` (see :func:`archsmith.transform.transform`
        for ``options``).

        Raises:
            SpaceError: the space has no transformations, or the weights do not match.
        """
        from archsmith.space._morph import transform

        if parent.space.name != self.name:
            raise SpaceError(f"The parent belongs to space {parent.space.name!r}, not "
                             f"{self.name!r}.")
        return transform(parent, child, state_dict, **options)

    # -- views --------------------------------------------------------------------------
    def canonical_hash(self, arch: Architecture) -> str:
        """Hash of the architecture's function. Default: the active values.

        Spaces where different sequences give the same network override this.
        """
        payload = json.dumps([self.name, arch.values], sort_keys=True)
        return hashlib.sha1(payload.encode()).hexdigest()[:16]

    def graph(self, arch: Architecture) -> ArchGraph:
        """Default graph view: a chain ``input → decision=value … → output``."""
        labels = ["input", *(f"{k}={v}" for k, v in arch.values.items()), "output"]
        edges = tuple((i, i + 1) for i in range(len(labels) - 1))
        return ArchGraph(tuple(labels), edges)

    def summary(self, arch: Architecture) -> str:
        """Short human-readable form for tables (``k=v`` pairs; spaces may override)."""
        return " ".join(f"{k}={v}" for k, v in arch.values.items())

    def compact(self, arch: Architecture) -> str:
        """The shortest readable form, for narrow tables (default: :meth:`summary`)."""
        return self.summary(arch)

    def encode(self, arch: Architecture) -> np.ndarray:
        """One-hot encoding of the decisions (inactive decisions are all-zero)."""
        total = sum(d.size for d in self.decisions)
        vec = np.zeros(total, dtype=np.float32)
        off = 0
        for d, idx in zip(self.decisions, arch.indices, strict=True):
            if idx >= 0:
                vec[off + idx] = 1.0
            off += d.size
        return vec
