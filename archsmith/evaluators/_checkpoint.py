"""Training checkpoints that let a trial continue instead of restarting.

A checkpoint holds everything the training loop of
:class:`~archsmith.evaluators.TrainingEvaluator` needs to go on exactly where it
stopped: the network's and the optimiser's state, the shuffling generator's state, the
global torch RNG state (dropout draws from it), the epoch reached, the learning curve
and the training seconds so far. Continuing from it gives the weights of an
uninterrupted run (bit for bit on CPU). Files are written atomically and read with
``torch.load(weights_only=True)``; a checkpoint made by other settings or for another
architecture is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

__all__ = ["checkpoint_key", "load_checkpoint", "save_checkpoint"]


def checkpoint_key(description: dict[str, Any], arch_hash: str) -> str:
    """What a checkpoint must match: the evaluator's settings (threads aside) and the
    architecture."""
    desc = {k: v for k, v in description.items() if k not in ("num_threads", "epochs")}
    payload = json.dumps([desc, arch_hash], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def save_checkpoint(path: str | Path, key: str, state: dict[str, Any]) -> None:
    """Writes ``state`` (tensors, numbers, lists) under ``key`` to ``path`` atomically."""
    import torch

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    torch.save({"key": key, **state}, tmp)
    tmp.replace(target)


def load_checkpoint(path: str | Path, key: str) -> dict[str, Any] | None:
    """The state saved at ``path`` under ``key``, or ``None`` (missing, other key, corrupt)."""
    import torch

    target = Path(path)
    if not target.is_file():
        return None
    try:
        state = torch.load(target, map_location="cpu", weights_only=True)
    except Exception:  # a torn or foreign file: train from scratch
        return None
    if not isinstance(state, dict) or state.get("key") != key:
        return None
    return dict(state)
