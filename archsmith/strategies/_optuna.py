"""Optuna samplers as archsmith strategies (``optuna:tpe``, ``optuna:gp``, …).

The space's decision sequence becomes Optuna parameters: every *active* decision is one
``suggest_categorical`` over its choice indices, in decision order, so conditional
decisions appear only in the trials where they are active (as Optuna's define-by-run
search spaces do). Decisions whose valid choices depend on earlier ones
(:meth:`SearchSpace.choice_mask`) are suggested under a name that includes the valid
indices (``"op_3[0,2,4]"``), one Optuna parameter per context.

Optuna is an optional dependency (``pip install "archsmith[optuna]"``), imported on
first use.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from archsmith._checks import check_integers, check_name, check_seed, check_table
from archsmith.errors import ConfigError
from archsmith.strategies import STRATEGIES
from archsmith.strategies._base import Strategy, TrialRecord

if TYPE_CHECKING:
    from archsmith.space import Architecture, SearchSpace

__all__ = ["SAMPLERS", "OptunaStrategy"]

#: Short sampler names → ``optuna.samplers`` class names (all used with their defaults).
SAMPLERS: dict[str, str] = {
    "tpe": "TPESampler",
    "random": "RandomSampler",
    "gp": "GPSampler",
    "qmc": "QMCSampler",
    "nsga2": "NSGAIISampler",
    "nsga3": "NSGAIIISampler",
    "bruteforce": "BruteForceSampler",
}
_NOT_SUPPORTED = {
    "cmaes": "CMA-ES samples continuous parameters only; archsmith decisions are "
    "categorical, so Optuna would fall back to random sampling for every decision",
    "grid": "the grid sampler needs the whole grid up front; use 'optuna:bruteforce', "
    "which enumerates a finite space, instead",
}


def _import_optuna() -> Any:
    from archsmith._lazy import optional_import

    return optional_import("optuna", "optuna", "The 'optuna' strategies")


@contextlib.contextmanager
def _quiet(optuna: Any) -> Iterator[None]:
    """Silences Optuna's INFO logs and its (experimental / independent-sampling) warnings."""
    old = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        optuna.logging.set_verbosity(old)


class OptunaStrategy(Strategy):
    """Runs an Optuna sampler over the space's decisions (in-memory study, maximised).

    Each ``ask`` creates Optuna trials with ``study.ask()``; they stay ``RUNNING`` until
    the matching result is told, so samplers see pending trials as they do natively
    (TPE's constant liar). Failed trials are told as ``FAIL``. Results in the history
    that the study has not been told (e.g. from before a strategy switch) are added as
    finished trials before sampling.

    Optuna may propose an architecture already tried (or one whose canonical hash was
    tried); it is returned as proposed (the search answers it from storage) and counted
    in :attr:`repeats`.

    Determinism: the sampler is re-created before every proposal, seeded from
    ``(seed, number of trials in the study)``; ``seed`` is the constructor's or, when
    ``None``, drawn from the first ``ask``'s generator. :meth:`state_dict` stores the
    finished trials (parameters, value/state, system attributes) and the seed;
    :meth:`load_state_dict` replays them into a fresh study, so a restored strategy
    proposes exactly what the original would.

    Args:
        space: The search space.
        sampler: Short sampler name, one of :data:`SAMPLERS` (``tpe``, ``random``,
            ``gp``, ``qmc``, ``nsga2``, ``nsga3``, ``bruteforce``).
        seed: Base seed of the sampler (``None``: drawn from the first ``ask`` rng).
        sampler_options: Extra keyword arguments of the Optuna sampler class (default:
            none, i.e. the sampler's defaults).
        objectives: Number of objectives (a search with several sets it); the study has
            one ``"maximize"`` direction per objective from the start.

    Raises:
        ConfigError: unknown sampler, or Optuna is not installed.

    Example:
        >>> import numpy as np
        >>> from archsmith.space import create_space
        >>> from archsmith.strategies import create_strategy
        >>> s = create_strategy("optuna:random", create_space("nb201"))
        >>> a = s.ask([], 2, np.random.default_rng(0))
        >>> s.tell([TrialRecord(0, a[0], "complete", score=90.0),
        ...         TrialRecord(1, a[1], "failed")])
        >>> [t.state.name for t in s.study.trials]
        ['COMPLETE', 'FAIL']
    """

    name = "optuna"
    #: ``create_strategy("optuna:<sampler>", space)`` passes ``sampler=<sampler>``.
    variant_arg = "sampler"
    #: Several objectives make a study with one ``"maximize"`` direction per objective
    #: (created at the first result that holds them); constraints are told as Optuna's
    #: (``"constraints"`` system attribute: the trial's violation; ≤ 0 is feasible),
    #: which NSGA-II/TPE use for constrained domination.
    multi_objective = True

    def __init__(
        self,
        space: SearchSpace,
        sampler: str = "tpe",
        seed: int | None = None,
        sampler_options: dict[str, Any] | None = None,
        objectives: int = 1,
    ) -> None:
        super().__init__(space)
        check_name("optuna", "sampler", sampler)
        check_seed("optuna", seed)
        check_integers("optuna", {"objectives": (objectives, 1)})
        if sampler in _NOT_SUPPORTED:
            raise ConfigError(
                f"optuna: sampler {sampler!r} is not supported ({_NOT_SUPPORTED[sampler]}). "
                f"Valid samplers: {', '.join(SAMPLERS)}."
            )
        if sampler not in SAMPLERS:
            raise ConfigError(
                f"optuna: unknown sampler {sampler!r}. Valid samplers: "
                f"{', '.join(SAMPLERS)} (use e.g. --strategy optuna:tpe)."
            )
        self.optuna = _import_optuna()
        self.sampler_name = sampler
        self.sampler_options = check_table("optuna", "sampler_options", sampler_options)
        self._sampler_cls = getattr(self.optuna.samplers, SAMPLERS[sampler])
        self._check_options()
        self.seed = seed
        self._base_seed: int | None = seed
        self._pending: dict[tuple[int, ...], list[int]] = {}
        self._told: set[int] = set()
        #: Multi-fidelity searches: ``number → {params, choices, rungs, top, failed}``;
        #: the study is rebuilt from it (a promoted trial's result replaces its earlier one).
        self._mf: dict[int, dict[str, Any]] = {}
        self._mf_dirty = False
        #: Trials asked so far (seeds the sampler in multi-fidelity searches, whose
        #: rebuilt study no longer holds the running trials).
        self._asks = 0
        #: Proposals whose hash was already in the history or proposed before.
        self.repeats = 0
        self.objectives = objectives
        self._n_obj = objectives
        self.study = self._new_study()

    # -- study plumbing -----------------------------------------------------------------
    def _check_options(self) -> None:
        try:
            with _quiet(self.optuna):
                self._make_sampler(0)
        except TypeError as e:
            raise ConfigError(
                f"optuna: invalid sampler_options for {SAMPLERS[self.sampler_name]}: {e}."
            ) from None

    def _make_sampler(self, seed: int) -> Any:
        return self._sampler_cls(seed=seed, **self.sampler_options)

    def _fresh_sampler(self, n_trials: int) -> Any:
        """A sampler seeded from ``(seed, n_trials)``.

        Caches that are pure functions of the study's trials (TPE's intersection search
        space) are carried over from the previous sampler: they only save time, a
        restored strategy recomputes the same values.
        """
        new = self._make_sampler(self._sampler_seed(n_trials))
        old = self.study.sampler
        if type(old) is type(new) and hasattr(old, "_search_space"):
            new._search_space = old._search_space
        return new

    def _new_study(self) -> Any:
        with _quiet(self.optuna):
            return self.optuna.create_study(
                directions=["maximize"] * self._n_obj, sampler=self._make_sampler(0)
            )

    def _use_objectives(self, k: int) -> None:
        """Re-creates the study for ``k`` objectives (at the first result with ``k``);
        its failed trials are kept, trials asked and not told are forgotten."""
        if k == self._n_obj:
            return
        ts = self.optuna.trial.TrialState
        old = self.study.get_trials(deepcopy=False, states=(ts.FAIL,))
        self._n_obj = k
        self.study = self._new_study()
        with _quiet(self.optuna):
            for t in old:
                self.study.add_trial(self.optuna.trial.create_trial(
                    state=ts.FAIL, params=t.params, distributions=t.distributions,
                    system_attrs=t.system_attrs))
        self._pending = {}

    def _sampler_seed(self, n_trials: int) -> int:
        assert self._base_seed is not None
        if self.sampler_name == "qmc":  # one scrambling for the whole sequence
            return self._base_seed
        ss = np.random.SeedSequence([self._base_seed, n_trials])
        return int(ss.generate_state(1)[0])

    def _param(self, i: int, prefix: list[int]) -> tuple[str, tuple[int, ...]]:
        """Optuna parameter name and choices of decision ``i`` after ``prefix``."""
        d = self.space.decisions[i]
        mask = self.space.choice_mask(i, prefix)
        if bool(mask.all()):
            return d.name, tuple(range(d.size))
        valid = tuple(int(c) for c in np.flatnonzero(mask))
        return f"{d.name}[{','.join(map(str, valid))}]", valid

    def _params_of(self, arch: Architecture) -> tuple[dict[str, int], dict[str, Any]]:
        dist_cls = self.optuna.distributions.CategoricalDistribution
        params: dict[str, int] = {}
        dists: dict[str, Any] = {}
        prefix = [-1] * len(self.space.decisions)
        for i, idx in enumerate(arch.indices):
            if idx >= 0:
                name, choices = self._param(i, prefix)
                params[name] = int(idx)
                dists[name] = dist_cls(choices)
            prefix[i] = idx
        return params, dists

    # -- ask / tell ---------------------------------------------------------------------
    def ask(
        self, history: Sequence[TrialRecord], n: int, rng: np.random.Generator
    ) -> list[Architecture]:
        try:
            return self._ask(history, n, rng)
        except (TypeError, ValueError) as e:
            if not self.sampler_options:
                raise
            raise ConfigError(
                f"optuna: the {SAMPLERS[self.sampler_name]} failed with sampler_options "
                f"{self.sampler_options}: {type(e).__name__}: {e}. Check their types."
            ) from None

    def _ask(
        self, history: Sequence[TrialRecord], n: int, rng: np.random.Generator
    ) -> list[Architecture]:
        if self._base_seed is None:
            self._base_seed = int(rng.integers(2**31 - 1))
        self._sync(history)
        if self._mf_dirty:
            self._rebuild_mf()
        seen = {t.arch.hash for t in history}
        out: list[Architecture] = []
        with _quiet(self.optuna):
            for _ in range(n):
                # a rebuilt study (multi-fidelity, or a first result with more objectives
                # than expected) no longer holds the running trials: count the asks
                n_trials = self._asks if self._mf or self._n_obj != self.objectives \
                    else len(self.study.get_trials(deepcopy=False))
                self._asks += 1
                self.study.sampler = self._fresh_sampler(n_trials)
                trial = self.study.ask()
                idx = [-1] * len(self.space.decisions)
                for i in range(len(idx)):
                    if not self.space.is_active(i, idx):
                        continue
                    name, choices = self._param(i, idx)
                    idx[i] = int(trial.suggest_categorical(name, choices))
                arch = self.space.from_indices(idx)
                self._pending.setdefault(arch.indices, []).append(trial.number)
                if arch.hash in seen:
                    self.repeats += 1
                seen.add(arch.hash)
                out.append(arch)
        return out

    def _sync(self, history: Sequence[TrialRecord]) -> None:
        missing = [t for t in history if t.state != "running" and t.number not in self._told]
        if missing:
            self.tell(missing)

    # -- multi-fidelity: rung results reported as Optuna's pruners see them ----------------
    def _tell_rungs(self, rec: TrialRecord) -> None:
        """Records a trial of a multi-fidelity search: each rung an intermediate value
        (``trial.report(value, step=budget)``), fully trained ones ``COMPLETE`` with their
        top value, the others ``PRUNED`` — so TPE ranks them as it does under an Optuna
        pruner. A later rung of the same trial replaces its entry."""
        params, dists = self._params_of(rec.arch)
        top = rec.budget is not None and rec.budget == rec.max_budget
        self._mf[rec.number] = {
            "params": params, "choices": {k: list(d.choices) for k, d in dists.items()},
            "rungs": {str(b): float(v) for b, v in sorted(rec.rungs.items())},
            "top": bool(top and rec.complete), "failed": not rec.rungs,
        }
        self._pop_pending(rec.arch)  # the asked trial is dropped with the next rebuild
        self._mf_dirty = True

    def _pop_pending(self, arch: Architecture) -> int | None:
        """The number of the oldest asked, untold study trial that proposed ``arch``."""
        queue = self._pending.get(arch.indices)
        if not queue:
            return None
        number = queue.pop(0)
        if not queue:
            del self._pending[arch.indices]
        return number

    def _rebuild_mf(self) -> None:
        ts = self.optuna.trial.TrialState
        dist_cls = self.optuna.distributions.CategoricalDistribution
        storage = self.study._storage
        attrs = _jsonable(storage.get_study_system_attrs(self.study._study_id))
        self.study = self._new_study()
        with _quiet(self.optuna):
            for n in sorted(self._mf):
                e = self._mf[n]
                steps = {int(b): v for b, v in e["rungs"].items()}
                state = ts.FAIL if e["failed"] else ts.COMPLETE if e["top"] else ts.PRUNED
                self.study.add_trial(self.optuna.trial.create_trial(
                    state=state, value=steps[max(steps)] if state == ts.COMPLETE else None,
                    intermediate_values=steps,
                    params=e["params"],
                    distributions={k: dist_cls(tuple(v)) for k, v in e["choices"].items()},
                ))
            for k, v in attrs.items():
                self.study._storage.set_study_system_attr(self.study._study_id, k, v)
        self._pending = {}
        self._mf_dirty = False

    def tell(self, results: Sequence[TrialRecord]) -> None:
        ts = self.optuna.trial.TrialState
        with _quiet(self.optuna):
            for rec in results:
                if rec.state != "running" and rec.max_budget is not None:
                    self._told.add(rec.number)
                    self._tell_rungs(rec)
                    continue
                if rec.state == "running" or rec.number in self._told:
                    continue
                self._told.add(rec.number)
                values = rec.objective_values if rec.state == "complete" else None
                if values is not None:
                    self._use_objectives(len(values))
                ok = values is not None
                attrs = {} if rec.feasible else {"constraints": [float(rec.violation)]}
                number = self._pop_pending(rec.arch)
                if number is not None:
                    if attrs:
                        tid = self.study._storage.get_trial_id_from_study_id_trial_number(
                            self.study._study_id, number)
                        self.study._storage.set_trial_system_attr(
                            tid, "constraints", attrs["constraints"])
                    if values is not None:
                        self.study.tell(number, list(values) if self._n_obj > 1
                                        else values[0])
                    else:
                        self.study.tell(number, state=ts.FAIL)
                else:  # a result the study did not propose
                    params, dists = self._params_of(rec.arch)
                    self.study.add_trial(self.optuna.trial.create_trial(
                        state=ts.COMPLETE if ok else ts.FAIL,
                        values=list(values) if ok else None,  # type: ignore[arg-type]
                        params=params, distributions=dists, system_attrs=attrs,
                    ))

    # -- state --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        ts = self.optuna.trial.TrialState
        trials = []
        for t in self.study.get_trials(deepcopy=False, states=(ts.COMPLETE, ts.FAIL)):
            trials.append({
                "params": {k: int(v) for k, v in t.params.items()},
                "choices": {k: [int(c) for c in d.choices] for k, d in t.distributions.items()},
                "value": None if t.values is None else float(t.values[0]),
                "values": None if t.values is None else [float(v) for v in t.values],
                "failed": t.state == ts.FAIL,
                "system_attrs": _jsonable(t.system_attrs),
            })
        storage = self.study._storage
        return {
            "seed": self._base_seed,
            "objectives": self._n_obj,
            "trials": trials,
            "told": sorted(self._told),
            "repeats": self.repeats,
            "mf": {str(n): e for n, e in self._mf.items()},
            "asks": self._asks,
            "study_system_attrs": _jsonable(
                storage.get_study_system_attrs(self.study._study_id)
            ),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        ts = self.optuna.trial.TrialState
        dist_cls = self.optuna.distributions.CategoricalDistribution
        seed = state.get("seed")
        self._base_seed = None if seed is None else int(seed)
        self._told = {int(x) for x in state.get("told", [])}
        self.repeats = int(state.get("repeats", 0))
        self._pending = {}
        self._n_obj = int(state.get("objectives", 1))
        self.study = self._new_study()
        with _quiet(self.optuna):
            for t in state.get("trials", []):
                dists = {k: dist_cls(tuple(int(c) for c in v)) for k, v in t["choices"].items()}
                self.study.add_trial(self.optuna.trial.create_trial(
                    state=ts.FAIL if t["failed"] else ts.COMPLETE,
                    values=None if t["failed"] else t.get("values") or [t["value"]],
                    params={k: int(v) for k, v in t["params"].items()},
                    distributions=dists,
                    system_attrs=dict(t.get("system_attrs", {})),
                ))
            storage = self.study._storage
            for k, v in state.get("study_system_attrs", {}).items():
                storage.set_study_system_attr(self.study._study_id, k, v)
        self._mf = {int(n): dict(e) for n, e in state.get("mf", {}).items()}
        self._asks = int(state.get("asks", len(state.get("trials", []))))
        if self._mf:
            self._rebuild_mf()

    def config(self) -> dict[str, Any]:
        return {
            "sampler": self.sampler_name,
            "seed": self.seed,
            "sampler_options": self.sampler_options,
            **({"objectives": self.objectives} if self.objectives > 1 else {}),
        }


def _jsonable(attrs: dict[str, Any]) -> dict[str, Any]:
    """The JSON-serialisable entries of an Optuna attribute dict (JSON round-tripped)."""
    out: dict[str, Any] = {}
    for k, v in attrs.items():
        try:
            out[k] = json.loads(json.dumps(v))
        except (TypeError, ValueError):
            continue
    return out


STRATEGIES.add(
    "optuna",
    OptunaStrategy,
    help="An Optuna sampler over the decision sequence: optuna:tpe, optuna:random, "
    "optuna:gp, optuna:qmc, optuna:nsga2, optuna:nsga3, optuna:bruteforce (needs the optuna "
    "extra).",
)
