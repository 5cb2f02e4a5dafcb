"""Any archsmith strategy as a Ray Tune ``Searcher`` (extra ``archsmith[ray]``).

Ray Tune users keep their trainables, schedulers, cluster and experiment folders; the
architecture of each trial comes from an archsmith strategy.

The trainable pattern::

    from ray import tune
    from archsmith.evaluators import create_benchmark
    from archsmith.integrations.ray_tune import ArchsmithSearcher, config_to_architecture

    bench = create_benchmark("nb201/cifar10")
    space = bench.default_space()

    def trainable(config):
        arch = config_to_architecture(space, config)
        return {"val_acc": bench.evaluate(arch).metrics["val_acc"]}

    searcher = ArchsmithSearcher(space, "evolution", seed=0, metric="val_acc", mode="max")
    tuner = tune.Tuner(trainable, tune_config=tune.TuneConfig(
        search_alg=searcher, num_samples=100, max_concurrent_trials=2))
    results = tuner.fit()

Config dicts: :meth:`ArchsmithSearcher.suggest` returns the architecture's *active*
decisions flat at the top level (``{"edge_1_0": "nor_conv_3x3", ...}``, conditional
decisions that are inactive are left out) plus ``"arch_hash"``, the architecture's
canonical hash. Tune merges it into the ``param_space`` constants (which may hold other
fixed settings, but no search domains: the searcher proposes everything).
:func:`config_to_architecture` turns a config back into the architecture.

``metric`` and ``mode`` are given to the searcher or, as for Ray Tune's own searchers,
set through ``TuneConfig(metric=..., mode=...)`` (Tune passes them on with
``set_search_properties`` when ``param_space`` is not empty).

History and determinism: trial ``n`` (in order of :meth:`~ArchsmithSearcher.suggest`
calls) proposes with ``strategy.ask(history, 1, np.random.default_rng([seed, n]))``
where ``history`` holds every earlier trial: complete (score = the metric oriented by
``mode``, higher is better), failed (an error, or no finite metric) or running.
Finished trials are told to the strategy in :meth:`~ArchsmithSearcher.on_trial_complete`.
With ``max_concurrent_trials=1`` the proposals are those of ``archsmith search`` with
``--workers 1`` and the same seed and strategy; with more concurrent trials they depend
on the order trials finish. With an early-stopping scheduler (ASHA, ...) a stopped trial
is complete with its last reported metric, as with Ray Tune's own searchers.

Checkpoints: :meth:`~ArchsmithSearcher.save` writes one file with ``torch.save`` holding
the searcher's bookkeeping as a JSON string and the strategy's ``state_dict`` (tensors
and JSON values only); :meth:`~ArchsmithSearcher.restore` reads it with
``torch.load(weights_only=True)``, so restoring never unpickles arbitrary objects.
Ray Tune calls both itself (``Tuner.restore`` resumes the searcher state); Ray also
pickles the searcher object with the experiment, which is Ray's own mechanism.

Without Ray Tune installed this module still imports (so its documentation and
:func:`config_to_architecture` work), and creating an :class:`ArchsmithSearcher` raises
:class:`~archsmith.errors.ConfigError` naming the extra to install.

The searcher can be driven by hand, as Tune does::

    searcher = ArchsmithSearcher(space, "random", seed=0, metric="val_acc", mode="max")
    config = searcher.suggest("t0")        # {"edge_1_0": ..., ..., "arch_hash": ...}
    searcher.on_trial_complete("t0", {"val_acc": 80.0})
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from archsmith.errors import ConfigError
from archsmith.integrations import import_engine, jsonable, make_strategy
from archsmith.space import Architecture, SearchSpace
from archsmith.strategies import Strategy, TrialRecord

try:
    from ray.tune.search import Searcher
except ImportError as _e:  # the class below then refuses to be created
    Searcher = object  # type: ignore[misc, assignment]
    _MISSING: str | None = str(_e)
else:
    _MISSING = None

__all__ = ["HASH_KEY", "ArchsmithSearcher", "config_to_architecture"]

#: Config key holding the architecture's canonical hash.
HASH_KEY = "arch_hash"
_FORMAT = "archsmith-ray-searcher"


def config_to_architecture(space: SearchSpace, config: dict[str, Any]) -> Architecture:
    """The architecture of a trial config made by :class:`ArchsmithSearcher`.

    Keys that are not decisions of ``space`` (``"arch_hash"``, other settings) are
    ignored.

    Raises:
        ConfigError: the config holds no decision of ``space``.
        SpaceError: a decision is missing or has an invalid value.

    Example:
        >>> from archsmith.space import create_space
        >>> space = create_space("nb201")
        >>> arch = space.sample(np.random.default_rng(1))
        >>> config_to_architecture(space, {**arch.values, "lr": 0.1}) == arch
        True
    """
    names = {d.name for d in space.decisions}
    values = {k: v for k, v in config.items() if k in names}
    if not values:
        raise ConfigError(
            f"The trial config holds none of the decisions of space {space.name!r} "
            f"({sorted(names)[:4]}...); was it suggested by ArchsmithSearcher? Got keys "
            f"{sorted(config)[:8]}."
        )
    return space.make(values)


class ArchsmithSearcher(Searcher):  # type: ignore[misc]
    """An archsmith strategy as a Ray Tune searcher over ``space``.

    See the module documentation for the config format, the history the strategy sees
    and the checkpoint format.

    Args:
        space: The search space.
        strategy: A registered strategy name (``"evolution"``, ``"bananas"``, ...) or a
            :class:`~archsmith.strategies.Strategy` built for ``space``.
        seed: Base seed; trial ``n`` proposes with ``np.random.default_rng([seed, n])``.
            ``None``: drawn once from the operating system (kept in checkpoints).
        metric: Name of the reported metric to optimise (or via ``TuneConfig``).
        mode: ``"max"`` or ``"min"`` (or via ``TuneConfig``).
        **strategy_config: Constructor arguments of the strategy (with a name only).

    Raises:
        ConfigError: an unknown strategy, a bad option, or a bad ``metric``/``mode``.
    """

    def __init__(
        self,
        space: SearchSpace,
        strategy: str | Strategy = "evolution",
        seed: int | None = None,
        metric: str | None = None,
        mode: str | None = None,
        **strategy_config: Any,
    ) -> None:
        if _MISSING is not None:
            import_engine("ray.tune", "ray", "ArchsmithSearcher")  # raises the ConfigError
        if not isinstance(space, SearchSpace):
            raise ConfigError(
                f"ArchsmithSearcher needs a SearchSpace (e.g. create_space('nb201')), got "
                f"{space!r}."
            )
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ConfigError(f"ArchsmithSearcher: seed must be an integer or None, got {seed!r}.")
        _check_metric_mode(metric, mode)
        super().__init__(metric=metric, mode=mode)
        self.space = space
        self.strategy = make_strategy(space, strategy, strategy_config)
        self.seed = int(np.random.SeedSequence().entropy % (2**63)) if seed is None else seed  # type: ignore[operator]
        self._trials: dict[int, TrialRecord] = {}
        self._numbers: dict[str, int] = {}
        self._next = 0

    # -- Searcher interface --------------------------------------------------------------
    def set_search_properties(
        self, metric: str | None, mode: str | None, config: dict[str, Any], **spec: Any
    ) -> bool:
        """Takes ``metric``/``mode`` from ``TuneConfig``; ``config`` must hold no domains.

        Raises:
            ConfigError: ``metric``/``mode`` conflict with the searcher's own, or
                ``config`` holds search domains (``tune.choice`` ...).
        """
        _check_metric_mode(metric, mode)
        for key, given, own in (("metric", metric, self._metric), ("mode", mode, self._mode)):
            if given and own and given != own:
                raise ConfigError(
                    f"TuneConfig sets {key}={given!r} but the ArchsmithSearcher was created "
                    f"with {key}={own!r}; give it in one place only."
                )
        domains = _domains(config)
        if domains:
            raise ConfigError(
                f"param_space holds search domain(s) at {domains}; ArchsmithSearcher "
                "proposes whole architectures and param_space may only hold fixed values. "
                "Put tunable choices into the archsmith space, or fix them."
            )
        self._metric = self._metric or metric
        self._mode = self._mode or mode
        return True

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        """Proposes an architecture: its active decisions plus ``"arch_hash"``."""
        if not self._metric or not self._mode:
            raise ConfigError(
                "ArchsmithSearcher has no metric/mode: pass metric=... and mode='max'|'min' "
                "to ArchsmithSearcher, or to tune.TuneConfig together with a non-empty "
                "param_space."
            )
        number = self._numbers.get(trial_id)
        if number is None:
            number = self._next
            history = [self._trials[n] for n in sorted(self._trials)]
            rng = np.random.default_rng([self.seed, number])
            arch = self.strategy.ask(history, 1, rng)[0]
            self._trials[number] = TrialRecord(number, arch, "running")
            self._numbers[trial_id] = number
            self._next += 1
        arch = self._trials[number].arch
        return {**arch.values, HASH_KEY: arch.hash}

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        """Records the trial as complete (finite metric) or failed and tells the strategy.

        A trial finished again (Tune re-running an errored trial) replaces its record in
        the history; the strategy is told each trial once.
        """
        number = self._numbers.get(trial_id)
        if number is None:
            return
        previous = self._trials[number]
        rec = self._record(number, previous.arch, result, error)
        self._trials[number] = rec
        if previous.state == "running":
            self.strategy.tell([rec])

    def add_evaluated_point(
        self,
        parameters: dict[str, Any],
        value: float,
        error: bool = False,
        pruned: bool = False,
        intermediate_values: list[float] | None = None,
    ) -> None:
        """Adds a result evaluated elsewhere (``parameters`` is a trial config)."""
        arch = config_to_architecture(self.space, parameters)
        number = self._next
        self._next += 1
        result = None if (error or pruned) else {str(self._metric): value}
        rec = self._record(number, arch, result, error or pruned)
        self._trials[number] = rec
        self.strategy.tell([rec])

    # -- checkpoints ----------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """The searcher state: bookkeeping as a JSON string and the strategy state."""
        meta = {
            "format": _FORMAT,
            "version": 1,
            "space": self.space.name,
            "space_config": jsonable(self.space.config()),
            "strategy": self.strategy.name,
            "strategy_config": jsonable(self.strategy.config()),
            "seed": self.seed,
            "metric": self._metric,
            "mode": self._mode,
            "next": self._next,
            "numbers": self._numbers,
            "trials": [
                {"number": r.number, "arch": r.arch.values, "state": r.state, "score": r.score,
                 "metrics": r.metrics}
                for r in (self._trials[n] for n in sorted(self._trials))
            ],
        }
        return {"format": _FORMAT, "meta": json.dumps(meta),
                "strategy_state": self.strategy.state_dict()}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restores :meth:`get_state` output.

        Raises:
            ConfigError: not a state of this searcher, or one of another space/strategy.
        """
        if not isinstance(state, dict) or state.get("format") != _FORMAT:
            raise ConfigError("Not an ArchsmithSearcher checkpoint (unknown format).")
        meta = json.loads(state["meta"])
        mine = {
            "space": self.space.name, "space_config": jsonable(self.space.config()),
            "strategy": self.strategy.name,
            "strategy_config": jsonable(self.strategy.config()),
        }
        diff = [f"{k}: saved {meta.get(k)!r}, now {v!r}" for k, v in mine.items()
                if meta.get(k) != v]
        if diff:
            raise ConfigError(
                "The checkpoint was written by an ArchsmithSearcher with another "
                f"configuration ({'; '.join(diff)}); create the searcher as it was."
            )
        trials: dict[int, TrialRecord] = {}
        for t in meta["trials"]:
            trials[int(t["number"])] = TrialRecord(
                int(t["number"]), self.space.make(t["arch"]), str(t["state"]),
                score=None if t["score"] is None else float(t["score"]),
                metrics={str(k): float(v) for k, v in t["metrics"].items()},
            )
        self.strategy.load_state_dict(state["strategy_state"])
        self.seed = int(meta["seed"])
        self._metric, self._mode = meta["metric"], meta["mode"]
        self._next = int(meta["next"])
        self._numbers = {str(k): int(v) for k, v in meta["numbers"].items()}
        self._trials = trials

    def save(self, checkpoint_path: str) -> None:
        """Writes the state with ``torch.save`` (JSON bookkeeping + strategy tensors)."""
        import torch

        torch.save(self.get_state(), checkpoint_path)

    def restore(self, checkpoint_path: str) -> None:
        """Reads :meth:`save` output with ``torch.load(weights_only=True)``.

        Raises:
            ConfigError: the file is not a checkpoint of an equally configured searcher.
        """
        import torch

        try:
            state = torch.load(checkpoint_path, weights_only=True)
        except Exception as e:
            raise ConfigError(
                f"{checkpoint_path} is not an ArchsmithSearcher checkpoint ({e})."
            ) from None
        self.set_state(state)

    # -- internals ------------------------------------------------------------------------
    @property
    def history(self) -> list[TrialRecord]:
        """Every trial so far, in order of proposal."""
        return [self._trials[n] for n in sorted(self._trials)]

    def _record(
        self, number: int, arch: Architecture, result: dict[str, Any] | None, error: bool
    ) -> TrialRecord:
        value = None if (error or not result) else result.get(str(self._metric))
        if isinstance(value, int | float) and not isinstance(value, bool) \
                and math.isfinite(float(value)):
            metrics = {
                str(k): float(v) for k, v in (result or {}).items()
                if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            }
            score = float(value) if self._mode == "max" else -float(value)
            return TrialRecord(number, arch, "complete", score=score, metrics=metrics)
        return TrialRecord(number, arch, "failed")


def _check_metric_mode(metric: Any, mode: Any) -> None:
    if metric is not None and not isinstance(metric, str):
        raise ConfigError(
            f"ArchsmithSearcher optimises one metric; metric must be a string, got {metric!r}."
        )
    if mode is not None and mode not in ("max", "min"):
        raise ConfigError(f"ArchsmithSearcher: mode must be 'max' or 'min', got {mode!r}.")


def _domains(config: Any, prefix: str = "") -> list[str]:
    """Keys of ``config`` (nested, dotted) whose values are Tune search domains."""
    from ray.tune.search.sample import Domain

    out: list[str] = []
    if isinstance(config, dict):
        for k, v in config.items():
            key = f"{prefix}{k}"
            if isinstance(v, Domain):
                out.append(key)
            else:
                out.extend(_domains(v, key + "."))
    return out
