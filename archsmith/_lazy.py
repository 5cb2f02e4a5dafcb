"""The one helper that imports an optional dependency (an extra) when it is needed.

Heavy or optional packages (Optuna, Ray, PyTorch Geometric, matplotlib, ONNX Runtime,
psycopg) are never imported at module level: code that needs one calls
:func:`optional_import`, which returns the module or raises a
:class:`~archsmith.errors.ConfigError` that names the extra to install.

Example:
    >>> optional_import("math", extra="dev", what="this example").sqrt(4.0)
    2.0
    >>> optional_import("no_such_module_xyz", extra="plot", what="Plotting")
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    archsmith.errors.ConfigError: Plotting needs ... `pip install "archsmith[plot]"`.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from archsmith.errors import ConfigError

__all__ = ["optional_import"]


def optional_import(module: str, extra: str, what: str, hint: str = "") -> ModuleType:
    """Imports ``module`` or raises a :class:`ConfigError` naming ``extra``.

    Args:
        module: Module to import (``"optuna"``, ``"ray.tune"``).
        extra: The archsmith extra that installs it (``"optuna"``, ``"ray"``).
        what: What needs it, for the message ("The ray executor").
        hint: An alternative that works without it, appended to the message.

    Raises:
        ConfigError: ``module`` cannot be imported.
    """
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ConfigError(
            f"{what} needs `{module}`, which cannot be imported ({e}). Install it with "
            f"`pip install \"archsmith[{extra}]\"`." + (f" {hint}" if hint else "")
        ) from None
