"""archsmith: neural architecture search that runs on a laptop CPU.

Example:
    >>> import archsmith
    >>> "mlp" in archsmith.space_names()
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archsmith.errors import ArchsmithError
from archsmith.space import create_space, space_names

if TYPE_CHECKING:
    from archsmith._export import load

__version__ = "0.1.0"

__all__ = ["ArchsmithError", "__version__", "create_space", "load", "space_names"]


def __getattr__(name: str) -> Any:
    if name == "load":
        from archsmith._export import load

        return load
    raise AttributeError(f"module 'archsmith' has no attribute {name!r}")
