"""What the conformance suites share: running checks, storing state as a search does."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["assert_rejects_wrong_kinds", "round_trip", "run_checks"]


def round_trip(state: dict[str, Any]) -> dict[str, Any]:
    """``state`` stored and read back as the search's storage does it (``torch.save``,
    then ``torch.load(weights_only=True)``)."""
    import torch

    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    return dict(torch.load(buf, weights_only=True))


def run_checks(kind: str, checks: Iterable[tuple[str, Callable[[], None]]]) -> None:
    """Runs ``checks``; raises ``AssertionError`` naming the first that fails."""
    for name, check in checks:
        try:
            check()
        except AssertionError as e:
            raise AssertionError(f"{kind} check {name} failed: {e}") from e


_SKIP = object()


def _wrong_kind(key: str, value: object) -> object:
    """A value of the wrong kind for an argument whose valid value is ``value``: text
    for a number, flag, list or table, a number for a name (``_SKIP`` when the kind
    cannot be told: ``None`` other than a seed)."""
    if isinstance(value, bool | int | float | list | tuple | dict) or (
            value is None and key == "seed"):
        return "not-a-value"
    if isinstance(value, str):
        return 3
    return _SKIP


def assert_rejects_wrong_kinds(build: Callable[[dict[str, Any]], object],
                               config: dict[str, Any]) -> None:
    """Calls ``build`` with ``config`` where one argument at a time has a value of the
    wrong kind; each call must raise :class:`~archsmith.errors.ConfigError` naming the
    argument (bad input gets a clear error, not a ``TypeError`` from deep inside)."""
    from archsmith.errors import ConfigError

    for key, value in config.items():
        bad = _wrong_kind(key, value)
        if bad is _SKIP:
            continue
        try:
            build({**config, key: bad})
        except ConfigError as e:
            assert key in str(e), f"{key}={bad!r}: the message does not name {key!r}: {e}"
        except Exception as e:
            raise AssertionError(f"{key}={bad!r} raised {type(e).__name__} ({e}); it should "
                                 f"raise a ConfigError naming {key!r}") from e
        else:
            raise AssertionError(f"{key}={bad!r} was accepted; it should raise a "
                                 f"ConfigError naming {key!r}")
