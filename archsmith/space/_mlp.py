"""Multi-layer perceptron space: depth, per-layer width/activation/norm/dropout, residuals.

The network flattens its input, applies ``n_layers`` blocks
``Linear → norm → activation → dropout`` and a final ``Linear`` classifier head.
With ``residual=True`` a block whose width equals the previous block's width adds
its input to its output (an identity skip, no extra parameters); blocks that change
the width have no skip.

Example:
    >>> import numpy as np
    >>> space = MLPSpace(max_layers=2, widths=(8, 16))
    >>> [d.name for d in space.decisions][:4]
    ['n_layers', 'residual', 'width_1', 'act_1']
    >>> arch = space.make({"n_layers": 1, "residual": False, "width_1": 8, "act_1": "relu",
    ...                    "norm_1": "none", "dropout_1": 0.0})
    >>> [n for n in arch.graph.labels]
    ['input', 'linear8', 'relu', 'output']
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from archsmith.errors import SpaceError
from archsmith.space import SPACES
from archsmith.space._base import (
    ArchGraph,
    Architecture,
    Decision,
    SearchSpace,
    repeated_decisions,
)
from archsmith.space._modules import torch_classes

if TYPE_CHECKING:
    import torch.nn

__all__ = ["ACTIVATIONS", "MLPSpace"]

#: Activation names the MLP space understands (torch.nn class names in brackets):
#: relu (ReLU), gelu (GELU), silu (SiLU), tanh (Tanh), sigmoid (Sigmoid),
#: leaky_relu (LeakyReLU), elu (ELU), identity (Identity).
ACTIVATIONS: tuple[str, ...] = (
    "relu", "gelu", "silu", "tanh", "sigmoid", "leaky_relu", "elu", "identity",
)
_NORMS: tuple[str, ...] = ("none", "batch", "layer")


# -- shared validation helpers (also used by the cnn and nb201 spaces) ------------------
def _as_tuple(field: str, value: Any) -> tuple[Any, ...]:
    """``value`` as a non-empty tuple (lists from JSON configs are accepted)."""
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise SpaceError(f"`{field}` must be a list of values, got {value!r}.")
    out = tuple(value)
    if not out:
        raise SpaceError(f"`{field}` must list at least one value.")
    return out


def _pos_ints(field: str, value: Any) -> tuple[int, ...]:
    vals = _as_tuple(field, value)
    for v in vals:
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise SpaceError(f"`{field}` must contain positive integers, got {v!r}.")
    if len(set(vals)) != len(vals):
        raise SpaceError(f"`{field}` lists a value twice: {list(vals)}; remove duplicates.")
    return vals


def _names(field: str, value: Any, valid: Iterable[str]) -> tuple[str, ...]:
    vals = _as_tuple(field, value)
    valid = tuple(valid)
    for v in vals:
        if v not in valid:
            raise SpaceError(
                f"`{field}` contains unknown value {v!r}; valid values: {list(valid)}."
            )
    if len(set(vals)) != len(vals):
        raise SpaceError(f"`{field}` lists a value twice: {list(vals)}; remove duplicates.")
    return vals


def _bools(field: str, value: Any) -> tuple[bool, ...]:
    vals = _as_tuple(field, value)
    for v in vals:
        if not isinstance(v, bool):
            raise SpaceError(f"`{field}` must contain true/false values, got {v!r}.")
    if len(set(vals)) != len(vals):
        raise SpaceError(f"`{field}` lists a value twice: {list(vals)}; remove duplicates.")
    return vals


def _pos_int(field: str, value: Any, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SpaceError(f"`{field}` must be a positive integer, got {value!r}.")
    if maximum is not None and value > maximum:
        raise SpaceError(f"`{field}` must be at most {maximum}, got {value}.")
    return value


def _check_classes(space: str, num_classes: int) -> None:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise SpaceError(
            f"Space {space!r} needs a positive integer number of classes, got {num_classes!r}."
        )


def _check_arch(space: SearchSpace, arch: Architecture) -> None:
    if arch.space.name != space.name or len(arch.indices) != len(space.decisions):
        raise SpaceError(
            f"Architecture of space {arch.space.name!r} cannot be built by space {space.name!r}."
        )


def _space_factory(cls: type[SearchSpace]) -> Callable[..., SearchSpace]:
    """Registry factory for a dataclass space that rejects unknown arguments clearly."""
    valid = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]

    def create(**config: Any) -> SearchSpace:
        unknown = sorted(set(config) - set(valid))
        if unknown:
            raise SpaceError(
                f"Space {cls.name!r} has no option(s) {unknown}; its options are {valid}."
            )
        return cls(**config)

    create.__doc__ = cls.__doc__
    return create


def _digest(payload: Any) -> str:
    return hashlib.sha1(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


# -- the space ----------------------------------------------------------------------------
@dataclass(frozen=True)
class MLPSpace(SearchSpace):
    """Fully connected networks for flat feature vectors (any input shape is flattened).

    Decisions, in order: ``n_layers`` (1..``max_layers``); ``residual``; then for each
    layer ``k`` = 1..``max_layers``: ``width_k``, ``act_k``, ``norm_k``, ``dropout_k``,
    active only when ``n_layers >= k``.

    Args:
        max_layers: Largest number of hidden layers.
        widths: Hidden-layer widths to choose from.
        activations: Activation names (see :data:`ACTIVATIONS`).
        norms: Normalisations: ``"none"``, ``"batch"`` (BatchNorm1d), ``"layer"`` (LayerNorm).
        dropouts: Dropout probabilities in ``[0, 1)``.
        residual: Values of the global ``residual`` decision. When true, each layer whose
            width equals the previous layer's width adds an identity skip around itself.

    Example:
        >>> import numpy as np
        >>> space = MLPSpace()
        >>> arch = space.sample(np.random.default_rng(0))
        >>> net = space.build(arch, (4, 4), num_classes=3)
        >>> import torch
        >>> net.eval()(torch.zeros(2, 4, 4)).shape
        torch.Size([2, 3])
    """

    name: ClassVar[str] = "mlp"

    max_layers: int = 6
    widths: tuple[int, ...] = (16, 32, 64, 128, 256, 512)
    activations: tuple[str, ...] = ("relu", "gelu", "silu", "tanh")
    norms: tuple[str, ...] = ("none", "batch", "layer")
    dropouts: tuple[float, ...] = (0.0, 0.1, 0.3)
    residual: tuple[bool, ...] = (False, True)

    def __post_init__(self) -> None:
        _pos_int("max_layers", self.max_layers)
        dropouts = _as_tuple("dropouts", self.dropouts)
        for p in dropouts:
            if isinstance(p, bool) or not isinstance(p, int | float) or not 0.0 <= p < 1.0:
                raise SpaceError(f"`dropouts` must contain probabilities in [0, 1), got {p!r}.")
        fixed = {
            "widths": _pos_ints("widths", self.widths),
            "activations": _names("activations", self.activations, ACTIVATIONS),
            "norms": _names("norms", self.norms, _NORMS),
            "dropouts": tuple(float(p) for p in dropouts),
            "residual": _bools("residual", self.residual),
        }
        if len(set(fixed["dropouts"])) != len(fixed["dropouts"]):
            raise SpaceError(f"`dropouts` lists a value twice: {list(dropouts)}.")
        for k, v in fixed.items():
            object.__setattr__(self, k, v)

    def _decisions(self) -> list[Decision]:
        return [
            Decision("n_layers", tuple(range(1, self.max_layers + 1))),
            Decision("residual", tuple(self.residual)),
            *repeated_decisions("n_layers", self.max_layers, [
                ("width", self.widths), ("act", self.activations), ("norm", self.norms),
                ("dropout", self.dropouts)]),
        ]

    # -- helpers ------------------------------------------------------------------------
    def compact(self, arch: Architecture) -> str:
        """Layers as ``WIDTH·ACT`` with ``·bn``/``·ln`` normalisation and ``·dDROPOUT``;
        ``+r`` marks a residual (identity skip) layer.

        Example:
            >>> sp = MLPSpace()
            >>> sp.compact(sp.make({"n_layers": 2, "residual": True, "width_1": 64,
            ...     "act_1": "relu", "norm_1": "batch", "dropout_1": 0.1, "width_2": 64,
            ...     "act_2": "gelu", "norm_2": "none", "dropout_2": 0.0}))
            '64·relu·bn·d0.1 64·gelu+r'
        """
        norms = {"batch": "·bn", "layer": "·ln"}
        parts = []
        for layer in self.layers(arch):
            text = f"{layer['width']}·{layer['act']}{norms.get(layer['norm'], '')}"
            text += f"·d{layer['dropout']:g}" if layer["dropout"] else ""
            text += "+r" if layer["skip"] else ""
            parts.append(text)
        return " ".join(parts)

    @staticmethod
    def layers(arch: Architecture) -> list[dict[str, Any]]:
        """Per-layer settings of ``arch``: ``[{"width", "act", "norm", "dropout", "skip"}]``.

        ``skip`` is true when the layer adds an identity skip (residual on and the same
        width as the previous layer).
        """
        n = int(arch["n_layers"])  # type: ignore[arg-type]
        res = bool(arch["residual"])
        out: list[dict[str, Any]] = []
        for k in range(1, n + 1):
            width = int(arch[f"width_{k}"])  # type: ignore[arg-type]
            skip = res and k > 1 and out[-1]["width"] == width
            out.append({
                "width": width,
                "act": str(arch[f"act_{k}"]),
                "norm": str(arch[f"norm_{k}"]),
                "dropout": float(arch[f"dropout_{k}"]),  # type: ignore[arg-type]
                "skip": skip,
            })
        return out

    # -- views --------------------------------------------------------------------------
    def canonical_hash(self, arch: Architecture) -> str:
        """Hash of the active values, with ``residual`` set to false when no layer skips.

        ``residual=True`` without two consecutive layers of equal width builds the same
        network as ``residual=False``, so both share a hash.
        """
        values = dict(arch.values)
        values["residual"] = any(layer["skip"] for layer in self.layers(arch))
        return _digest([self.name, values])

    def graph(self, arch: Architecture) -> ArchGraph:
        """Op graph: ``input``, per layer ``linear<width>``, the norm (``batchnorm`` /
        ``layernorm``), the activation name and ``dropout`` (when p > 0), then ``output``
        (the classifier head).

        A node sums its incoming edges, so an identity skip is an extra edge from the
        nodes that make up a layer's input to the next consumer.
        """
        labels = ["input"]
        edges: list[tuple[int, int]] = []
        sources = [0]  # nodes whose sum is the current hidden representation
        for layer in self.layers(arch):
            first = len(labels)
            labels.append(f"linear{layer['width']}")
            edges += [(s, first) for s in sources]
            chain = []
            if layer["norm"] != "none":
                chain.append(f"{layer['norm']}norm")
            chain.append(layer["act"])
            if layer["dropout"] > 0:
                chain.append("dropout")
            last = first
            for lab in chain:
                labels.append(lab)
                edges.append((last, len(labels) - 1))
                last = len(labels) - 1
            sources = [*sources, last] if layer["skip"] else [last]
        labels.append("output")
        edges += [(s, len(labels) - 1) for s in sources]
        return ArchGraph(tuple(labels), tuple(edges))

    # -- data and networks --------------------------------------------------------------
    def check_data(self, input_shape: tuple[int, ...], num_classes: int) -> None:
        """Any non-empty input shape works (it is flattened)."""
        shape = tuple(input_shape)
        if not shape or any(isinstance(s, bool) or not isinstance(s, int) or s < 1
                            for s in shape):
            raise SpaceError(
                f"Space 'mlp' needs an input shape of positive integers, got {input_shape!r}."
            )
        _check_classes(self.name, num_classes)

    def build(
        self, arch: Architecture, input_shape: tuple[int, ...], num_classes: int
    ) -> torch.nn.Module:
        """Builds ``Flatten → blocks → Linear(num_classes)`` for ``arch``."""
        _check_arch(self, arch)
        self.check_data(tuple(input_shape), num_classes)
        from torch import nn

        classes = torch_classes()
        in_features = 1
        for s in input_shape:
            in_features *= int(s)
        blocks = []
        prev = in_features
        for layer in self.layers(arch):
            w = layer["width"]
            mods: list[nn.Module] = [nn.Linear(prev, w)]
            if layer["norm"] == "batch":
                mods.append(nn.BatchNorm1d(w))
            elif layer["norm"] == "layer":
                mods.append(nn.LayerNorm(w))
            mods.append(_activation(layer["act"]))
            if layer["dropout"] > 0:
                mods.append(nn.Dropout(layer["dropout"]))
            body = nn.Sequential(*mods)
            blocks.append(classes["Residual"](body) if layer["skip"] else body)
            prev = w
        return nn.Sequential(nn.Flatten(), *blocks, nn.Linear(prev, num_classes))


def _activation(name: str) -> torch.nn.Module:
    from torch import nn

    table: dict[str, type[nn.Module]] = {
        "relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh,
        "sigmoid": nn.Sigmoid, "leaky_relu": nn.LeakyReLU, "elu": nn.ELU,
        "identity": nn.Identity,
    }
    return table[name]()


SPACES.add(
    "mlp",
    _space_factory(MLPSpace),
    help="Fully connected networks: depth, widths, activations, norms, dropout, residuals; "
    "any input shape (flattened).",
)
