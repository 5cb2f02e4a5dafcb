"""Any archsmith strategy as an Optuna sampler (extra ``archsmith[optuna]``).

Optuna users keep their study, storage (in-memory, SQLite, PostgreSQL, journal),
dashboard, pruners and callbacks; the architecture of each trial comes from an
archsmith strategy (``evolution``, ``bananas``, ``reinforce``, ``gc``, ...).

The objective-function pattern::

    import optuna
    from archsmith.evaluators import create_benchmark
    from archsmith.integrations.optuna import (
        ArchsmithSampler, suggest_architecture, trial_architecture)

    bench = create_benchmark("nb201/cifar10")
    space = bench.default_space()

    def objective(trial: optuna.Trial) -> float:
        arch = suggest_architecture(trial, space)   # one suggest_categorical per decision
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)  # extra params are fine
        return bench.evaluate(arch).metrics["val_acc"]

    study = optuna.create_study(
        direction="maximize", storage="sqlite:///nas.db", study_name="nb201",
        sampler=ArchsmithSampler(space, "evolution", seed=0, population_size=20),
        load_if_exists=True)
    study.optimize(objective, n_trials=100)
    best = trial_architecture(study.best_trial, space)

How it works:

* The Optuna parameters are the space's decision names, each a
  ``CategoricalDistribution`` over the decision's choices. Conditional decisions that are
  inactive in an architecture are simply not suggested (``suggest_architecture`` walks
  the decisions in order and suggests the active ones only). An objective that suggests
  a decision itself must use exactly the decision's choices (Optuna refuses a different
  choice list under the same name).
* When a trial asks for its first parameter, :meth:`ArchsmithSampler.sample_relative`
  proposes a whole architecture with ``strategy.ask(history, 1, rng)``, where ``rng`` is
  ``np.random.default_rng([seed, trial.number])`` (as in the archsmith search driver) and
  ``history`` is built from the study's trials: complete → a complete record whose score
  is the value oriented by the study's direction (higher is better); running → pending;
  failed or pruned → failed. The proposal is stored in the trial's system attribute
  ``"archsmith:arch"``. Parameters that are not decisions (``lr`` above) are sampled by
  ``independent_sampler`` (default: Optuna's ``RandomSampler`` seeded with ``seed``).
* :meth:`ArchsmithSampler.after_trial` tells the strategy about each finished trial;
  trials finished by other processes sharing the storage are told before the next
  proposal.
* With ``save_state=True`` (default) the strategy's ``state_dict`` and the numbers of the
  trials it was told are stored in the study system attribute ``"archsmith:state"``
  after every tell (JSON, or ``torch.save`` + base64 when it holds tensors, read back with
  ``weights_only=True``; ``gc`` and ``reinforce`` store ~0.4-0.6 MB); an unseeded
  sampler's seed goes to ``"archsmith:seed"``. A sampler created later for the same
  study (a restart) restores that state and tells it the trials finished since, so with
  ``n_jobs=1`` a restarted study proposes exactly what an uninterrupted one would.
  States over ``max_state_chars`` (or that the storage refuses: MySQL's ``TEXT`` holds
  64 KB) are not stored, with a warning: a restarted sampler then tells a fresh strategy
  every finished trial in trial order, which restores history-based strategies
  (``random``, ``evolution``) exactly but retrains learned ones, whose weights and
  proposals then differ. Trials left ``RUNNING`` by a crash stay pending in the history
  (Optuna's heartbeat can fail them).

Determinism: with ``n_jobs=1`` the same seed, strategy and objective give the same
trials, and the same architectures as ``archsmith search`` with ``--workers 1`` and the
same seed and strategy. With ``n_jobs > 1`` or several processes the history each
proposal sees depends on timing.

Example:
    >>> import optuna
    >>> from archsmith.space import create_space
    >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
    >>> space = create_space("nb201")
    >>> sampler = ArchsmithSampler(space, "evolution", seed=0, population_size=4,
    ...                            sample_size=2)
    >>> study = optuna.create_study(direction="maximize", sampler=sampler)
    >>> def objective(trial):
    ...     arch = suggest_architecture(trial, space)
    ...     return sum(op == "nor_conv_3x3" for op in arch.values.values())
    >>> study.optimize(objective, n_trials=12)
    >>> len(study.trials), study.best_value >= 2
    (12, True)
    >>> trial_architecture(study.best_trial, space).space is space
    True
"""

from __future__ import annotations

import json
import math
import threading
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from archsmith.errors import ConfigError, SpaceError
from archsmith.integrations import (
    decode_state,
    encode_state,
    import_engine,
    jsonable,
    make_strategy,
)
from archsmith.space import Architecture, SearchSpace
from archsmith.strategies import Strategy, TrialRecord

optuna = import_engine("optuna", "optuna", "archsmith.integrations.optuna")

from optuna.distributions import BaseDistribution, CategoricalDistribution  # noqa: E402
from optuna.samplers import BaseSampler, RandomSampler  # noqa: E402
from optuna.study import StudyDirection  # noqa: E402
from optuna.trial import FrozenTrial, TrialState  # noqa: E402

if TYPE_CHECKING:
    from optuna.study import Study
    from optuna.trial import BaseTrial

__all__ = [
    "ARCH_ATTR",
    "SEED_ATTR",
    "STATE_ATTR",
    "ArchsmithSampler",
    "suggest_architecture",
    "trial_architecture",
]

#: Trial system attribute holding the proposed architecture (``{decision: value}``).
ARCH_ATTR = "archsmith:arch"
#: Study system attribute holding the strategy state (a JSON string).
STATE_ATTR = "archsmith:state"
#: Study system attribute holding the seed an unseeded sampler drew.
SEED_ATTR = "archsmith:seed"


def suggest_architecture(trial: BaseTrial, space: SearchSpace) -> Architecture:
    """Suggests an architecture of ``space`` in an objective function.

    Calls ``trial.suggest_categorical(name, choices)`` for every *active* decision, in
    decision order, so conditional decisions appear only when active. With an
    :class:`ArchsmithSampler` the values are the strategy's proposal; with any other
    sampler (or an ``optuna.trial.FixedTrial``) they are whatever it suggests.

    Raises:
        SpaceError: the suggested values form an invalid architecture (possible only with
            other samplers or enqueued trials, in spaces whose valid choices depend on
            earlier ones).

    Example:
        >>> from optuna.trial import FixedTrial
        >>> from archsmith.space import create_space
        >>> space = create_space("nb201")
        >>> arch = space.sample(np.random.default_rng(0))
        >>> suggest_architecture(FixedTrial(arch.values), space) == arch
        True
    """
    indices = [-1] * len(space.decisions)
    for i, d in enumerate(space.decisions):
        if not space.is_active(i, indices):
            continue
        value = trial.suggest_categorical(d.name, list(d.choices))  # type: ignore[arg-type]
        indices[i] = d.index(value)
    return space.from_indices(indices)


def trial_architecture(trial: FrozenTrial, space: SearchSpace) -> Architecture:
    """The architecture a finished (or running) trial evaluated.

    Read from the trial's parameters when they hold every active decision, else from the
    proposal stored by :class:`ArchsmithSampler`.

    Raises:
        ConfigError: the trial holds no architecture of ``space``.
    """
    arch = _arch_of(trial, space)
    if arch is None:
        raise ConfigError(
            f"Trial {trial.number} holds no architecture of space {space.name!r}: its "
            "objective must call suggest_architecture(trial, space) (parameters "
            f"{sorted(trial.params)})."
        )
    return arch


def _arch_of(trial: FrozenTrial, space: SearchSpace) -> Architecture | None:
    names = {d.name for d in space.decisions}
    params = {k: v for k, v in trial.params.items() if k in names}
    for values in (params, trial.system_attrs.get(ARCH_ATTR)):
        if isinstance(values, dict) and values:
            try:
                return space.make(values)
            except SpaceError:
                pass
    return None


class ArchsmithSampler(BaseSampler):
    """An archsmith strategy as an Optuna sampler over ``space``.

    See the module documentation for the objective-function pattern, the history the
    strategy sees and what is stored in the study.

    Args:
        space: The search space (its decisions are the Optuna parameters).
        strategy: A registered strategy name (``"evolution"``, ``"optuna:tpe"``, ...) or a
            :class:`~archsmith.strategies.Strategy` built for ``space``.
        seed: Base seed; trial ``n`` proposes with ``np.random.default_rng([seed, n])``.
            ``None``: reuse the seed stored in the study, else draw one from the
            operating system and store it.
        independent_sampler: Sampler of parameters that are not decisions of ``space``
            (default ``optuna.samplers.RandomSampler(seed=seed)``).
        save_state: Store the strategy state in the study after every tell (and restore
            it when a sampler attaches to a study that holds one).
        max_state_chars: Larger states are not stored (a warning says so once).
        **strategy_config: Constructor arguments of the strategy (with a name only).

    Raises:
        ConfigError: an unknown strategy or bad option; a multi-objective study; one
            sampler used with two studies.
    """

    def __init__(
        self,
        space: SearchSpace,
        strategy: str | Strategy = "evolution",
        seed: int | None = None,
        *,
        independent_sampler: BaseSampler | None = None,
        save_state: bool = True,
        max_state_chars: int = 1_000_000,
        **strategy_config: Any,
    ) -> None:
        if not isinstance(space, SearchSpace):
            raise ConfigError(
                f"ArchsmithSampler needs a SearchSpace (e.g. create_space('nb201')), got "
                f"{space!r}."
            )
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ConfigError(f"ArchsmithSampler: seed must be an integer or None, got {seed!r}.")
        if isinstance(max_state_chars, bool) or not isinstance(max_state_chars, int):
            raise ConfigError(
                f"ArchsmithSampler: max_state_chars must be an integer, got {max_state_chars!r}."
            )
        self.space = space
        self.strategy = make_strategy(space, strategy, strategy_config)
        self.seed = seed
        self.save_state = bool(save_state)
        self.max_state_chars = max_state_chars
        self._independent = (
            independent_sampler if independent_sampler is not None else RandomSampler(seed=seed)
        )
        self._dists: dict[str, BaseDistribution] = {
            d.name: CategoricalDistribution(d.choices) for d in space.decisions
        }
        self._seed: int | None = seed
        self._study_name: str | None = None
        self._maximize = True
        self._told: set[int] = set()
        self._finished: dict[int, TrialRecord] = {}
        self._proposals: dict[int, Architecture] = {}
        self._save_off = False
        self._lock = threading.RLock()

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    def __str__(self) -> str:
        return f"ArchsmithSampler({self.strategy.name})"

    # -- Optuna sampler interface --------------------------------------------------------
    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        """Every decision of the space, as a categorical distribution over its choices."""
        return dict(self._dists)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        """Proposes the trial's architecture; returns its active decisions' values."""
        if not search_space:
            return {}
        with self._lock:
            self._attach(study)
            arch = self._propose(study, trial)
        return {k: v for k, v in arch.values.items() if k in search_space}

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        """Non-decision parameters: the independent sampler.

        A decision the proposal left inactive but the objective suggests anyway (e.g.
        after an enqueued trial fixed a parent decision) gets a valid choice drawn with
        ``default_rng([seed, trial.number, position + 1])``.
        """
        if param_name in self._dists and isinstance(param_distribution, CategoricalDistribution):
            with self._lock:
                self._attach(study)
                value = self._complete(trial, param_name, param_distribution)
            if value is not None:
                return value[0]
        return self._independent.sample_independent(
            study, trial, param_name, param_distribution
        )

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._independent.before_trial(study, trial)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        """Tells the strategy about the finished trial and stores its state."""
        self._independent.after_trial(study, trial, state, values)
        with self._lock:
            self._proposals.pop(trial.number, None)
            try:
                self._attach(study)
            except ConfigError:
                return  # already raised to the user by the objective's first suggest
            if trial.number in self._told:
                return
            rec = self._record(trial, state, values)
            if rec is not None and rec.state != "running":
                self._tell(study, [rec])

    def reseed_rng(self) -> None:
        """Proposals use a generator per trial number; only the independent sampler reseeds."""
        self._independent.reseed_rng()

    # -- internals ----------------------------------------------------------------------
    def _attach(self, study: Study) -> None:
        """Binds the sampler to ``study`` on first use and restores a stored state."""
        if self._study_name is not None:
            if study.study_name != self._study_name:
                raise ConfigError(
                    f"This ArchsmithSampler serves study {self._study_name!r} and cannot "
                    f"also serve {study.study_name!r}; create one sampler per study."
                )
            return
        if len(study.directions) != 1:
            raise ConfigError(
                "ArchsmithSampler needs a single-objective study (archsmith strategies rank "
                f"by one score); this study has {len(study.directions)} directions."
            )
        self._maximize = study.direction == StudyDirection.MAXIMIZE
        attrs = study._storage.get_study_system_attrs(study._study_id)
        if self._seed is None:
            stored = attrs.get(SEED_ATTR)
            if isinstance(stored, int) and not isinstance(stored, bool):
                self._seed = stored
            else:
                self._seed = int(np.random.SeedSequence().entropy % (2**63))  # type: ignore[operator]
                self._write(study, SEED_ATTR, self._seed)
        saved = attrs.get(STATE_ATTR)
        if self.save_state and isinstance(saved, str):
            self._restore(saved)
        self._study_name = study.study_name

    def _restore(self, saved: str) -> None:
        try:
            data = json.loads(saved)
            mine = (self.space.name, self.strategy.name, jsonable(self.strategy.config()))
            theirs = (data.get("space"), data.get("strategy"), data.get("config"))
            if theirs != mine:
                raise ValueError(f"it belongs to {theirs}, this sampler runs {mine}")
            self.strategy.load_state_dict(decode_state(data["state"]))
            self._told = {int(n) for n in data.get("told", [])}
        except (ValueError, KeyError, TypeError, ConfigError) as e:
            warnings.warn(
                f"Ignoring the archsmith strategy state stored in the study ({e}); starting "
                "the strategy afresh and telling it every finished trial.",
                stacklevel=4,
            )

    def _propose(self, study: Study, trial: FrozenTrial) -> Architecture:
        cached = self._proposals.get(trial.number)
        if cached is not None:
            return cached
        history = self._history(study, exclude=trial.number)
        late = [r for r in history if r.state != "running" and r.number not in self._told]
        if late:  # finished by another process, or before a restart
            self._tell(study, late)
        rng = np.random.default_rng([int(self._seed or 0), trial.number])
        arch = self.strategy.ask(history, 1, rng)[0]
        self._proposals[trial.number] = arch
        study._storage.set_trial_system_attr(trial._trial_id, ARCH_ATTR, arch.values)
        return arch

    def _history(self, study: Study, exclude: int) -> list[TrialRecord]:
        out: list[TrialRecord] = []
        trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
        for t in trials:
            if t.number == exclude:
                continue
            rec = self._finished.get(t.number)
            if rec is None:
                rec = self._record(t, t.state, t.values)
                if rec is None:
                    continue
                if rec.state != "running":
                    self._finished[t.number] = rec
            out.append(rec)
        return out

    def _record(
        self, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> TrialRecord | None:
        if state == TrialState.WAITING:
            return None
        arch = _arch_of(trial, self.space)
        if arch is None:
            return None
        if state == TrialState.RUNNING:
            return TrialRecord(trial.number, arch, "running")
        if state == TrialState.COMPLETE and values and values[0] is not None:
            value = float(values[0])
            if math.isfinite(value):
                metrics = {
                    k: float(v) for k, v in trial.user_attrs.items()
                    if isinstance(v, int | float) and not isinstance(v, bool)
                }
                metrics["value"] = value
                score = value if self._maximize else -value
                return TrialRecord(trial.number, arch, "complete", score=score, metrics=metrics)
        return TrialRecord(trial.number, arch, "failed")

    def _tell(self, study: Study, records: list[TrialRecord]) -> None:
        self.strategy.tell(records)
        self._told.update(r.number for r in records)
        self._save(study)

    def _save(self, study: Study) -> None:
        if not self.save_state or self._save_off:
            return
        payload = json.dumps({
            "version": 1,
            "space": self.space.name,
            "strategy": self.strategy.name,
            "config": jsonable(self.strategy.config()),
            "seed": self._seed,
            "told": sorted(self._told),
            "state": encode_state(self.strategy.state_dict()),
        })
        if len(payload) > self.max_state_chars:
            self._save_off = True
            warnings.warn(
                f"The {self.strategy.name!r} strategy state ({len(payload)} characters) "
                f"exceeds max_state_chars={self.max_state_chars} and is not stored in the "
                "study; after a restart the strategy is rebuilt by telling it the finished "
                "trials (learned weights are retrained, not restored). Raise "
                "max_state_chars if your storage holds larger values.",
                stacklevel=3,
            )
            return
        self._write(study, STATE_ATTR, payload)

    def _write(self, study: Study, key: str, value: Any) -> None:
        try:
            study._storage.set_study_system_attr(study._study_id, key, value)
        except Exception as e:  # e.g. a column too small in MySQL: keep optimising
            self._save_off = True
            warnings.warn(
                f"Could not store {key!r} in the study ({type(e).__name__}: {e}); the "
                "archsmith strategy state will not survive a restart.",
                stacklevel=3,
            )

    def _complete(
        self, trial: FrozenTrial, name: str, dist: CategoricalDistribution
    ) -> tuple[Any] | None:
        """A valid value of decision ``name`` given the trial's earlier parameters."""
        i = self.space.position(name)
        decs = self.space.decisions
        indices = [-1] * len(decs)
        for j in range(i):
            if decs[j].name in trial.params:
                try:
                    indices[j] = decs[j].index(trial.params[decs[j].name])
                except SpaceError:
                    return None
        mask = self.space.choice_mask(i, indices)
        allowed = {json.dumps(c) for c in dist.choices}
        valid = [c for c in np.flatnonzero(mask) if json.dumps(decs[i].choices[c]) in allowed]
        if not valid:
            return None
        rng = np.random.default_rng([int(self._seed or 0), trial.number, i + 1])
        return (decs[i].choices[int(valid[int(rng.integers(len(valid)))])],)
