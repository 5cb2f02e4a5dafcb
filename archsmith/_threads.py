"""The one helper that sets torch's intra-op threads for a block and restores them.

archsmith's networks, critics and policies are small: with several intra-op threads
every operation pays a thread synchronisation, which on a shared 2-core machine made
training and critic fits many times slower than one thread (figures in
``benchmarks/RESULTS.md``, ``benchmarks/loaded_threads.py``). One thread also makes
results independent of the process's own setting.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["single_thread", "torch_threads"]


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Runs the block with ``n`` intra-op torch threads (``None``: leave them alone).

    Example:
        >>> import torch
        >>> before = torch.get_num_threads()
        >>> with torch_threads(1):
        ...     torch.get_num_threads()
        1
        >>> torch.get_num_threads() == before
        True
    """
    if n is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    if before != n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if before != n:
            torch.set_num_threads(before)


def single_thread() -> contextlib.AbstractContextManager[None]:
    """``torch_threads(1)``: the setting for archsmith's small networks."""
    return torch_threads(1)
