"""A tiny name → factory registry (timm style: ``register`` / ``create`` by name)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from archsmith.errors import UnknownNameError

T = TypeVar("T")

__all__ = ["Registry"]


class Registry(Generic[T]):
    """Maps names to factories that build objects of one kind.

    Args:
        kind: Human-readable kind, used in error messages ("space", "strategy").

    Example:
        >>> reg: Registry[int] = Registry("number")
        >>> @reg.register("one", help="the number one")
        ... def _one() -> int:
        ...     return 1
        >>> reg.create("one")
        1
        >>> reg.names()
        ['one']
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}
        self._help: dict[str, str] = {}

    def register(self, name: str, help: str = "") -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator registering ``factory`` under ``name`` (later registrations replace)."""

        def deco(factory: Callable[..., T]) -> Callable[..., T]:
            self._factories[name] = factory
            doc = help or (factory.__doc__ or "").strip().split("\n")[0]
            self._help[name] = doc
            return factory

        return deco

    def add(self, name: str, factory: Callable[..., T], help: str = "") -> None:
        """Registers ``factory`` under ``name`` without decorator syntax."""
        self.register(name, help)(factory)

    def create(self, name: str, **kwargs: Any) -> T:
        """Builds the object registered as ``name``.

        Raises:
            UnknownNameError: ``name`` is not registered; the message lists valid names.
        """
        return self.get(name)(**kwargs)

    def get(self, name: str) -> Callable[..., T]:
        """Returns the factory registered as ``name``."""
        try:
            return self._factories[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, self.names()) from None

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._factories)

    def help(self, name: str) -> str:
        """One-line description of ``name``."""
        return self._help.get(name, "")

    def __contains__(self, name: object) -> bool:
        return name in self._factories
