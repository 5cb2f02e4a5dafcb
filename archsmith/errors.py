"""User-facing errors.

Every mistake a user can make (a wrong name, a bad file, a space that does not fit
the data) raises a subclass of :class:`ArchsmithError` whose message names what is
wrong and how to fix it. The command line prints that message and exits with
code 2, without a traceback.
"""

from __future__ import annotations

__all__ = ["ArchsmithError", "ConfigError", "DataError", "SpaceError", "UnknownNameError",
           "describe_exception"]


class ArchsmithError(Exception):
    """Base class of errors caused by user input (exit code 2 on the command line)."""


class ConfigError(ArchsmithError):
    """A configuration value, flag or file is invalid."""


class DataError(ArchsmithError):
    """A dataset is missing, malformed or unusable."""


class SpaceError(ArchsmithError):
    """A search space or architecture is invalid or does not fit the data."""


class UnknownNameError(ConfigError, KeyError):
    """A name looked up in a registry does not exist.

    Args:
        kind: What was looked up ("space", "strategy", ...).
        name: The unknown name.
        valid: The names that exist.
    """

    def __init__(self, kind: str, name: str, valid: list[str]) -> None:
        self.kind = kind
        self.name = name
        self.valid = valid
        super().__init__(
            f"Unknown {kind} {name!r}. Valid {kind} names: {', '.join(valid) or '(none)'}."
        )

    def __str__(self) -> str:  # KeyError would quote the message otherwise
        return str(self.args[0])


def describe_exception(e: BaseException, limit: int = 500) -> str:
    """``"Type: message (at file:line)"`` for a trial's error text, on one line.

    The message is whitespace-collapsed and cut to ``limit`` characters; running out of
    memory gets a hint on what to change.

    Example:
        >>> describe_exception(ValueError("bad   value"))
        'ValueError: bad value'
        >>> describe_exception(MemoryError()).startswith("out of memory")
        True
    """
    import traceback

    text = " ".join(str(e).split())
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    tb = traceback.extract_tb(e.__traceback__)
    where = f" (at {tb[-1].filename}:{tb[-1].lineno})" if tb else ""
    if isinstance(e, MemoryError) or "out of memory" in text.lower():
        return (f"out of memory ({type(e).__name__}: {text}){where}; try a smaller batch "
                "size or a smaller architecture")
    return f"{type(e).__name__}: {text}{where}" if text else f"{type(e).__name__}{where}"
