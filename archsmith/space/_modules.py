"""Torch modules the built-in spaces share, defined on first use so that importing a
space stays light (torch is imported when a network is built).

``Residual`` is looked up by pickle as ``archsmith.space._modules.Residual`` through the
module-level ``__getattr__``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["torch_classes"]

_TORCH: dict[str, Any] = {}


def torch_classes() -> dict[str, Any]:
    """``{"Residual": class}``: ``body(x) + x``, or ``body(x) + proj(x)`` with a
    projection (when the block changes the width)."""
    if not _TORCH:
        from torch import Tensor, nn

        class Residual(nn.Module):
            """``body(x) + x`` or ``body(x) + proj(x)``."""

            def __init__(self, body: nn.Module, proj: nn.Module | None = None) -> None:
                super().__init__()
                self.body = body
                self.proj = proj

            def forward(self, x: Tensor) -> Tensor:
                skip = x if self.proj is None else self.proj(x)
                return self.body(x) + skip

        Residual.__module__ = __name__
        Residual.__qualname__ = "Residual"
        _TORCH["Residual"] = Residual
    return _TORCH


def __getattr__(name: str) -> Any:
    if name in ("Residual",):
        return torch_classes()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
