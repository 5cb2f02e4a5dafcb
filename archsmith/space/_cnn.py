"""Convolutional macro space for 1-D signals ``(C, L)`` and 2-D images ``(C, H, W)``.

The network is a chain of ``n_stages`` stages followed by global pooling and a linear
classifier. Each stage is ``conv(kernel, "same" padding) → norm → ReLU``, optionally
with a residual connection around it (identity when the channel count is unchanged,
a bias-free 1×1 convolution otherwise), then optional 2× pooling. Whether the network
is 1-D or 2-D is decided by ``input_shape`` at build time.

Pooling never shrinks a spatial size below 1: a stage's pooling is skipped
(deterministically) when any spatial dimension is already smaller than 2.

Example:
    >>> space = CNNSpace(max_stages=2)
    >>> [d.name for d in space.decisions][:4]
    ['n_stages', 'head', 'channels_1', 'kernel_1']
"""

from __future__ import annotations

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
from archsmith.space._mlp import (
    _bools,
    _check_arch,
    _check_classes,
    _names,
    _pos_int,
    _pos_ints,
    _space_factory,
)
from archsmith.space._modules import torch_classes

if TYPE_CHECKING:
    import torch.nn

__all__ = ["CNNSpace"]

_POOLS = ("none", "max", "avg")
_NORMS = ("none", "batch")
_HEADS = ("avg", "max")


@dataclass(frozen=True)
class CNNSpace(SearchSpace):
    """Small convolutional chains for 1-D signals or 2-D images.

    Decisions, in order: ``n_stages`` (1..``max_stages``); ``head`` (global ``"avg"`` or
    ``"max"`` pooling before the classifier); then for each stage ``k``:
    ``channels_k``, ``kernel_k``, ``pool_k``, ``residual_k``, ``norm_k``, active only
    when ``n_stages >= k``.

    Args:
        max_stages: Largest number of stages.
        channels: Output channel counts to choose from.
        kernels: Odd kernel sizes (``k`` for 1-D, ``k×k`` for 2-D).
        pools: Pooling after a stage: ``"none"``, ``"max"``, ``"avg"`` (size 2, stride 2).
        residual: Values of the per-stage residual decisions.
        norms: ``"none"`` or ``"batch"`` (BatchNorm1d/2d).
        heads: Global pooling before the classifier: ``"avg"``, ``"max"``.

    Example:
        >>> import numpy as np, torch
        >>> space = CNNSpace()
        >>> arch = space.sample(np.random.default_rng(0))
        >>> space.build(arch, (1, 8, 8), 10).eval()(torch.zeros(2, 1, 8, 8)).shape
        torch.Size([2, 10])
        >>> space.build(arch, (1, 40), 10).eval()(torch.zeros(2, 1, 40)).shape
        torch.Size([2, 10])
    """

    name: ClassVar[str] = "cnn"

    max_stages: int = 4
    channels: tuple[int, ...] = (8, 16, 32, 64, 128)
    kernels: tuple[int, ...] = (3, 5, 7)
    pools: tuple[str, ...] = ("none", "max", "avg")
    residual: tuple[bool, ...] = (False, True)
    norms: tuple[str, ...] = ("none", "batch")
    heads: tuple[str, ...] = ("avg", "max")

    def __post_init__(self) -> None:
        _pos_int("max_stages", self.max_stages)
        kernels = _pos_ints("kernels", self.kernels)
        for k in kernels:
            if k % 2 == 0:
                raise SpaceError(
                    f"`kernels` must contain odd sizes (for 'same' padding), got {k}."
                )
        fixed = {
            "channels": _pos_ints("channels", self.channels),
            "kernels": kernels,
            "pools": _names("pools", self.pools, _POOLS),
            "residual": _bools("residual", self.residual),
            "norms": _names("norms", self.norms, _NORMS),
            "heads": _names("heads", self.heads, _HEADS),
        }
        for field, value in fixed.items():
            object.__setattr__(self, field, value)

    def _decisions(self) -> list[Decision]:
        return [
            Decision("n_stages", tuple(range(1, self.max_stages + 1))),
            Decision("head", tuple(self.heads)),
            *repeated_decisions("n_stages", self.max_stages, [
                ("channels", self.channels), ("kernel", self.kernels), ("pool", self.pools),
                ("residual", self.residual), ("norm", self.norms)]),
        ]

    def compact(self, arch: Architecture) -> str:
        """Stages as ``CHANNELSkKERNEL`` with ``/max``/``/avg`` pooling, ``+r`` residual
        and ``·bn`` batch norm, then the head.

        Example:
            >>> sp = CNNSpace()
            >>> sp.compact(sp.make({"n_stages": 2, "head": "avg", "channels_1": 16,
            ...     "kernel_1": 3, "pool_1": "max", "residual_1": False, "norm_1": "batch",
            ...     "channels_2": 32, "kernel_2": 5, "pool_2": "none", "residual_2": True,
            ...     "norm_2": "none"}))
            '16k3/max·bn 32k5+r → avg'
        """
        parts = []
        for st in self.stages(arch):
            text = f"{st['channels']}k{st['kernel']}"
            text += "" if st["pool"] == "none" else f"/{st['pool']}"
            text += "+r" if st["residual"] else ""
            text += "·bn" if st["norm"] == "batch" else ""
            parts.append(text)
        return " ".join(parts) + f" → {arch['head']}"

    @staticmethod
    def stages(arch: Architecture) -> list[dict[str, Any]]:
        """Per-stage settings: ``[{"channels", "kernel", "pool", "residual", "norm"}]``."""
        n = int(arch["n_stages"])  # type: ignore[arg-type]
        return [
            {
                "channels": int(arch[f"channels_{k}"]),  # type: ignore[arg-type]
                "kernel": int(arch[f"kernel_{k}"]),  # type: ignore[arg-type]
                "pool": str(arch[f"pool_{k}"]),
                "residual": bool(arch[f"residual_{k}"]),
                "norm": str(arch[f"norm_{k}"]),
            }
            for k in range(1, n + 1)
        ]

    # -- views --------------------------------------------------------------------------
    def graph(self, arch: Architecture) -> ArchGraph:
        """Op graph: ``input``, per stage ``conv<k>_<channels>``, ``batchnorm``, ``relu``,
        the residual path (``conv1_<channels>`` when it projects), ``maxpool`` /
        ``avgpool``, then ``globalavgpool`` / ``globalmaxpool`` and ``output``.

        A node sums its incoming edges. The graph does not know the input shape, so
        pooling nodes are shown even where the build skips pooling (size already 1), and
        a residual first stage always shows the ``conv1_<channels>`` projection.
        """
        labels = ["input"]
        edges: list[tuple[int, int]] = []
        sources = [0]
        prev_channels: int | None = None

        def add(label: str, inputs: list[int]) -> int:
            labels.append(label)
            node = len(labels) - 1
            edges.extend((s, node) for s in inputs)
            return node

        for st in self.stages(arch):
            c = st["channels"]
            last = add(f"conv{st['kernel']}_{c}", sources)
            if st["norm"] == "batch":
                last = add("batchnorm", [last])
            last = add("relu", [last])
            if st["residual"]:
                same = prev_channels == c
                skip = list(sources) if same else [add(f"conv1_{c}", sources)]
                sources = [last, *skip]
            else:
                sources = [last]
            if st["pool"] != "none":
                sources = [add(f"{st['pool']}pool", sources)]
            prev_channels = c
        last = add(f"global{arch['head']}pool", sources)
        add("output", [last])
        return ArchGraph(tuple(labels), tuple(edges))

    # -- data and networks --------------------------------------------------------------
    def check_data(self, input_shape: tuple[int, ...], num_classes: int) -> None:
        """Needs ``(C, L)`` signals or ``(C, H, W)`` images."""
        shape = tuple(input_shape)
        if len(shape) == 1:
            raise SpaceError(
                f"Space 'cnn' needs 1-D signals (channels, length) or images "
                f"(channels, height, width), but the data are flat feature vectors of shape "
                f"{shape}. Use the 'mlp' space, or reshape the data, e.g. to (1, {shape[0]})."
            )
        if len(shape) not in (2, 3):
            raise SpaceError(
                f"Space 'cnn' needs input shape (channels, length) or (channels, height, "
                f"width), got {shape} ({len(shape)} dimensions)."
            )
        if any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in shape):
            raise SpaceError(f"Space 'cnn' needs positive integer input sizes, got {shape}.")
        _check_classes(self.name, num_classes)

    def build(
        self, arch: Architecture, input_shape: tuple[int, ...], num_classes: int
    ) -> torch.nn.Module:
        """Builds the 1-D (``(C, L)`` input) or 2-D (``(C, H, W)``) network of ``arch``."""
        _check_arch(self, arch)
        shape = tuple(int(s) for s in input_shape)
        self.check_data(shape, num_classes)
        from torch import nn

        residual_cls = torch_classes()["Residual"]
        two_d = len(shape) == 3
        conv: Any = nn.Conv2d if two_d else nn.Conv1d
        bn: Any = nn.BatchNorm2d if two_d else nn.BatchNorm1d
        pools: dict[str, Any] = {
            "max": nn.MaxPool2d if two_d else nn.MaxPool1d,
            "avg": nn.AvgPool2d if two_d else nn.AvgPool1d,
        }
        spatial = list(shape[1:])
        prev = shape[0]
        mods: list[nn.Module] = []
        for st in self.stages(arch):
            c, k = st["channels"], st["kernel"]
            body: list[nn.Module] = [
                conv(prev, c, k, padding=k // 2, bias=st["norm"] == "none")
            ]
            if st["norm"] == "batch":
                body.append(bn(c))
            body.append(nn.ReLU())
            block: nn.Module = nn.Sequential(*body)
            if st["residual"]:
                proj = None if prev == c else conv(prev, c, 1, bias=False)
                block = residual_cls(block, proj)
            mods.append(block)
            if st["pool"] != "none" and min(spatial) >= 2:
                mods.append(pools[st["pool"]](2, 2))
                spatial = [s // 2 for s in spatial]
            prev = c
        glob: Any = (
            (nn.AdaptiveAvgPool2d if two_d else nn.AdaptiveAvgPool1d)
            if arch["head"] == "avg"
            else (nn.AdaptiveMaxPool2d if two_d else nn.AdaptiveMaxPool1d)
        )
        mods += [glob(1), nn.Flatten(), nn.Linear(prev, num_classes)]
        return nn.Sequential(*mods)


SPACES.add(
    "cnn",
    _space_factory(CNNSpace),
    help="Convolutional chains (stages of conv/norm/ReLU, residuals, pooling) for 1-D "
    "signals (C, L) and 2-D images (C, H, W).",
)
