"""The generator–critic strategy (``gc``): a learned generator filtered by a learned critic.

Each *round* (see :class:`GeneratorCritic`):

1. the critic (by default the ``gnn`` deep ensemble) is refit on every complete trial —
   warm-started from its previous weights, with a fresh fit now and then;
2. the generator proposes candidates: samples of an autoregressive policy plus
   mutations of the best architectures found so far (the whole one-edit neighbourhood
   of the best few, random one- and two-edit mutations of the elite) and a few uniform
   samples; candidates whose canonical hash was evaluated or is running are dropped;
3. the critic scores them with an acquisition rule that uses its uncertainty (Thompson
   sampling by default, UCB or expected improvement); the best ``round_size`` are queued.
   ``noise_weight`` > 0 adds a local measurement-noise variance
   (:func:`~archsmith.strategies._gc_generator.local_noise`; off by default;
   the selection step is :mod:`archsmith.strategies._gc_select`);
4. the generator is updated with a clipped (PPO-style) policy gradient and a learned
   value baseline: its samples are rewarded by the critic's judgement, evaluated
   architectures by their real scores, and the elite (the best architectures found) is
   replayed at every update so the policy does not forget it.

With several objectives every round scores the trials by a random scalarisation
(ParEGO; :mod:`archsmith.strategies._scalarise`). Figures against the other strategies:
``python benchmarks/gc_targets.py``, results in ``benchmarks/RESULTS.md``.

Everything is computed from the history passed to ``ask`` and from the strategy's
state (generator, critic, queue), which :meth:`GeneratorCritic.state_dict` holds in
full: a restored strategy proposes exactly what the original would.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from archsmith._checks import (
    check_integers,
    check_name,
    check_number,
    check_numbers,
    check_seed,
    check_table,
)
from archsmith._threads import single_thread
from archsmith.errors import ConfigError
from archsmith.strategies import STRATEGIES, _scalarise
from archsmith.strategies._acquisition import check_critic_and_acquisition
from archsmith.strategies._base import Strategy, TrialRecord
from archsmith.strategies._gc_generator import (
    Generator,
    elite,
    elite_edits,
    normal_rewards,
)
from archsmith.strategies._gc_select import reserved_count, select_candidates

if TYPE_CHECKING:
    from archsmith.critic import Predictor
    from archsmith.space import Architecture, SearchSpace

__all__ = ["DEFAULT_CRITIC_CONFIG", "GeneratorCritic"]

#: Critic settings used when ``critic_config`` is not given (small and fast).
DEFAULT_CRITIC_CONFIG: dict[str, dict[str, Any]] = {
    "gnn": {"ensemble": 3, "hidden": 32, "epochs": 60, "warm_epochs": 15},
    "mlp-ensemble": {"ensemble": 3, "epochs": 100, "warm_epochs": 20},
}
_ACQUISITIONS = ("ei", "ucb", "ts")


class GeneratorCritic(Strategy):
    """Generator–critic search (see the module docstring for one round).

    Until ``num_init`` trials are complete, proposals are uniform random architectures
    (the initial design). ``ask`` serves the queue of architectures the last round
    selected, skipping any that meanwhile appeared in the history (evaluated or
    running), and runs a new round when the queue is empty.

    Args:
        space: The search space.
        critic: Critic name (``"gnn"``, ``"mlp-ensemble"``, ``"gp"``).
        critic_config: Critic constructor arguments (default
            :data:`DEFAULT_CRITIC_CONFIG` for the critic).
        acquisition: ``"ts"`` (independent Thompson sampling: one draw from the
            critic's predictive distribution per candidate), ``"ucb"``
            (``mean + beta·std``) or ``"ei"`` (expected improvement over the best score).
        beta: UCB exploration weight.
        noise_weight: Weight of the local noise estimate in the acquisition's variance:
            the critic's ensemble variance plus ``noise_weight`` × the critic's squared
            residuals at measured architectures near the candidate (:func:`local_noise`),
            so the acquisition judges what a measurement may return, not only the
            mean's uncertainty (0: the ensemble variance alone).
        noise_length: Decisions changed per ``e``-fold drop of a measured
            architecture's weight in the local noise estimate.
        num_init: Random architectures before the critic is used.
        round_size: Architectures selected per round (1: a new round per proposal).
        policy_samples: Policy samples per round.
        num_parents: Elite architectures mutated per round.
        neighbourhood: The best this many architectures contribute their whole one-edit
            neighbourhood (:meth:`SearchSpace.neighbours`).
        mutations: Random mutations per parent (1..``max_edits`` edits each).
        max_edits: Maximum successive edits of a random mutation.
        num_random: Uniform random candidates per round.
        elite_size: Best architectures replayed in every generator update.
        real_weight: Weight of real scores relative to the critic's judgement in the
            generator update.
        ppo_epochs: Gradient steps per generator update.
        lr: Generator learning rate.
        clip: PPO clipping ``ε``.
        entropy_coef: Entropy bonus of the generator update.
        value_coef: Weight of the value baseline's loss.
        hidden: Policy size.
        tanh_c: Policy logits are squashed to ``tanh_c·tanh(logits)`` (``None``: raw), so
            the generator never becomes deterministic.
        refit_fraction: When more than ``1/refit_fraction`` results are complete, the
            critic is refit only once ``refit_fraction × complete`` new results arrived
            (saves time on long searches); below that, after every new result.
        full_refit_every: The critic is fit from scratch (instead of warm-started) once
            ``max(full_refit_every, full_refit_growth × n)`` new results arrived since
            the last fresh fit on ``n`` results.
        full_refit_growth: See ``full_refit_every``.
        cost_exponent: Cost-aware search (0: off): gains over the incumbent, in the
            acquisition and in the generator's rewards, are divided by the predicted cost
            per epoch to this power (:mod:`archsmith.strategies._cost_model`).
        cost_metric: The metric whose value per budget unit is the cost.
        inherit_exponent: With weight inheritance (``--inherit``): the gain of a
            candidate that will start from its named parent's weights (an edit of an
            elite trial, one move away: :func:`archsmith.transform.moves`) is
            divided by the fraction of a scratch trial's epochs it trains, to this
            power (:func:`~archsmith.strategies._cost_model.inherit_factor`; 0: off).
        inherit_share: With weight inheritance, once the history holds an inherited
            trial: the share of proposals reserved for named elite edits (the best of
            them by the acquisition), so that cheap inheriting children are tried
            however far the critic's other candidates reach (0: none reserved). The
            default 0.5 is the setting measured against gc from scratch over 24 seeds,
            18 of them unseen (benchmarks/RESULTS.md, issue 15). Without inheritance:
            no effect.
        seed: Seed of the policy's initial weights (``None``: from the first round's rng).

    Example:
        >>> import numpy as np
        >>> from archsmith.space import create_space
        >>> gc = GeneratorCritic(create_space("nb201"), num_init=2)
        >>> len(gc.ask([], 2, np.random.default_rng(0)))
        2
    """

    name = "gc"
    multi_objective = True  # by ParEGO's random scalarisations (strategies._scalarise)
    #: ``gc:ucb`` / ``gc:ts`` select the acquisition (see :func:`create_strategy`).
    variant_arg = "acquisition"

    def __init__(
        self,
        space: SearchSpace,
        critic: str = "gnn",
        critic_config: dict[str, Any] | None = None,
        acquisition: str = "ts",
        beta: float = 1.0,
        noise_weight: float = 0.0,
        noise_length: float = 1.0,
        num_init: int = 10,
        round_size: int = 1,
        policy_samples: int = 512,
        num_parents: int = 5,
        neighbourhood: int = 2,
        mutations: int = 10,
        max_edits: int = 2,
        num_random: int = 10,
        elite_size: int = 16,
        real_weight: float = 4.0,
        ppo_epochs: int = 4,
        lr: float = 0.02,
        clip: float = 0.2,
        entropy_coef: float = 0.01,
        value_coef: float = 0.5,
        hidden: int = 32,
        tanh_c: float | None = 2.5,
        refit_fraction: float = 0.01,
        full_refit_every: int = 10,
        full_refit_growth: float = 0.25,
        cost_exponent: float = 0.0,
        cost_metric: str = "train_seconds",
        inherit_exponent: float = 1.0,
        inherit_share: float = 0.5,
        seed: int | None = None,
    ) -> None:
        from archsmith.critic import create_critic

        super().__init__(space)
        acquisition = check_critic_and_acquisition("gc", critic, acquisition, _ACQUISITIONS)
        check_integers("gc", {
            "num_init": (num_init, 1), "round_size": (round_size, 1),
            "policy_samples": (policy_samples, 0), "num_parents": (num_parents, 0),
            "neighbourhood": (neighbourhood, 0), "mutations": (mutations, 0),
            "max_edits": (max_edits, 1), "num_random": (num_random, 0),
            "elite_size": (elite_size, 0), "ppo_epochs": (ppo_epochs, 0),
            "hidden": (hidden, 1), "full_refit_every": (full_refit_every, 1)})
        check_numbers("gc", {
            "beta": beta, "noise_weight": noise_weight, "noise_length": noise_length,
            "real_weight": real_weight, "lr": lr, "clip": clip, "entropy_coef": entropy_coef,
            "value_coef": value_coef, "refit_fraction": refit_fraction,
            "full_refit_growth": full_refit_growth, "tanh_c": tanh_c},
            positive=("noise_length", "lr", "clip", "tanh_c"), optional=("tanh_c",))
        if policy_samples + num_parents + num_random == 0:
            raise ConfigError("gc: policy_samples, num_parents and num_random are all 0; "
                              "give at least one source of candidates.")
        self.critic_name = critic
        self.critic_config = (dict(DEFAULT_CRITIC_CONFIG.get(critic, {})) if critic_config is None
                              else check_table("gc", "critic_config", critic_config))
        self.acquisition = acquisition
        self.beta = float(beta)
        self.noise_weight = float(noise_weight)
        self.noise_length = float(noise_length)
        self.num_init = num_init
        self.round_size = round_size
        self.policy_samples = policy_samples
        self.num_parents = num_parents
        self.neighbourhood = neighbourhood
        self.mutations = mutations
        self.max_edits = max_edits
        self.num_random = num_random
        self.elite_size = elite_size
        self.real_weight = float(real_weight)
        self.ppo_epochs = ppo_epochs
        self.lr = float(lr)
        self.clip = float(clip)
        self.entropy_coef = float(entropy_coef)
        self.value_coef = float(value_coef)
        self.hidden = hidden
        self.tanh_c = None if tanh_c is None else float(tanh_c)
        self.refit_fraction = float(refit_fraction)
        self.full_refit_every = full_refit_every
        self.full_refit_growth = float(full_refit_growth)
        self.cost_exponent = check_number("gc", "cost_exponent", cost_exponent, 0, 10)
        self.inherit_exponent = check_number("gc", "inherit_exponent", inherit_exponent, 0, 10)
        self.inherit_share = check_number("gc", "inherit_share", inherit_share, 0, 1)
        self.cost_metric = check_name("gc", "cost_metric", cost_metric)
        self.seed = check_seed("gc", seed)
        try:
            self.critic: Predictor = create_critic(critic, space, **self.critic_config)
        except TypeError as e:
            raise ConfigError(f"gc: invalid critic_config for critic {critic!r}: {e}.") from None
        self.generator: Generator | None = None
        self._fit_n = 0  # complete trials of the last critic fit (0: never fitted)
        self._full_n = 0  # complete trials of the last fresh fit
        self._queue: list[list[int]] = []
        self._queue_parents: list[int | None] = []  # the trial each was edited from
        self._served: dict[str, int] = {}  # the last ask's proposals → their parents
        self._learned: set[int] = set()  # trial numbers the generator has learned from
        self.rounds = 0
        self._rescored = False  # this ask's scores are a new scalarisation: refit
        # architectures by indices, so canonical hashes are computed once (not state)
        self._archs: dict[tuple[int, ...], Architecture] = {}
        self._parents: dict[str, int] = {}  # this round's elite edits → parent (--inherit)

    def _canon(self, arch: Architecture) -> Architecture:
        """The cached object equal to ``arch`` (its hash is computed once)."""
        hit = self._archs.get(arch.indices)
        if hit is None:
            if len(self._archs) >= 200_000:
                self._archs.clear()
            self._archs[arch.indices] = hit = arch
        return hit

    # -- ask ----------------------------------------------------------------------------
    def ask(
        self, history: Sequence[TrialRecord], n: int, rng: np.random.Generator
    ) -> list[Architecture]:
        with single_thread():
            return self._ask(history, n, rng)

    def _ask(
        self, history: Sequence[TrialRecord], n: int, rng: np.random.Generator
    ) -> list[Architecture]:
        from archsmith.strategies._bananas import random_fill

        # several objectives: a random scalarisation scores all; infeasible ones score lowest
        self._rescored = _scalarise.is_multi_objective(history)
        history = _scalarise.parego_scores(history, rng) if self._rescored else history
        history = _scalarise.penalise_infeasible(history)
        seen = {t.arch.hash for t in history}
        done = [t for t in history if t.complete]
        out: list[Architecture] = []
        self._served = {}
        while len(out) < n:
            while self._queue and len(out) < n:
                arch = self.space.from_indices(self._queue.pop(0))
                parent = self._queue_parents.pop(0) if self._queue_parents else None
                if arch.hash not in seen:
                    seen.add(arch.hash)
                    out.append(arch)
                    if parent is not None:
                        self._served[arch.hash] = parent
            if len(out) == n:
                break
            if len(done) < self.num_init or len({t.score for t in done}) < 2:
                out += random_fill(self.space, seen, n - len(out), rng)
                break
            picks = self._round(history, done, seen, max(self.round_size, n - len(out)), rng)
            if not picks:  # no unseen candidate: the space is (nearly) exhausted
                out += random_fill(self.space, seen, n - len(out), rng)
                break
            self._queue = [list(a.indices) for a in picks]
            self._queue_parents = [self._parents.get(a.hash) for a in picks]
        return out

    def parent_of(self, arch: Architecture) -> int | None:
        """The trial a proposal of the last ``ask`` was edited from (elite edits)."""
        return self._served.get(arch.hash)

    # -- one round ----------------------------------------------------------------------
    def _round(
        self, history: Sequence[TrialRecord], done: list[TrialRecord], seen: set[str],
        k: int, rng: np.random.Generator,
    ) -> list[Architecture]:
        gen = self._ensure_generator(rng)
        self._refit(done, rng)
        tgen = torch.Generator().manual_seed(int(rng.integers(2**63 - 1)))
        rows: list[list[int]] = []
        old_logp = torch.zeros(0)
        if self.policy_samples:
            rows, old_logp = gen.sample(self.policy_samples, tgen)
        sampled = [self._canon(self.space.from_indices(r)) for r in rows]
        pool = self._candidates(done, seen, sampled, rng)
        # one critic call for the pool, the policy's samples and the measured architectures
        by_hash: dict[str, Architecture] = {a.hash: a for a in pool}
        for a in [*sampled, *(t.arch for t in done)] if self.noise_weight else sampled:
            by_hash.setdefault(a.hash, a)
        keys = list(by_hash)
        mean, var = self.critic.predict([by_hash[h] for h in keys]) if keys else (
            np.zeros(0), np.zeros(0))
        pred = {h: (float(m), float(v)) for h, m, v in zip(keys, mean, var, strict=True)}
        reserve = 0  # named elite edits reserved this round (inherit_share)
        if self.inherit_share and any(t.parent is not None for t in done):
            reserve = reserved_count(self.rounds, self.inherit_share, k)
        picks = self._select(pool, pred, done, k, rng, reserve)
        self._train_generator(history, done, rows, old_logp, sampled, pred)
        self.rounds += 1
        return picks

    def _ensure_generator(self, rng: np.random.Generator) -> Generator:
        if self.generator is None:
            seed = self.seed if self.seed is not None else int(rng.integers(2**31 - 1))
            self.generator = self._new_generator(seed)
        return self.generator

    def _new_generator(self, seed: int) -> Generator:
        return Generator(self.space, seed, hidden=self.hidden, lr=self.lr, clip=self.clip,
                         entropy_coef=self.entropy_coef, value_coef=self.value_coef,
                         tanh_c=self.tanh_c)

    def _refit(self, done: list[TrialRecord], rng: np.random.Generator) -> None:
        n = len(done)
        new = n - self._fit_n
        if self._fit_n and new < max(1, int(self.refit_fraction * n)) and not self._rescored:
            return
        fresh = not self._fit_n or n - self._full_n >= max(
            self.full_refit_every, self.full_refit_growth * self._full_n)
        fit_rng = np.random.default_rng(int(rng.integers(2**63 - 1)))
        self.critic.fit([t.arch for t in done], _scalarise.critic_scores(done), rng=fit_rng,
                        warm_start=not fresh)
        self._fit_n = n
        if fresh:
            self._full_n = n

    def _candidates(
        self, done: list[TrialRecord], seen: set[str], sampled: list[Architecture],
        rng: np.random.Generator,
    ) -> list[Architecture]:
        """Unseen, distinct candidates: policy samples, elite mutations, random ones."""
        space, taken, pool = self.space, set(seen), []
        self._parents = {}

        def add(arch: Architecture, parent: TrialRecord | None = None) -> None:
            arch = self._canon(arch)
            if arch.hash not in taken:
                taken.add(arch.hash)
                pool.append(arch)
                if parent is not None:  # (the edit is one move from it)
                    self._parents[arch.hash] = parent.number

        for a in sampled:
            add(a)
        for a, p in elite_edits(space, done, self.neighbourhood, self.num_parents,
                                self.mutations, self.max_edits, rng):
            add(a, p)
        for _ in range(self.num_random):
            add(space.sample(rng))
        return pool

    def _select(
        self, pool: list[Architecture], pred: dict[str, tuple[float, float]],
        done: list[TrialRecord], k: int, rng: np.random.Generator, reserve: int = 0,
    ) -> list[Architecture]:
        return select_candidates(
            pool, pred, done, k, rng, acquisition=self.acquisition, beta=self.beta,
            noise_weight=self.noise_weight, noise_length=self.noise_length,
            parents=self._parents, cost_exponent=self.cost_exponent,
            cost_metric=self.cost_metric, inherit_exponent=self.inherit_exponent,
            reserve=reserve)

    def _train_generator(
        self, history: Sequence[TrialRecord], done: list[TrialRecord], rows: list[list[int]],
        old_logp: torch.Tensor, sampled: list[Architecture],
        pred: dict[str, tuple[float, float]],
    ) -> None:
        """One clipped policy-gradient update: critic-judged samples, real results, elite."""
        gen = self.generator
        assert gen is not None
        ref = np.array([float(t.score) for t in done])  # type: ignore[arg-type]
        real = {t.arch.hash: float(t.score) for t in done}  # type: ignore[arg-type]
        values = [real.get(a.hash, pred[a.hash][0]) for a in sampled]
        replay = [t for t in history if t.number not in self._learned and t.state != "running"]
        elite_numbers = {t.number for t in replay}
        replay += [t for t in elite(done, self.elite_size) if t.number not in elite_numbers]
        worst = float(ref.min())
        replay_values = [float(t.score) if t.complete else worst for t in replay]  # type: ignore[arg-type]
        if self.cost_exponent:  # the generator is rewarded per predicted cost too
            from archsmith.strategies._cost_model import per_cost, relative_costs

            archs = [*sampled, *(t.arch for t in replay), *(t.arch for t in done)]
            adj = per_cost(np.array([*values, *replay_values, *ref]), float(ref.max()),
                           relative_costs(archs, done, self.cost_metric), self.cost_exponent)
            n1, n2 = len(values), len(replay_values)
            values, replay_values, ref = list(adj[:n1]), list(adj[n1:n1 + n2]), adj[n1 + n2:]
        all_rows = [*rows, *(list(t.arch.indices) for t in replay)]
        if not all_rows or self.ppo_epochs == 0:
            self._learned.update(t.number for t in replay)
            return
        rewards = normal_rewards(ref, np.array(values + replay_values))
        replay_logp = gen.log_prob([list(t.arch.indices) for t in replay])
        logp = torch.cat([old_logp, replay_logp])
        weights = np.array([1.0] * len(rows) + [self.real_weight] * len(replay))
        gen.update(all_rows, logp, rewards, epochs=self.ppo_epochs,
                   weights=weights / weights.mean())
        self._learned.update(t.number for t in replay)

    # -- state --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "generator": None if self.generator is None else self.generator.state_dict(),
            "critic": self.critic.state_dict(),
            "fit_n": self._fit_n,
            "full_n": self._full_n,
            "queue": [list(q) for q in self._queue],
            "queue_parents": list(self._queue_parents),
            "learned": sorted(self._learned),
            "rounds": self.rounds,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not state:
            return
        gen_state = state.get("generator")
        if gen_state is None:
            self.generator = None
        else:
            self.generator = self._new_generator(int(gen_state["seed"]))
            self.generator.load_state_dict(gen_state)
        self.critic.load_state_dict(state.get("critic", {}))
        self._fit_n = int(state.get("fit_n", 0))
        self._full_n = int(state.get("full_n", 0))
        self._queue = [[int(i) for i in q] for q in state.get("queue", [])]
        self._queue_parents = [None if p is None else int(p) for p in
                               state.get("queue_parents", [None] * len(self._queue))]
        self._learned = {int(x) for x in state.get("learned", [])}
        self.rounds = int(state.get("rounds", 0))

    def config(self) -> dict[str, Any]:
        return {
            "critic": self.critic_name, "critic_config": dict(self.critic_config),
            "acquisition": self.acquisition, "beta": self.beta,
            "noise_weight": self.noise_weight, "noise_length": self.noise_length,
            "num_init": self.num_init,
            "round_size": self.round_size, "policy_samples": self.policy_samples,
            "num_parents": self.num_parents, "neighbourhood": self.neighbourhood,
            "mutations": self.mutations, "max_edits": self.max_edits,
            "num_random": self.num_random, "elite_size": self.elite_size,
            "real_weight": self.real_weight, "ppo_epochs": self.ppo_epochs, "lr": self.lr,
            "clip": self.clip, "entropy_coef": self.entropy_coef,
            "value_coef": self.value_coef, "hidden": self.hidden, "tanh_c": self.tanh_c,
            "refit_fraction": self.refit_fraction, "full_refit_every": self.full_refit_every,
            "full_refit_growth": self.full_refit_growth,
            "cost_exponent": self.cost_exponent, "cost_metric": self.cost_metric,
            "inherit_exponent": self.inherit_exponent,
            "inherit_share": self.inherit_share, "seed": self.seed,
        }


STRATEGIES.add(
    "gc",
    GeneratorCritic,
    help="Generator–critic search: a policy (PPO, value baseline, elite replay) proposes, "
    "a GNN-ensemble critic selects by Thompson sampling; mutations of the elite.",
)
