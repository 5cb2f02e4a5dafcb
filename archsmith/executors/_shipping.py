"""What the process and Ray executors share: shipping trials to workers, caching
evaluators there, reading the machine's cores and a dead worker's exit code."""

from __future__ import annotations

import hashlib
import os
import pickle
import signal
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from archsmith.errors import ConfigError

if TYPE_CHECKING:
    from archsmith.evaluators._base import Evaluator
    from archsmith.space import Architecture

__all__ = ["EVALUATOR_CACHE", "cache_evaluator", "cpu_count", "describe_exit", "pickle_trial"]

#: Evaluators a worker keeps unpickled (least recently used ones are dropped).
EVALUATOR_CACHE = 4


def pickle_trial(
    evaluator: Evaluator, arch: Architecture, budget: int | None, where: str,
    checkpoint: str | None = None,
) -> tuple[str, bytes, bytes]:
    """``(key, evaluator pickle, (arch, budget, checkpoint) pickle)``; ``key`` is the
    evaluator pickle's SHA-1.

    Raises:
        ConfigError: Either cannot be pickled (the message names ``where`` they go).
    """
    try:
        blob = pickle.dumps(evaluator, protocol=pickle.HIGHEST_PROTOCOL)
        payload = pickle.dumps((arch, budget, checkpoint), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as e:
        raise ConfigError(
            f"The evaluator or architecture cannot be sent to {where} "
            f"({type(e).__name__}: {e}); define its class at module level of an "
            "importable file, or use --executor inline."
        ) from None
    return hashlib.sha1(blob).hexdigest(), blob, payload


def cache_evaluator(cache: OrderedDict[str, Any], key: str, make: Callable[[], Any]) -> Any:
    """The cached entry for ``key`` (``make()`` on a miss), keeping the newest
    :data:`EVALUATOR_CACHE` entries."""
    if key not in cache:
        cache[key] = make()
    cache.move_to_end(key)
    while len(cache) > EVALUATOR_CACHE:
        cache.popitem(last=False)
    return cache[key]


def cpu_count() -> int:
    """CPU cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def describe_exit(code: int | None) -> str:
    """Human-readable cause of a worker's exit code (negative: killed by a signal).

    Example:
        >>> describe_exit(3)
        'exit code 3'
    """
    if code is None:
        return "the worker stopped answering"
    if code >= 0:
        return f"exit code {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = f"signal {-code}"
    text = f"exit code {code} / signal {name}"
    if -code == signal.SIGKILL:
        text += "; killed from outside, e.g. by the out-of-memory killer"
    elif -code == signal.SIGSEGV:
        text += "; a crash in native code"
    return text
