"""Building a search's parts from its configuration, and recording objects as they ran."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archsmith._config import DEFAULT_DATA, SearchConfig
from archsmith.errors import ConfigError
from archsmith.strategies import STRATEGIES, create_strategy

if TYPE_CHECKING:
    from archsmith.evaluators._base import Evaluator
    from archsmith.space import SearchSpace
    from archsmith.strategies import Strategy

__all__ = ["build_evaluator", "build_space", "build_strategy", "check_rebuildable", "config_diff",
           "record_evaluator"]


def build_evaluator(cfg: SearchConfig) -> Evaluator:
    """The evaluator named by ``cfg`` (training, benchmark or user function)."""
    if cfg.benchmark:
        from archsmith.evaluators import create_benchmark

        return create_benchmark(cfg.benchmark)
    if cfg.evaluator:
        from archsmith.evaluators import FunctionEvaluator, UserEvaluator

        spec, objective = cfg.evaluator, (cfg.objective or "val_acc").split(",")[0].strip()
        if spec.startswith("python:"):
            raise ConfigError(
                f"This search's evaluator was a Python object ({spec[7:]}), which cannot be "
                "rebuilt from the stored configuration. Resume it from Python with the "
                "same object: Search.resume(out, evaluator=...)."
            )
        path = spec.rpartition(":")[0]
        if path and not path.endswith(".py") and "/" not in path and "\\" not in path:
            return FunctionEvaluator.from_ref(spec, objective=objective)  # module:function
        return UserEvaluator(spec, objective=objective)
    from archsmith.evaluators import TrainingEvaluator

    if cfg.data and cfg.data.startswith("python:"):
        raise ConfigError(
            f"This search trained with a TrainingEvaluator object on {cfg.data[7:]!r} whose "
            "data (a Dataset object) or settings (seed, data_seed, split fractions) the "
            "stored configuration cannot rebuild. Resume it from Python with the same "
            "evaluator: Search.resume(out, evaluator=TrainingEvaluator(...))."
        )
    allowed = {"batch_size", "lr", "weight_decay", "device", "num_threads"}
    if cfg.teacher:  # students of a teacher, trained by distillation
        allowed |= {"temperature", "alpha", "students", "final_teacher", "data_seed",
                    "val_fraction", "test_fraction"}
    unknown = sorted(set(cfg.training) - allowed)
    if unknown:
        raise ConfigError(f"Unknown training setting(s) {unknown}; valid: {sorted(allowed)}.")
    from archsmith._objectives import Objectives

    named = Objectives.parse(cfg.objective, cfg.direction, cfg.constraints).metrics
    extra: dict[str, Any] = {"onnx_latency": True} if "onnx_latency_ms" in named else {}
    if cfg.teacher:
        from archsmith.evaluators._distill import DistillEvaluator

        return DistillEvaluator(cfg.teacher, data=cfg.data or DEFAULT_DATA,
                                epochs=cfg.epochs or 5, seed=cfg.seed, **cfg.training, **extra)
    return TrainingEvaluator(
        data=cfg.data or DEFAULT_DATA, epochs=cfg.epochs or 5, seed=cfg.seed, **cfg.training,
        **extra,
    )


def build_space(cfg: SearchConfig) -> SearchSpace:
    from archsmith.space import create_space

    try:
        return create_space(cfg.space or "cnn", **cfg.space_config)
    except TypeError as e:
        raise ConfigError(f"Invalid space_config for space {cfg.space!r}: {e}.") from None


def build_strategy(cfg: SearchConfig, space: SearchSpace) -> Strategy:
    """The strategy; one that takes ``objectives`` (Optuna's: the study's directions) is
    told how many objectives the search has, unless its config says."""
    from archsmith._objectives import Objectives

    extra: dict[str, Any] = {}
    k = len(Objectives.parse(cfg.objective, cfg.direction, cfg.constraints).names)
    family = STRATEGIES.get(cfg.strategy.split(":")[0]) if cfg.strategy.split(":")[0] in \
        STRATEGIES else None
    if k > 1 and "objectives" not in cfg.strategy_config and family is not None and \
            "objectives" in inspect.signature(family).parameters:
        extra["objectives"] = k
    try:
        return create_strategy(cfg.strategy, space, **cfg.strategy_config, **extra)
    except TypeError as e:
        raise ConfigError(f"Invalid strategy_config for strategy {cfg.strategy!r}: {e}.") from None


def record_evaluator(config: SearchConfig, evaluator: Evaluator) -> SearchConfig:
    """``config`` naming ``evaluator`` (an object handed to :class:`Search`) as it ran."""
    from archsmith.evaluators import FunctionEvaluator, TrainingEvaluator, UserEvaluator
    from archsmith.evaluators._benchmark import BENCHMARKS

    data = benchmark = spec = None
    epochs = config.epochs
    training = config.training
    name = getattr(evaluator, "name", None)
    if isinstance(evaluator, TrainingEvaluator):
        ev = evaluator
        # the settings build_evaluator() passes on; the rest must be the defaults it uses
        training = {"batch_size": ev.batch_size, "lr": ev.lr,
                    "weight_decay": ev.weight_decay, "device": ev.device,
                    "num_threads": ev.num_threads}
        rebuildable = (isinstance(ev.data, str) and ev.seed == config.seed
                       and ev.data_seed == ev.seed and ev.val_fraction == 0.15
                       and ev.test_fraction == 0.15)
        name = ev.data if isinstance(ev.data, str) else ev.data.name
        data = name if rebuildable else f"python:{name}"
        epochs = epochs or ev.epochs
    elif isinstance(evaluator, UserEvaluator | FunctionEvaluator):
        spec = evaluator.spec
    elif isinstance(name, str) and name in BENCHMARKS and (
        type(evaluator) is type(BENCHMARKS.create(name))
    ):
        benchmark = name
    else:  # named by its describe()'s kind; its class is in the stored evaluator_info
        try:
            kind = evaluator.describe().get("kind")
        except Exception:
            kind = None
        spec = f"python:{kind or 'evaluator'}"
    if spec is not None and data is None:
        epochs = config.epochs  # only what the user set: no training default
    return dataclasses.replace(config, data=data, benchmark=benchmark, evaluator=spec,
                               epochs=epochs, training=training)


def check_rebuildable(cfg: SearchConfig, out: Path, need_space: bool,
                       need_evaluator: bool) -> None:
    """Names, in one message, every object a resume must be given (space, evaluator)."""
    from archsmith.space import SPACES

    missing = []
    if need_space and cfg.space not in SPACES and cfg.space_config.get("rebuild") is not True:
        missing.append(f"space={cfg.space!r} (a FunctionalSpace whose functions are not "
                       "importable by reference)")
    if need_evaluator and any(str(v).startswith("python:") for v in (cfg.data, cfg.evaluator)
                              if v):
        what = cfg.evaluator if cfg.evaluator else cfg.data
        missing.append(f"evaluator=... (a Python object: {str(what)[7:]})")
    if missing:
        raise ConfigError(
            f"The search in {out} was started from Python with objects the stored "
            f"configuration cannot rebuild; resume it from Python with the same objects: "
            f"Search.resume({str(out)!r}, {', '.join(missing)})."
        )


def config_diff(old: dict[str, Any], new: dict[str, Any]) -> str:
    keys = sorted((set(old) | set(new)) - set(SearchConfig.RUNTIME_KEYS) - {"evaluator_info"})
    diffs = [f"{k}: {old.get(k)!r} → {new.get(k)!r}" for k in keys if old.get(k) != new.get(k)]
    return "; ".join(diffs[:5])
