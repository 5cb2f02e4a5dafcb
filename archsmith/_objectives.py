"""What a search optimises: one or several objectives and the constraints on metrics.

``--objective val_acc,latency_ms --direction max,min --constraint "params<=200000"``
becomes an :class:`Objectives`. Values handed to strategies are oriented so that higher
is better in every objective; a constraint's violation is relative to its bound (0:
satisfied), so violations of different metrics add up.

Example:
    >>> o = Objectives.parse("val_acc,latency_ms", "max,min", ["params<=1000"])
    >>> o.values({"val_acc": 90.0, "latency_ms": 2.0, "params": 1500.0})
    (90.0, -2.0)
    >>> o.violation({"val_acc": 90.0, "latency_ms": 2.0, "params": 1500.0})
    0.5
    >>> o.violated({"params": 1500.0})
    ['params=1500 > 1000']
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from archsmith._config import default_direction
from archsmith.errors import ConfigError
from archsmith.evaluators._base import EvalResult

if TYPE_CHECKING:
    from archsmith.space import Architecture
    from archsmith.strategies._base import TrialRecord

__all__ = ["INFEASIBLE", "PRE_TRAINING_METRICS", "Constraint", "Objectives", "check_metrics",
           "choose_best", "infeasible_before_training", "make_record"]

#: Metrics a training evaluator can compute from the architecture alone, before any
#: epoch: a constraint on one of them is checked before training.
PRE_TRAINING_METRICS = ("params", "flops", "peak_activation_mb")
MAX_OBJECTIVES = 4
_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][\w.\-]*)\s*(<=|>=)\s*(\S+)\s*$")


@dataclass(frozen=True)
class Constraint:
    """``metric <= bound`` or ``metric >= bound``.

    Example:
        >>> c = Constraint.parse("latency_ms<=2")
        >>> c, c.violation({"latency_ms": 3.0}), c.violation({"latency_ms": 1.0})
        (Constraint(metric='latency_ms', op='<=', bound=2.0), 0.5, 0.0)
    """

    metric: str
    op: str
    bound: float

    @classmethod
    def parse(cls, text: str) -> Constraint:
        """Parses ``"metric<=number"`` / ``"metric>=number"``.

        Raises:
            ConfigError: naming the accepted form.
        """
        m = _CONSTRAINT.match(str(text))
        hint = ('write it as METRIC<=NUMBER or METRIC>=NUMBER, e.g. --constraint '
                '"params<=200000" (only <= and >= are accepted)')
        if m is None:
            raise ConfigError(f"constraint {text!r} cannot be read: {hint}.")
        metric, op, raw = m.groups()
        try:
            bound = float(raw.replace("_", ""))
        except ValueError:
            raise ConfigError(f"constraint {text!r}: {raw!r} is not a number; {hint}.") from None
        if not math.isfinite(bound):
            raise ConfigError(f"constraint {text!r}: the bound must be a finite number.")
        return cls(metric, op, bound)

    def violation(self, metrics: Mapping[str, float]) -> float:
        """How far ``metrics`` is outside the bound, relative to ``|bound|`` (0 inside;
        ``inf`` when the metric is missing or not finite)."""
        v = metrics.get(self.metric)
        if v is None or not isinstance(v, int | float) or not math.isfinite(float(v)):
            return math.inf
        gap = float(v) - self.bound if self.op == "<=" else self.bound - float(v)
        return max(0.0, gap) / max(abs(self.bound), 1e-12)

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.bound:g}"


@dataclass(frozen=True)
class Objectives:
    """The objectives (names and ``"max"``/``"min"`` directions) and the constraints."""

    names: tuple[str, ...]
    directions: tuple[str, ...]
    constraints: tuple[Constraint, ...] = ()

    @classmethod
    def parse(cls, objective: str | None, direction: str | None,
              constraints: Sequence[str] = (), default: str = "val_acc") -> Objectives:
        """Reads the ``objective``/``direction``/``constraints`` settings.

        Raises:
            ConfigError: more than 4 objectives, a repeated one, directions that do not
                match the objectives in number, a direction other than max/min, or an
                unreadable constraint.
        """
        names = tuple(s.strip() for s in (objective or default).split(","))
        if any(not n for n in names):
            raise ConfigError(f"objective {objective!r} has an empty name; give metric names "
                              "separated by commas, e.g. --objective val_acc,latency_ms.")
        if len(names) > MAX_OBJECTIVES:
            raise ConfigError(f"objective: at most {MAX_OBJECTIVES} objectives, got "
                              f"{len(names)} ({objective}).")
        if len(set(names)) < len(names):
            raise ConfigError(f"objective {objective!r} names a metric twice.")
        if direction is None:
            dirs = tuple(default_direction(n) for n in names)
        else:
            dirs = tuple(s.strip() for s in direction.split(","))
            if len(dirs) != len(names):
                raise ConfigError(
                    f"direction {direction!r} gives {len(dirs)} direction(s) for "
                    f"{len(names)} objective(s) ({', '.join(names)}); give one per objective, "
                    f"e.g. --direction {','.join(default_direction(n) for n in names)}.")
        for d in dirs:
            if d not in ("max", "min"):
                raise ConfigError(f"direction must be 'max' or 'min' (comma-separated, one "
                                  f"per objective), got {direction!r}.")
        return cls(names, dirs, tuple(Constraint.parse(c) for c in constraints))

    @property
    def multi(self) -> bool:
        """Whether there is more than one objective."""
        return len(self.names) > 1

    @property
    def primary(self) -> str:
        return self.names[0]

    @property
    def metrics(self) -> tuple[str, ...]:
        """Every metric a result must hold: the objectives and the constrained ones."""
        out = list(self.names)
        out += [c.metric for c in self.constraints if c.metric not in out]
        return tuple(out)

    def values(self, metrics: Mapping[str, float]) -> tuple[float, ...] | None:
        """The objectives, higher-is-better (``None`` when one is missing/not finite)."""
        out = []
        for n, d in zip(self.names, self.directions, strict=True):
            v = metrics.get(n)
            if v is None or not isinstance(v, int | float) or not math.isfinite(float(v)):
                return None
            out.append(float(v) if d == "max" else -float(v))
        return tuple(out)

    def violation(self, metrics: Mapping[str, float], partial: bool = False) -> float:
        """Sum of the constraints' relative violations (0: feasible). With ``partial``
        (a trial that stopped before reporting every metric, e.g. one rejected before
        training), constraints on metrics it does not hold are left out."""
        return float(sum(c.violation(metrics) for c in self.constraints
                         if not partial or c.metric in metrics))

    def violated(self, metrics: Mapping[str, float], partial: bool = False) -> list[str]:
        """The violated constraints, as ``"params=1500 > 1000"``."""
        out = []
        for c in self.constraints:
            if partial and c.metric not in metrics:
                continue
            if c.violation(metrics) > 0:
                v = metrics.get(c.metric)
                shown = "missing" if v is None else f"{float(v):g}"
                out.append(f"{c.metric}={shown} {'>' if c.op == '<=' else '<'} {c.bound:g}")
        return out

    def pre_training(self) -> tuple[Constraint, ...]:
        """The constraints on metrics known before training (params, FLOPs)."""
        return tuple(c for c in self.constraints if c.metric in PRE_TRAINING_METRICS)

    def describe(self) -> str:
        """``"val_acc (max), latency_ms (min) s.t. params<=2e+05"``."""
        s = ", ".join(f"{n} ({d})" for n, d in zip(self.names, self.directions, strict=True))
        if self.constraints:
            s += " s.t. " + ", ".join(str(c) for c in self.constraints)
        return s


# -- the search's view: records, checks, the front ---------------------------------------
def check_metrics(result: EvalResult, objectives: Objectives) -> EvalResult:
    """Turns a result without a finite objective or constrained metric into a failure."""
    for m in objectives.metrics:
        result = result.check_objective(m)
    return result


def make_record(objectives: Objectives, number: int, arch: Architecture, state: str,
                metrics: dict[str, float], **extra: Any) -> TrialRecord:
    """The :class:`TrialRecord` strategies see: ``values`` (higher is better),
    ``violation`` (0: feasible) and ``score`` = the first objective's value, ``None``
    unless the trial completed *and* is feasible (so a strategy that knows nothing of
    constraints treats an infeasible trial like a failed one)."""
    from archsmith.strategies._base import TrialRecord

    values = objectives.values(metrics) if state == "complete" else None
    violation = objectives.violation(metrics, partial=state != "complete") \
        if objectives.constraints and metrics else 0.0
    score = values[0] if values is not None and violation == 0 else None
    return TrialRecord(number=number, arch=arch, state=state, score=score, metrics=metrics,
                       values=values, violation=violation, **extra)


def infeasible_before_training(objectives: Objectives, evaluator: Any,
                               arch: Architecture) -> EvalResult | None:
    """A failed result when ``arch`` violates a constraint on a metric known before
    training (the evaluator's ``static_metrics``), else ``None``: no epoch is spent on
    a network that cannot fit."""
    cons = objectives.pre_training()
    fn = getattr(evaluator, "static_metrics", None)
    if not cons or fn is None:
        return None
    try:
        static = {k: float(v) for k, v in fn(arch).items()}
    except Exception:  # an odd network: training will report its error
        return None
    broken = [c for c in cons if c.metric in static and c.violation(static) > 0]
    if not broken:
        return None
    said = ", ".join(f"{c.metric}={static[c.metric]:g} violates {c}" for c in broken)
    return EvalResult(metrics=static, error=f"{INFEASIBLE} {said} (checked before "
                      "training; not trained)")


#: How the error of a trial rejected before training starts.
INFEASIBLE = "infeasible:"


def choose_best(objectives: Objectives,
                history: Sequence[TrialRecord]) -> TrialRecord | None:
    """The best feasible trial (by its metrics): with several objectives the knee of the
    front (:func:`front_of`); with one, the best value. Ties go to the lower number."""
    _front, knee = front_of(objectives, [(t.number, t.state, t.metrics) for t in history])
    return next((t for t in history if t.number == knee), None)


def check_known_metrics(objectives: Objectives, evaluator: Any) -> None:
    """Refuses an objective or constraint on a metric the evaluator never reports (when
    it declares ``metric_names``; a user evaluator's metrics are checked per result).

    Raises:
        ConfigError: naming the metric and the ones available.
    """
    names = getattr(evaluator, "metric_names", None)
    if not names:
        return
    known = set(names)
    for c in objectives.constraints:
        if c.metric not in known:
            raise ConfigError(f"constraint {c}: the evaluator reports no metric "
                              f"{c.metric!r}; constrain one of {', '.join(names)}.")
    for n in objectives.names:
        if n not in known:
            raise ConfigError(f"objective {n!r}: the evaluator reports no such metric; "
                              f"choose from {', '.join(names)}.")


def check_multi_objective(objectives: Objectives, strategy: Any,
                          scheduler: str | None) -> None:
    """Refuses several objectives with a strategy or scheduler that optimises one.

    Raises:
        ConfigError: naming the strategies that handle several objectives.
    """
    if not objectives.multi:
        return
    if not getattr(strategy, "multi_objective", False):
        from archsmith.strategies import STRATEGIES

        able = sorted(n for n in STRATEGIES.names()
                      if getattr(STRATEGIES.get(n), "multi_objective", False))
        able = [x for n in able for x in (("optuna:nsga2", "optuna:tpe") if n == "optuna"
                                          else (n,))]
        raise ConfigError(
            f"strategy {getattr(strategy, 'name', strategy)!r} optimises one objective; "
            f"{len(objectives.names)} were given ({', '.join(objectives.names)}). Use a "
            f"multi-objective strategy ({', '.join(able)}), or one --objective.")
    if scheduler is not None:
        raise ConfigError(
            f"--scheduler {scheduler} ranks trials by one objective; with several "
            f"objectives ({', '.join(objectives.names)}) use --scheduler none.")


def front_of(objectives: Objectives, trials: Sequence[tuple[int, str, Mapping[str, float]]],
             ) -> tuple[list[int], int | None]:
    """``(pareto, knee)`` trial numbers from stored ``(number, state, metrics)`` rows:
    the feasible complete trials no other dominates, and the knee among them.

    Example:
        >>> o = Objectives.parse("val_acc,params", "max,min")
        >>> front_of(o, [(0, "complete", {"val_acc": 90, "params": 10}),
        ...              (1, "complete", {"val_acc": 80, "params": 20}),
        ...              (2, "complete", {"val_acc": 95, "params": 50}),
        ...              (3, "failed", {})])
        ([0, 2], 0)
    """
    from archsmith._pareto import knee_point, nondominated

    rows = [(n, v) for n, state, m in trials if state == "complete"
            and (v := objectives.values(m)) is not None and objectives.violation(m) == 0]
    if not rows:
        return [], None
    mask = nondominated([v for _n, v in rows])
    front = sorted((r for r, keep in zip(rows, mask, strict=True) if keep), key=lambda r: r[0])
    k = knee_point([v for _n, v in front])
    return [n for n, _v in front], None if k is None else front[k][0]
