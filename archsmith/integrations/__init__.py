"""archsmith strategies inside the search engines users already run.

* :mod:`archsmith.integrations.optuna` — :class:`~archsmith.integrations.optuna.ArchsmithSampler`,
  any archsmith strategy as an Optuna sampler (extra ``archsmith[optuna]``), and
  :func:`~archsmith.integrations.optuna.suggest_architecture` for objective functions.
* :mod:`archsmith.integrations.ray_tune` —
  :class:`~archsmith.integrations.ray_tune.ArchsmithSearcher`, any archsmith strategy as a
  Ray Tune ``Searcher`` (extra ``archsmith[ray]``), and
  :func:`~archsmith.integrations.ray_tune.config_to_architecture` for trainables.

Importing this package imports neither Optuna nor Ray; each submodule imports its engine
when it is imported and raises :class:`~archsmith.errors.ConfigError` naming the extra
to install when the engine is missing.

The helpers below are shared by both integrations.

Example:
    >>> decode_state(encode_state({"roots": [[0, 1]]}))
    {'roots': [[0, 1]]}
"""

from __future__ import annotations

import base64
import io
import json
from types import ModuleType
from typing import TYPE_CHECKING, Any

from archsmith.errors import ConfigError

if TYPE_CHECKING:
    from archsmith.space import SearchSpace
    from archsmith.strategies import Strategy

__all__ = ["decode_state", "encode_state", "import_engine", "jsonable", "make_strategy"]


def import_engine(module: str, extra: str, what: str) -> ModuleType:
    """Imports an optional engine or raises a :class:`ConfigError` naming the extra.

    Args:
        module: Module to import (``"optuna"``, ``"ray.tune"``).
        extra: archsmith extra that installs it (``"optuna"``, ``"ray"``).
        what: The integration that needs it, for the message.

    Raises:
        ConfigError: the module cannot be imported.
    """
    from archsmith._lazy import optional_import

    return optional_import(module, extra, what)


def make_strategy(
    space: SearchSpace, strategy: str | Strategy, config: dict[str, Any]
) -> Strategy:
    """The strategy ``strategy`` (a registry name or an instance) for ``space``.

    Raises:
        ConfigError: unknown name, invalid ``config``, config given with an instance,
            or an instance built for another space.
    """
    from archsmith.strategies import Strategy, create_strategy

    if isinstance(strategy, Strategy):
        if config:
            raise ConfigError(
                f"Strategy options {sorted(config)} were given with a strategy object; pass "
                "the strategy by name (strategy='evolution', population_size=...) or "
                "configure the object itself."
            )
        if strategy.space is not space and strategy.space.name != space.name:
            raise ConfigError(
                f"The strategy was built for space {strategy.space.name!r}, not "
                f"{space.name!r}; create it with the same space object."
            )
        return strategy
    if not isinstance(strategy, str):
        raise ConfigError(
            f"`strategy` must be a strategy name (e.g. 'evolution') or a Strategy object, "
            f"got {strategy!r}."
        )
    try:
        return create_strategy(strategy, space, **config)
    except TypeError as e:
        raise ConfigError(f"Invalid options for strategy {strategy!r}: {e}.") from None


def encode_state(state: dict[str, Any]) -> dict[str, Any]:
    """A strategy ``state_dict`` as a JSON-serialisable value.

    States that survive a JSON round trip unchanged are kept as they are (readable in a
    dashboard); others (tensors, tuples, integer keys, NaN) are ``torch.save``-d and
    base64-encoded (read back with ``weights_only=True``).
    """
    try:
        if json.loads(json.dumps(state)) == state:
            return {"format": "json", "state": state}
    except (TypeError, ValueError):
        pass
    import torch

    buf = io.BytesIO()
    torch.save(state, buf)
    return {"format": "torch", "data": base64.b64encode(buf.getvalue()).decode("ascii")}


def decode_state(payload: dict[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`encode_state` (tensors loaded with ``weights_only=True``).

    Raises:
        ConfigError: the payload is not an encoded state.
    """
    if not isinstance(payload, dict) or payload.get("format") not in ("json", "torch"):
        raise ConfigError("The stored archsmith strategy state is corrupt (unknown format).")
    if payload["format"] == "json":
        state = payload.get("state")
        if not isinstance(state, dict):
            raise ConfigError("The stored archsmith strategy state is corrupt (not a dict).")
        return state
    import torch

    raw = base64.b64decode(str(payload.get("data", "")))
    out = torch.load(io.BytesIO(raw), weights_only=True)
    if not isinstance(out, dict):
        raise ConfigError("The stored archsmith strategy state is corrupt (not a dict).")
    return out


def jsonable(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples become lists; others become strings)."""
    return json.loads(json.dumps(value, default=str))
