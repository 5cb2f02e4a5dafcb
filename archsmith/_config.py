"""The search configuration: one strict, JSON/TOML-serialisable record."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archsmith.errors import ConfigError

__all__ = ["MINIMIZE_HINTS", "SearchConfig", "default_direction"]

#: The dataset of a search that names no data, benchmark or evaluator.
DEFAULT_DATA = "digits"

#: Largest accepted budget (trials) and epochs: beyond these a typo, not a plan.
MAX_BUDGET = 10_000_000
MAX_EPOCHS = 100_000

#: Metric names that are minimised unless a direction is given.
MINIMIZE_HINTS = ("loss", "error", "latency", "params", "flops", "seconds", "size", "cost")


def default_direction(objective: str) -> str:
    """``"min"`` for loss/error/latency/size-like metric names, else ``"max"``.

    Example:
        >>> default_direction("val_acc"), default_direction("latency_ms")
        ('max', 'min')
    """
    low = objective.lower()
    return "min" if any(h in low for h in MINIMIZE_HINTS) else "max"


@dataclass
class SearchConfig:
    """Everything that defines a search (constructor arguments are the whole config).

    Exactly one of ``data``, ``benchmark`` and ``evaluator`` names what judges the
    architectures. Unknown keys in :meth:`from_dict` / TOML files are rejected.

    Attributes:
        space: Registered search-space name (default: the benchmark's space with
            ``benchmark``, else ``"cnn"``).
        space_config: Constructor arguments of the space.
        data: Dataset name or path, for real training (default ``"digits"`` when no
            benchmark or evaluator is given; an evaluator object handed to
            :class:`~archsmith.search.Search` replaces it).
        benchmark: Tabular benchmark name (``nb201/cifar10``...).
        evaluator: ``file.py:function`` user evaluator.
        strategy: Registered strategy name.
        strategy_config: Constructor arguments of the strategy.
        budget: Number of trials (duplicates included).
        epochs: Training epochs per trial (training evaluator; default 5).
        final_epochs: Epochs of the final retraining of the best (default: ``epochs``).
        training: Extra training-evaluator arguments (batch_size, lr, weight_decay,
            device).
        seed: Seed of every random choice.
        objective: Metric to optimise (default: the evaluator's, ``val_acc``), or up to
            4 comma-separated metrics for a multi-objective search
            (``"val_acc,latency_ms"``).
        direction: ``"max"`` or ``"min"`` (default from the metric name), one per
            objective, comma-separated.
        trial_timeout: Seconds after which a trial is stopped and marked failed.
        name: Name of the search inside its storage.
        export: Retrain and export the best network at the end.
        workers: Trials evaluated at once.
        executor: ``inline``, ``process``, ``ray`` or ``simulated`` (default: ``inline``
            for one worker, ``process`` for more).
        max_retries: Times a failed trial is re-run before its failure is final.
        ray_address: Address of an existing Ray cluster (``ray`` executor).
        time_budget: Seconds after which no new trial is started (running ones finish,
            then the best is retrained and exported as at the end of the budget);
            counted from the start of each run, so a resume gets the same time again.
        fail_fast: Stop the search when its first ``fail_fast`` trials all fail with the
            same error and none has completed (0: never stop early).
        scheduler: Multi-fidelity scheduler (``sh``, ``hyperband``, ``asha``, ``median``;
            ``None``: every trial trains ``epochs``). With a scheduler, ``budget`` counts
            full trainings (``budget × epochs`` epochs across all rungs) and ``epochs`` is
            the top rung.
        min_epochs: Budget of the lowest rung (with a scheduler).
        eta: Reduction factor of the scheduler (each rung keeps ``1/eta`` of its trials).
        rung_targets: What strategies learn from a trial stopped below the top rung:
            ``"calibrated"`` (its score at its last rung, shifted by the mean gain of the
            promoted trials between that rung and the top) or ``"top"`` (nothing: only
            fully trained trials count).
        constraints: ``"metric<=bound"`` / ``"metric>=bound"`` strings; a trial that
            violates one is stored as infeasible and never reported as best (checked
            before training for ``params`` and ``flops``).
        checkpoint_mb: Most disk space (MB) the checkpoints of paused trials may take;
            beyond it the least promising are deleted (they restart if promoted).
        inherit: A new trial starts from the weights of the best stored trial it can be
            transformed from (Net2Net/N2N moves, :mod:`archsmith.transform`; the parent
            the strategy names first) and trains ``inherit_epochs``; one without such a
            parent trains ``epochs`` from scratch. Needs real training (weights).
        inherit_epochs: Epochs an inherited trial trains (default: a quarter of
            ``epochs``, at least 1).
        inherit_moves: Most moves between a child and a parent its strategy did not
            name (more: from scratch); a named parent is used at any distance. Children
            two or more moves from their parent ended 6–12 points below it in the
            measurement of benchmarks/RESULTS.md (issue 15).
        inherit_lr: Learning rate of an inherited trial whose transformation preserves
            its parent's function, as a fraction of the training's ``lr``: it fine-tunes
            weights that already compute a trained function. A child whose function
            changed (a shrink, a new activation or pooling) trains at
            ``inherit_lr_changing``. Both measured in benchmarks/RESULTS.md (issue 15).
        inherit_lr_changing: Learning rate of an inherited trial whose transformation
            changes its parent's function, as a fraction of ``lr`` (default 1.0, the full
            rate: such a child has to relearn, not fine-tune; in evolution's lineage its
            children ended 1.0-3.2 points below their parent at 1.0 and 1.5-5.2 at 0.3).
        teacher: Folder of a trained teacher (``best/`` of a search): every network is a
            student that starts from the teacher's transformed weights and learns by
            distillation (:class:`~archsmith.evaluators.DistillEvaluator`; ``archsmith
            compress``). ``training`` may then also hold ``temperature``, ``alpha`` and
            ``students`` (the folder of the students' weights).

    Example:
        >>> cfg = SearchConfig.from_dict({"space": "mlp", "data": "digits", "budget": 3})
        >>> cfg.budget
        3
    """

    space: str | None = None
    space_config: dict[str, Any] = field(default_factory=dict)
    data: str | None = None
    benchmark: str | None = None
    evaluator: str | None = None
    strategy: str = "evolution"
    strategy_config: dict[str, Any] = field(default_factory=dict)
    budget: int = 20
    epochs: int | None = None
    final_epochs: int | None = None
    training: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    objective: str | None = None
    direction: str | None = None
    trial_timeout: float | None = None
    name: str = "default"
    export: bool = True
    workers: int = 1
    executor: str | None = None
    max_retries: int = 0
    ray_address: str | None = None
    fail_fast: int = 3
    time_budget: float | None = None
    scheduler: str | None = None
    min_epochs: int = 1
    eta: int = 3
    rung_targets: str = "calibrated"
    checkpoint_mb: float = 2048.0
    constraints: list[str] = field(default_factory=list)
    inherit: bool = False
    inherit_epochs: int | None = None
    inherit_moves: int = 1
    inherit_lr: float = 0.3
    inherit_lr_changing: float = 1.0
    teacher: str | None = None

    #: Keys that do not change which trials a search makes (may differ on resume).
    RUNTIME_KEYS = ("budget", "trial_timeout", "export", "final_epochs", "workers", "executor",
                    "max_retries", "ray_address", "fail_fast", "time_budget", "checkpoint_mb")
    #: Keys a search without a scheduler leaves out of its fingerprint (so searches
    #: stored before schedulers existed keep their identity).
    SCHEDULER_KEYS = ("scheduler", "min_epochs", "eta", "rung_targets")
    #: Keys a search without inheritance leaves out of its fingerprint.
    INHERIT_KEYS = ("inherit", "inherit_epochs", "inherit_moves", "inherit_lr",
                    "inherit_lr_changing")

    def __post_init__(self) -> None:
        if self.space is None:
            self.space = str(self.benchmark).split("/")[0] if self.benchmark else "cnn"
        if self.data is None and self.benchmark is None and self.evaluator is None:
            self.data = DEFAULT_DATA
        if self.scheduler == "none":
            self.scheduler = None
        self.validate()

    def validate(self) -> None:
        """Checks types and ranges; raises :class:`ConfigError` naming the field."""
        for key in ("space", "data", "benchmark", "evaluator", "strategy", "objective",
                    "direction", "executor", "ray_address", "name", "scheduler", "teacher"):
            v = getattr(self, key)
            optional = key not in ("space", "strategy", "name")
            if (v is None and optional) or (isinstance(v, str) and v.strip()):
                continue
            what = "an empty string" if isinstance(v, str) else repr(v)
            raise ConfigError(f"{key} must be a non-empty string, got {what}"
                              + (" (leave it out instead)." if optional else "."))
        sources = [k for k in ("data", "benchmark", "evaluator") if getattr(self, k)]
        if len(sources) > 1:
            raise ConfigError(
                f"Give only one of data, benchmark and evaluator (got {', '.join(sources)})."
            )
        for key in ("budget", "seed", "workers", "max_retries", "fail_fast"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int):
                raise ConfigError(f"{key} must be an integer, got {v!r}.")
        for key, low, high, unit in (
            ("budget", 1, MAX_BUDGET, "trials"), ("seed", 0, 2**63 - 1, ""),
            ("workers", 1, 4096, ""), ("max_retries", 0, 1000, ""),
            ("fail_fast", 0, MAX_BUDGET, ""),
        ):
            v = getattr(self, key)
            if not low <= v <= high:
                raise ConfigError(f"{key} must be at least {low} {unit}".rstrip()
                                  + f" and at most {high}, got {v}.")
        for key in ("epochs", "final_epochs"):
            v = getattr(self, key)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int)
                                  or not 1 <= v <= MAX_EPOCHS):
                raise ConfigError(
                    f"{key} must be a positive integer (at most {MAX_EPOCHS}), got {v!r}.")
        t = self.trial_timeout
        if t is not None and (isinstance(t, bool) or not isinstance(t, int | float)
                              or not 0 < t < 10**9):
            raise ConfigError(
                f"trial_timeout must be a positive, finite number of seconds, got {t!r}."
            )
        tb = self.time_budget
        if tb is not None and (isinstance(tb, bool) or not isinstance(tb, int | float)
                               or not 0 < tb < 10**9):
            raise ConfigError(
                f"time_budget must be a positive, finite number of seconds, got {tb!r}.")
        for key in ("min_epochs", "eta"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_EPOCHS:
                raise ConfigError(f"{key} must be a positive integer, got {v!r}.")
        for key in ("inherit_lr", "inherit_lr_changing"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v <= 10:
                raise ConfigError(f"{key} must be a number above 0 and at most 10 (a "
                                  f"fraction of the learning rate), got {v!r}.")
            setattr(self, key, float(v))
        if self.rung_targets not in ("calibrated", "top"):
            raise ConfigError(f"rung_targets must be 'calibrated' or 'top', got "
                              f"{self.rung_targets!r}.")
        mb = self.checkpoint_mb
        if isinstance(mb, bool) or not isinstance(mb, int | float) or not 0 <= mb < 10**9:
            raise ConfigError(f"checkpoint_mb must be a non-negative number of megabytes, "
                              f"got {mb!r}.")
        if not isinstance(self.constraints, list | tuple) or not all(
                isinstance(c, str) for c in self.constraints):
            raise ConfigError(f"constraints must be a list of strings like 'params<=200000', "
                              f"got {self.constraints!r}.")
        self.constraints = list(self.constraints)
        from archsmith._objectives import Objectives

        Objectives.parse(self.objective, self.direction, self.constraints)
        if not isinstance(self.export, bool):
            raise ConfigError(f"export must be true or false, got {self.export!r}.")
        if not isinstance(self.inherit, bool):
            raise ConfigError(f"inherit must be true or false, got {self.inherit!r}.")
        for key, low in (("inherit_epochs", 1), ("inherit_moves", 1)):
            v = getattr(self, key)
            if (v is not None or key == "inherit_moves") and (
                    isinstance(v, bool) or not isinstance(v, int) or not low <= v <= MAX_EPOCHS):
                raise ConfigError(f"{key} must be a positive integer, got {v!r}.")
        for key in ("space_config", "strategy_config", "training"):
            if not isinstance(getattr(self, key), dict):
                raise ConfigError(f"{key} must be a table/dict, got {getattr(self, key)!r}.")

    @property
    def source(self) -> str:
        """``data``, ``benchmark`` or ``evaluator``."""
        if self.benchmark:
            return "benchmark"
        if self.evaluator:
            return "evaluator"
        return "data"

    def resolved_direction(self, objective: str) -> str:
        return self.direction or default_direction(objective)

    # -- (de)serialisation --------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "config") -> SearchConfig:
        """Strict construction: unknown keys raise :class:`ConfigError` naming them."""
        if not isinstance(data, dict):
            raise ConfigError(f"{where} must be a table of settings.")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"Unknown key(s) {unknown} in {where}. Valid keys: {sorted(known)}."
            )
        try:
            return cls(**data)
        except TypeError as e:  # pragma: no cover - guarded above
            raise ConfigError(f"Invalid {where}: {e}") from None

    @classmethod
    def from_toml(cls, path: str | Path) -> dict[str, Any]:
        """Reads a TOML config file into a dict of settings (validated by the caller)."""
        p = Path(path)
        try:
            is_file = p.is_file()
        except OSError:  # e.g. a name too long for the file system
            is_file = False
        if not is_file:
            raise ConfigError(f"Config file {str(p)!r} does not exist.")
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"Config file {str(p)!r} is not valid TOML: {e}.") from None
        except OSError as e:
            raise ConfigError(f"Cannot read config file {str(p)!r}: "
                              f"{e.strerror or type(e).__name__}.") from None
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"Unknown key(s) {unknown} in config file {str(p)!r}. Valid keys: "
                f"{sorted(known)}."
            )
        return data

    def fingerprint(self, evaluator_description: dict[str, Any]) -> str:
        """Identity of the search: everything but the runtime keys, plus the evaluator.

        Of the evaluator's description, what does not change which trials are made is
        left out, so that searches stored by earlier versions keep their identity: the
        number of torch threads (a runtime setting) and the dataset's preprocessing
        record (derived from the data, whose sha256 is part of the description).
        """
        d = {k: v for k, v in self.to_dict().items() if k not in self.RUNTIME_KEYS}
        if self.scheduler is None:
            for k in self.SCHEDULER_KEYS:
                d.pop(k)
        if not self.constraints:  # searches stored before constraints keep their identity
            d.pop("constraints")
        if not self.inherit:
            for k in self.INHERIT_KEYS:
                d.pop(k)
        else:  # the values searches stored before these keys trained with
            if self.inherit_lr == 1.0:
                d.pop("inherit_lr")
            if self.inherit_lr_changing == 1.0:
                d.pop("inherit_lr_changing")
        if self.teacher is None:
            d.pop("teacher")
        desc = dict(evaluator_description)
        if "num_threads" in desc:
            desc["num_threads"] = None
        if isinstance(desc.get("dataset"), dict):
            desc["dataset"] = {k: v for k, v in desc["dataset"].items()
                               if k != "preprocessing"}
        payload = json.dumps([d, desc], sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()
