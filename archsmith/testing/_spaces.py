"""The spaces the conformance suites run plug-ins on, and the space checks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archsmith.space import Decision, FunctionalSpace, create_space

if TYPE_CHECKING:
    import torch

    from archsmith.space import Architecture, SearchSpace

__all__ = ["conformance_spaces", "toy_space"]


def _toy_build(arch: Architecture, input_shape: tuple[int, ...], num_classes: int
               ) -> torch.nn.Module:
    import torch

    width = int(arch["width"])  # type: ignore[arg-type]
    layers: list[torch.nn.Module] = [torch.nn.Flatten(), torch.nn.LazyLinear(width)]
    if arch["act"] == "relu":
        layers.append(torch.nn.ReLU())
    if arch["deep"]:
        layers += [torch.nn.Linear(width, width), torch.nn.Tanh()]
    return torch.nn.Sequential(*layers, torch.nn.Linear(width, num_classes))


def toy_space() -> FunctionalSpace:
    """A small :class:`FunctionalSpace` with a conditional decision (48 architectures)."""
    return FunctionalSpace("conformance-toy", [
        Decision("width", (4, 8, 16, 32)),
        Decision("act", ("relu", "none")),
        Decision("deep", (False, True)),
        Decision("extra", (1, 2, 3), parent="deep", active_if=(True,)),
    ], _toy_build)


def conformance_spaces(**overrides: Any) -> list[SearchSpace]:
    """A user-defined space and every built-in one (mlp, cnn, nb201, nbgraph)."""
    return [toy_space(), *(create_space(n) for n in ("mlp", "cnn", "nb201", "nbgraph"))]
