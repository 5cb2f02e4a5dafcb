"""File-system helpers whose failures become clear messages instead of tracebacks."""

from __future__ import annotations

from pathlib import Path

from archsmith.errors import ConfigError

__all__ = ["exists", "make_out_dir"]


def exists(path: Path) -> bool:
    """``path.exists()``, false for a name the file system cannot even look up (too long).

    Example:
        >>> exists(Path("x" * 5000)), exists(Path("."))
        (False, True)
    """
    try:
        return path.exists()
    except OSError:
        return False


def make_out_dir(out: Path, flag: str = "--out") -> None:
    """Creates an output folder, with a message naming ``flag`` when it cannot be one.

    Raises:
        ConfigError: ``out`` is a file, lies under a file, cannot be created or written.
    """
    if exists(out) and not out.is_dir():
        raise ConfigError(
            f"{flag} {out} is an existing file, not a folder. Give a new or existing folder."
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        reason = e.strerror or type(e).__name__
        raise ConfigError(
            f"Cannot create the output folder {out}: {reason}. Give a folder you can "
            f"write to with {flag}."
        ) from None
