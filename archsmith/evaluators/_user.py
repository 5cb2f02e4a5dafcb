"""Evaluates architectures with a function from the user's own Python file."""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import numbers
import re
import sys
import time
import traceback
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archsmith.errors import ConfigError
from archsmith.evaluators._base import EvalResult

if TYPE_CHECKING:
    from archsmith.space import Architecture, SearchSpace

__all__ = ["FunctionEvaluator", "UserEvaluator", "check_metrics"]


def _parse(spec: str) -> tuple[Path, str]:
    path, sep, func = spec.rpartition(":") if isinstance(spec, str) else ("", "", "")
    if not sep or not func.isidentifier() or not path:
        raise ConfigError(
            f"User evaluator {spec!r} must be written as 'path/to/file.py:function', naming "
            "a Python file and the function in it that evaluates an architecture."
        )
    return Path(path), func


def _as_number(value: Any) -> float | None:
    """``value`` as a float when it is a real number (incl. NumPy/torch scalars)."""
    if isinstance(value, numbers.Real):
        return float(value)
    if getattr(value, "shape", None) == () and callable(getattr(value, "item", None)):
        try:
            v = value.item()
        except Exception:
            return None
        return float(v) if isinstance(v, numbers.Real) else None
    return None


def check_metrics(result: Any, function: str, objective: str, cost: float) -> EvalResult:
    """The :class:`EvalResult` of a user function's return value.

    A dict of real numbers (NumPy/torch scalars too) that holds ``objective`` is a
    success; anything else is a failure whose error names ``function`` and the fix.

    Example:
        >>> check_metrics({"val_acc": 0.5}, "f", "val_acc", 0.1).ok
        True
        >>> check_metrics("oops", "f", "val_acc", 0.1).error
        "f() returned str, but it must return a dict of numeric metrics such as {'val_acc': 0.9}"
    """
    if not isinstance(result, Mapping):
        return EvalResult.failure(
            f"{function}() returned {type(result).__name__}, but it must return a "
            f"dict of numeric metrics such as {{{objective!r}: 0.9}}", cost=cost,
        )
    metrics: dict[str, float] = {}
    for key, value in result.items():
        if not isinstance(key, str):
            return EvalResult.failure(
                f"{function}() returned a metric with a non-string name {key!r}; "
                "use metric names such as 'val_acc'", cost=cost,
            )
        number = _as_number(value)
        if number is None:
            return EvalResult.failure(
                f"{function}() returned a non-numeric metric {key!r}: {value!r} "
                f"({type(value).__name__}); metric values must be numbers", cost=cost,
            )
        metrics[key] = number
    return EvalResult(metrics=metrics, cost=cost).check_objective(objective)


class FunctionEvaluator:
    """Any Python callable ``fn(arch, budget) -> dict`` as an evaluator.

    ``fn`` receives the :class:`~archsmith.space.Architecture` (``arch["width"]``,
    ``arch.values``, ``arch.to_dict()``) and the budget (``None`` or e.g. a number of
    epochs), and returns a dict of numeric metrics that includes the objective.
    Exceptions, non-numeric values and a missing or non-finite objective become failed
    results; the cost is the call's wall time.

    A function defined at module level in an importable module is recorded by
    reference (``"module:function"``), so a stored search resumes with
    ``archsmith resume``; any other callable (a lambda, a closure, a function of
    ``__main__``) is recorded by name, and the search resumes from Python with
    ``Search.resume(out, evaluator=FunctionEvaluator(fn))``.

    Args:
        fn: The evaluation function.
        objective: Name of the metric searched by default.

    Example:
        >>> from archsmith.space import create_space
        >>> space = create_space("mlp")
        >>> ev = FunctionEvaluator(lambda arch, budget: {"val_acc": arch["n_layers"] / 6})
        >>> ev.evaluate(space.make({"n_layers": 3, "residual": False, "width_1": 64,
        ...     "act_1": "relu", "norm_1": "none", "dropout_1": 0.0, "width_2": 64,
        ...     "act_2": "relu", "norm_2": "none", "dropout_2": 0.0, "width_3": 64,
        ...     "act_3": "relu", "norm_3": "none", "dropout_3": 0.0})).metrics
        {'val_acc': 0.5}
    """

    def __init__(self, fn: Callable[..., Any], objective: str = "val_acc") -> None:
        from archsmith.space._custom import function_ref

        if not callable(fn):
            raise ConfigError(f"FunctionEvaluator needs a callable fn(arch, budget), got {fn!r}.")
        if not isinstance(objective, str) or not objective:
            raise ConfigError(f"objective must be a non-empty metric name, got {objective!r}.")
        _check_two_arguments(fn, _name(fn), "arch, budget")
        self.fn = fn
        self.function = _name(fn)
        self.ref = function_ref(fn)
        self.objective = objective
        self.default_objective = objective
        #: The budget is whatever ``fn`` counts; with a ``checkpoint`` parameter ``fn``
        #: continues from it (:class:`~archsmith.evaluators.MultiFidelity`).
        self.fidelity = "budget"
        self.continues = accepts_checkpoint(fn)

    @classmethod
    def from_ref(cls, ref: str, objective: str = "val_acc") -> FunctionEvaluator:
        """The evaluator of the function a ``"module:function"`` reference names."""
        from archsmith.errors import SpaceError
        from archsmith.space._custom import import_ref

        try:
            fn = import_ref(ref, "evaluator function", "Check the module is importable, "
                            "or pass the evaluator object (Search.resume(out, evaluator=...)).")
        except SpaceError as e:
            raise ConfigError(str(e)) from None
        return cls(fn, objective=objective)

    @property
    def spec(self) -> str:
        """What the search configuration records: the reference, or ``python:NAME``."""
        return self.ref or f"python:{self.function}"

    def check_space(self, space: SearchSpace) -> None:
        """Any space is accepted: the function decides what it can evaluate."""

    def evaluate(self, arch: Architecture, budget: int | None = None, *,
                 checkpoint: str | None = None) -> EvalResult:
        """Calls ``fn(arch, budget)`` (with ``checkpoint=`` when ``fn`` takes it) and
        checks what it returns."""
        start = time.perf_counter()
        try:
            if checkpoint is not None and self.continues:
                result = self.fn(arch, budget, checkpoint=checkpoint)
            else:
                result = self.fn(arch, budget)
        except (Exception, SystemExit) as e:
            if type(e).__name__ == "TrialTimeout":  # the driver's time limit, not the user's
                raise
            from archsmith.errors import describe_exception

            return EvalResult.failure(describe_exception(e), cost=time.perf_counter() - start)
        return check_metrics(result, self.function, self.objective,
                             time.perf_counter() - start)

    def describe(self) -> dict[str, Any]:
        """``{"kind": "function", "function", "ref", "objective"}``."""
        return {"kind": "function", "function": self.function, "ref": self.ref,
                "objective": self.objective}

    def __repr__(self) -> str:
        return f"FunctionEvaluator({self.function}, objective={self.objective!r})"


def _check_two_arguments(fn: Callable[..., Any], what: str, args: str) -> None:
    """Raises a :class:`ConfigError` unless ``fn`` can be called with two arguments."""
    try:
        inspect.signature(fn).bind(None, None)
    except TypeError:
        raise ConfigError(f"{what} must accept two arguments ({args}); e.g. "
                          "`def evaluate(arch, budget=None): ...`.") from None
    except ValueError:  # no signature available (builtins): trust it
        pass


def accepts_checkpoint(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` takes a ``checkpoint`` keyword (it continues training from it).

    Example:
        >>> accepts_checkpoint(lambda arch, budget, checkpoint=None: {})
        True
    """
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    p = params.get("checkpoint")
    return p is not None and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)


def _name(fn: Any) -> str:
    return str(getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
               or type(fn).__name__)


class UserEvaluator:
    """Calls ``function(arch_dict, budget)`` from a user file and returns its metrics.

    The function receives ``arch.to_dict()`` (``{"space": ..., "decisions": {...}}``)
    and the budget (``None`` or e.g. a number of epochs) and returns a dict of numeric
    metrics that includes the objective. Exceptions, non-numeric values and a missing
    or non-finite objective become failed results. The cost is the call's wall time.

    The file is imported when the evaluator is created (to check the function) and
    again lazily after unpickling, e.g. in a worker process; its folder is on
    ``sys.path`` while it is imported, so it can import modules next to it.

    Args:
        spec: ``"path/to/file.py:function"``.
        objective: Name of the metric searched by default.

    Raises:
        ConfigError: The spec is malformed, the file is missing, is not a ``.py`` file or
            cannot be imported, or the function is missing or not callable.
    """

    def __init__(self, spec: str, objective: str = "val_acc") -> None:
        if not isinstance(objective, str) or not objective:
            raise ConfigError(f"objective must be a non-empty metric name, got {objective!r}.")
        path, func = _parse(spec)
        from archsmith._fs import exists

        if not exists(path) or not path.is_file():
            raise ConfigError(
                f"User evaluator file {str(path)!r} does not exist (from {spec!r}); give the "
                "path of a Python file, relative to the working directory or absolute."
            )
        if path.suffix != ".py":
            raise ConfigError(
                f"User evaluator file {str(path)!r} is not a Python file; it must end in .py."
            )
        self.spec = spec
        self.path = str(path.resolve())
        self.function = func
        self.objective = objective
        self.default_objective = objective
        self._fn: Callable[..., Any] | None = None
        self.fidelity = "budget"
        self.continues = accepts_checkpoint(self._load())

    # -- loading ------------------------------------------------------------------------
    def _module_name(self) -> str:
        stem = re.sub(r"\W", "_", Path(self.path).stem)
        return f"archsmith_user_{stem}_{hashlib.sha1(self.path.encode()).hexdigest()[:10]}"

    def _load(self) -> Callable[..., Any]:
        if self._fn is not None:
            return self._fn
        name = self._module_name()
        mod_spec = importlib.util.spec_from_file_location(name, self.path)
        if mod_spec is None or mod_spec.loader is None:
            raise ConfigError(f"Cannot import {self.path!r} as a Python module.")
        module = importlib.util.module_from_spec(mod_spec)
        sys.modules[name] = module
        folder = str(Path(self.path).parent)
        sys.path.insert(0, folder)
        try:
            mod_spec.loader.exec_module(module)
        except BaseException as e:
            sys.modules.pop(name, None)
            if isinstance(e, KeyboardInterrupt):
                raise
            raise ConfigError(
                f"Importing the user evaluator file {self.path!r} failed: "
                f"{type(e).__name__}: {e}{self._where(e)}. Fix the file and try again."
            ) from None
        finally:
            if folder in sys.path:
                sys.path.remove(folder)
        fn = getattr(module, self.function, None)
        if fn is None or not callable(fn):
            found = self._callables(module)
            what = "is not callable" if fn is not None else "is not defined"
            raise ConfigError(
                f"{self.function!r} {what} in {self.path!r}. Callables defined there: "
                f"{', '.join(found) or '(none)'}; write the spec as 'file.py:function'."
            )
        _check_two_arguments(fn, f"{self.function!r} in {self.path!r}", "arch: dict, budget")
        self._fn = fn
        return fn

    @staticmethod
    def _callables(module: types.ModuleType) -> list[str]:
        return sorted(
            n for n, v in vars(module).items()
            if callable(v) and not n.startswith("_")
            and getattr(v, "__module__", None) == module.__name__
        )

    def _where(self, e: BaseException) -> str:
        """`` (file.py, line N, in func)`` for the last frame of ``e`` in the user's file."""
        frames = [f for f in traceback.extract_tb(e.__traceback__)
                  if f.filename and Path(f.filename).resolve() == Path(self.path)]
        if not frames:
            return ""
        return f" ({Path(self.path).name}, line {frames[-1].lineno}, in {frames[-1].name})"

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_fn"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    # -- protocol -----------------------------------------------------------------------
    def check_space(self, space: SearchSpace) -> None:
        """Any space is accepted: the user function decides what it can evaluate."""

    def evaluate(self, arch: Architecture, budget: int | None = None, *,
                 checkpoint: str | None = None) -> EvalResult:
        """Calls the user function on ``arch.to_dict()`` and ``budget`` (and
        ``checkpoint=`` when the function takes it).

        Example:
            >>> import pathlib, tempfile
            >>> f = pathlib.Path(tempfile.mkdtemp()) / "score.py"
            >>> _ = f.write_text("def score(arch, budget):\\n    return {'val_acc': 1.0}\\n")
            >>> from archsmith.space import Decision, SearchSpace
            >>> class One(SearchSpace):
            ...     name = "one"
            ...     def _decisions(self):
            ...         return [Decision("d", (1, 2))]
            >>> UserEvaluator(f"{f}:score").evaluate(One().make({"d": 2})).metrics
            {'val_acc': 1.0}
        """
        fn = self._load()
        arch_dict = arch.to_dict()
        start = time.perf_counter()
        try:
            if checkpoint is not None and self.continues:
                result = fn(arch_dict, budget, checkpoint=checkpoint)
            else:
                result = fn(arch_dict, budget)
        except (Exception, SystemExit) as e:
            if type(e).__name__ == "TrialTimeout":  # the driver's time limit, not the user's
                raise
            text = " ".join(str(e).split())
            return EvalResult.failure(
                f"{type(e).__name__}: {text}{self._where(e)}", cost=time.perf_counter() - start
            )
        return check_metrics(result, self.function, self.objective,
                             time.perf_counter() - start)

    def describe(self) -> dict[str, Any]:
        """The spec, objective and a sha256 fingerprint of the file's contents."""
        try:
            digest = hashlib.sha256(Path(self.path).read_bytes()).hexdigest()
        except OSError:
            digest = None
        return {"kind": "user", "spec": self.spec, "path": self.path,
                "function": self.function, "objective": self.objective, "sha256": digest}

    def __repr__(self) -> str:
        return f"UserEvaluator({self.spec!r}, objective={self.objective!r})"

