"""One name → factory registry for every plug-in kind (timm style: register / create).

Spaces, strategies, critics, evaluators (datasets, benchmarks) and executors each have a
:class:`Registry`. Built-ins register when their package is imported, so ``names()`` is
complete before first use; registering a name that exists raises unless
``override=True``, so a user's plug-in is never silently replaced (nor replaces a
built-in by accident).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from archsmith.errors import ConfigError, UnknownNameError

T = TypeVar("T")

__all__ = ["Registry", "lazy_factory"]


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
        >>> reg.add("one", lambda: 2)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        archsmith.errors.ConfigError: A number named 'one' is already registered ...
        >>> reg.add("one", lambda: 2, override=True); reg.create("one")
        2
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}
        self._help: dict[str, str] = {}

    def register(
        self, name: str, help: str = "", *, override: bool = False
    ) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator registering ``factory`` under ``name``.

        Raises:
            ConfigError: ``name`` is taken and ``override`` is false.
        """
        if not isinstance(name, str) or not name:
            raise ConfigError(f"A {self.kind} name must be a non-empty string, got {name!r}.")

        def deco(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._factories and not override and self._factories[name] is not factory:
                raise ConfigError(
                    f"A {self.kind} named {name!r} is already registered "
                    f"({_where(self._factories[name])}). Choose another name, or pass "
                    "override=True to replace it."
                )
            self._factories[name] = factory
            doc = help or (factory.__doc__ or "").strip().split("\n")[0]
            self._help[name] = doc
            return factory

        return deco

    def add(self, name: str, factory: Callable[..., T], help: str = "", *,
            override: bool = False) -> None:
        """Registers ``factory`` under ``name`` without decorator syntax."""
        self.register(name, help, override=override)(factory)

    def remove(self, name: str) -> None:
        """Unregisters ``name`` (e.g. a plug-in added by a test)."""
        self.get(name)
        del self._factories[name]
        self._help.pop(name, None)

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
        except (KeyError, TypeError):
            raise UnknownNameError(self.kind, str(name), self.names()) from None

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._factories)

    def help(self, name: str) -> str:
        """One-line description of ``name``."""
        return self._help.get(name, "")

    def __contains__(self, name: object) -> bool:
        return name in self._factories

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, names={self.names()})"


def _where(factory: Callable[..., Any]) -> str:
    module = getattr(factory, "__module__", None) or "?"
    return f"{module}.{getattr(factory, '__qualname__', repr(factory))}"


def lazy_factory(module: str, name: str) -> Callable[..., Any]:
    """A factory that imports ``module`` only when called and builds ``module.name``.

    Registering it keeps a heavy or optional dependency (Ray, a training stack) out of
    the registry's import.

    Example:
        >>> make = lazy_factory("fractions", "Fraction")
        >>> make(1, 3)
        Fraction(1, 3)
    """

    def factory(*args: Any, **kwargs: Any) -> Any:
        import importlib

        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    factory.__qualname__ = factory.__name__ = name
    factory.__module__ = module
    return factory
