"""User-defined search spaces from plain Python functions, without subclassing.

Example:
    A tiny space with a depth and a conditional width, built as a torch MLP:

    >>> import numpy as np
    >>> from torch import nn
    >>> from archsmith.space import Decision
    >>> def build(arch, input_shape, num_classes):
    ...     width = arch["width"] if arch["hidden"] else None
    ...     n_in = int(np.prod(input_shape))
    ...     if width is None:
    ...         return nn.Sequential(nn.Flatten(), nn.Linear(n_in, num_classes))
    ...     return nn.Sequential(nn.Flatten(), nn.Linear(n_in, width), nn.ReLU(),
    ...                          nn.Linear(width, num_classes))
    >>> space = FunctionalSpace(
    ...     "tiny",
    ...     [Decision("hidden", (False, True)),
    ...      Decision("width", (8, 32), parent="hidden", active_if=(True,))],
    ...     build,
    ... )
    >>> len(space.enumerate())
    3
    >>> arch = space.make({"hidden": True, "width": 32})
    >>> space.build(arch, (4,), 2)[1].out_features
    32
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from archsmith.errors import SpaceError
from archsmith.space._base import ArchGraph, Architecture, Decision, SearchSpace

if TYPE_CHECKING:
    import torch.nn

__all__ = ["FunctionalSpace", "function_ref", "import_ref"]

_FUNCTIONS = ("build_fn", "graph_fn", "check_fn", "hash_fn")


def function_ref(fn: Any) -> str | None:
    """``"module:qualname"`` of a function importable by that name, else ``None``.

    Example:
        >>> import math
        >>> function_ref(math.sqrt), function_ref(lambda x: x)
        ('math:sqrt', None)
    """
    if fn is None:
        return None
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None)
    if not module or not qualname or module == "__main__" or "<" in qualname:
        return None
    try:
        found = import_ref(f"{module}:{qualname}", "", "")
    except SpaceError:
        return None
    return f"{module}:{qualname}" if found is fn else None


def import_ref(ref: str, what: str, how: str) -> Any:
    """The object a ``"module:qualname"`` reference names.

    Raises:
        SpaceError: the module cannot be imported or has no such attribute.
    """
    import importlib

    module, _, qualname = str(ref).partition(":")
    try:
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except Exception as e:
        raise SpaceError(f"Cannot import {what} {ref!r} ({type(e).__name__}: {e}). "
                         f"{how}".strip()) from None
    return obj

BuildFn = Callable[[Architecture, tuple[int, ...], int], "torch.nn.Module"]
GraphFn = Callable[[Architecture], ArchGraph]
CheckFn = Callable[[tuple[int, ...], int], None]
HashFn = Callable[[Architecture], str]


class FunctionalSpace(SearchSpace):
    """A search space assembled from a decision list and plain functions.

    Args:
        name: Name of the space (stored with architectures and results).
        decisions: The ordered decision sequence; a decision's ``parent`` must come
            before it.
        build_fn: ``build_fn(arch, input_shape, num_classes) -> torch.nn.Module``.
        graph_fn: Optional ``graph_fn(arch) -> ArchGraph``; default: a chain of the
            active ``decision=value`` pairs.
        check_fn: Optional ``check_fn(input_shape, num_classes)`` that raises
            :class:`~archsmith.errors.SpaceError` when the data do not fit the space.
        hash_fn: Optional ``hash_fn(arch) -> str`` giving equal strings to
            architectures that compute the same function; default: the active values.

    Saving and loading: :meth:`config` records the decisions and a reference
    (``"module:function"``) to each function, so a stored search, ``archsmith resume``
    and ``archsmith.load`` rebuild the space with ``create_space(name, **config)`` —
    when the functions are defined at module level in an importable module (not in
    ``__main__``, not lambdas or local functions). Otherwise the config says so
    (``"rebuild": None``) and resuming asks for the space object
    (``Search.resume(out, space=space)``). Module-level functions are also what
    parallel executors need, since they pickle architectures.

    Raises:
        SpaceError: an empty or non-string name, no decisions, a non-callable function,
            or an invalid decision sequence (duplicate names, a parent declared later).
    """

    def __init__(
        self,
        name: str,
        decisions: Sequence[Decision],
        build_fn: BuildFn,
        graph_fn: GraphFn | None = None,
        check_fn: CheckFn | None = None,
        hash_fn: HashFn | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise SpaceError(f"A custom space needs a non-empty string name, got {name!r}.")
        decs = tuple(decisions)
        if not decs:
            raise SpaceError(f"Custom space {name!r} needs at least one decision.")
        for d in decs:
            if not isinstance(d, Decision):
                raise SpaceError(
                    f"Custom space {name!r}: decisions must be archsmith.space.Decision "
                    f"objects, got {d!r}."
                )
        for field, fn, required in (
            ("build_fn", build_fn, True),
            ("graph_fn", graph_fn, False),
            ("check_fn", check_fn, False),
            ("hash_fn", hash_fn, False),
        ):
            if (fn is not None or required) and not callable(fn):
                raise SpaceError(
                    f"Custom space {name!r}: `{field}` must be a function, got {fn!r}."
                )
        # ``name`` is a class attribute on SearchSpace; set it per instance.
        object.__setattr__(self, "name", name)
        self._user_decisions = decs
        self.build_fn = build_fn
        self.graph_fn = graph_fn
        self.check_fn = check_fn
        self.hash_fn = hash_fn
        _ = self.decisions  # validate the sequence now, not on first use

    def _decisions(self) -> list[Decision]:
        return list(self._user_decisions)

    def config(self) -> dict[str, Any]:
        """The decisions and ``"module:function"`` references of the functions.

        ``rebuild`` is true when every function can be imported by its reference, so
        that :func:`from_config` (and ``create_space(name, **config)``) rebuilds the
        space; else it names the function that cannot be.
        """
        refs = {f: function_ref(getattr(self, f)) for f in _FUNCTIONS}
        missing = [f for f in _FUNCTIONS if getattr(self, f) is not None and refs[f] is None]
        return {
            "decisions": [
                {"name": d.name, "choices": list(d.choices), "parent": d.parent,
                 "active_if": list(d.active_if)}
                for d in self.decisions
            ],
            **refs,
            "rebuild": not missing or f"{missing[0]} is not importable by reference",
        }

    @classmethod
    def from_config(cls, name: str, **config: Any) -> FunctionalSpace:
        """Rebuilds a space from its :meth:`config` (the functions are imported).

        Raises:
            SpaceError: the config cannot rebuild the space (the message says why and
                that the space object can be passed instead).
        """
        how = ("Pass the space object instead (Search.resume(out, space=space), "
               "archsmith.load(path, space=space)).")
        if config.get("rebuild") is not True or "decisions" not in config:
            why = config.get("rebuild") or "its functions were not recorded"
            raise SpaceError(f"Custom space {name!r} cannot be rebuilt from its stored "
                             f"configuration: {why}. {how}")
        try:
            decisions = [
                Decision(d["name"], tuple(d["choices"]), d.get("parent"),
                         tuple(d.get("active_if") or ()))
                for d in config["decisions"]
            ]
        except (KeyError, TypeError) as e:
            raise SpaceError(f"Custom space {name!r}: stored decisions are malformed ({e}). "
                             f"{how}") from None
        fns = {f: import_ref(config[f], f"function {f} of custom space {name!r}", how)
               for f in _FUNCTIONS if config.get(f)}
        return cls(name, decisions, **fns)

    def build(
        self, arch: Architecture, input_shape: tuple[int, ...], num_classes: int
    ) -> torch.nn.Module:
        """Calls ``check_fn`` (if given), then ``build_fn``."""
        if arch.space.name != self.name or len(arch.indices) != len(self.decisions):
            raise SpaceError(
                f"Architecture of space {arch.space.name!r} cannot be built by space "
                f"{self.name!r}."
            )
        self.check_data(tuple(input_shape), num_classes)
        return self.build_fn(arch, tuple(input_shape), num_classes)

    def check_data(self, input_shape: tuple[int, ...], num_classes: int) -> None:
        """Calls ``check_fn`` when one was given."""
        if self.check_fn is not None:
            self.check_fn(tuple(input_shape), num_classes)

    def graph(self, arch: Architecture) -> ArchGraph:
        """``graph_fn(arch)`` when given, else the default decision chain."""
        if self.graph_fn is not None:
            return self.graph_fn(arch)
        return super().graph(arch)

    def canonical_hash(self, arch: Architecture) -> str:
        """``hash_fn(arch)`` when given (prefixed by the space name), else the default."""
        if self.hash_fn is not None:
            import hashlib

            key = f"{self.name}\0{self.hash_fn(arch)}"
            return hashlib.sha1(key.encode()).hexdigest()[:16]
        return super().canonical_hash(arch)

    def __repr__(self) -> str:
        names = [d.name for d in self.decisions]
        return f"FunctionalSpace(name={self.name!r}, decisions={names})"
