"""The generator of the ``gc`` strategy: a policy trained by clipped policy gradient.

:class:`Generator` wraps the autoregressive :class:`~archsmith.strategies._policy.Policy`
with a learned value baseline and a PPO-style update (Schulman et al. 2017). The
"environment" is one step long — an episode emits one architecture and receives one
reward — so the value of the (single) start state is one learned scalar, fitted by
squared error next to the policy; the advantage of an architecture is its reward minus
that value.

Rewards are scale-free (:func:`normal_rewards`): a score is replaced by the normal score
of its mid-rank among the complete scores of the search, so the same settings work on
accuracies in percent (NAS-Bench-201) and in fractions (NAS-Bench-Graph).

Example:
    >>> import numpy as np, torch
    >>> from archsmith.space import create_space
    >>> space = create_space("nb201")
    >>> gen = Generator(space, seed=0)
    >>> rows, logp = gen.sample(8, torch.Generator().manual_seed(0))
    >>> stats = gen.update(rows, logp, np.linspace(-1.0, 1.0, 8), epochs=2)
    >>> sorted(stats)
    ['entropy', 'value']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from archsmith._threads import single_thread
from archsmith.space import SearchSpace
from archsmith.strategies._policy import Policy, build_policy

if TYPE_CHECKING:
    from archsmith.space import Architecture
    from archsmith.strategies._base import TrialRecord

__all__ = ["Generator", "elite", "elite_edits", "local_noise", "normal_rewards",
           "reserved_first"]


def elite(done: Sequence[TrialRecord], k: int) -> list[TrialRecord]:
    """The ``k`` best complete trials with distinct hashes (earliest first among ties)."""
    ranked = sorted(done, key=lambda t: (-float(t.score or 0.0), t.number))
    out: list[TrialRecord] = []
    hashes: set[str] = set()
    for t in ranked:
        if len(out) >= k:
            break
        if t.arch.hash not in hashes:
            hashes.add(t.arch.hash)
            out.append(t)
    return out


def elite_edits(space: SearchSpace, done: Sequence[TrialRecord], neighbourhood: int,
                num_parents: int, mutations: int, max_edits: int, rng: np.random.Generator
                ) -> list[tuple[Architecture, TrialRecord | None]]:
    """Edits of the best trials, each with the trial it inherits from under
    ``--inherit``: the one-edit neighbourhood of the best ``neighbourhood`` trials, and
    ``mutations`` random mutations of one to ``max_edits`` edits of the best
    ``num_parents``. An edit is paired with its trial only when it is one network
    transformation away (:func:`archsmith.transform.moves`): a child further away starts
    far below its parent, and the search trains it from scratch.

    Example:
        >>> from archsmith.space import create_space
        >>> from archsmith.strategies import TrialRecord
        >>> space = create_space("mlp", max_layers=2, widths=(8, 16))
        >>> best = TrialRecord(0, space.sample(np.random.default_rng(0)), "complete", 90.0)
        >>> edits = elite_edits(space, [best], 1, 1, 4, 2, np.random.default_rng(1))
        >>> len(edits) == len(space.neighbours(best.arch)) + 4
        True
    """
    from archsmith.transform import moves, supports

    def named(parent: TrialRecord, child: Architecture) -> TrialRecord | None:
        ok = supports(child) and len(moves(parent.arch, child)) == 1
        return parent if ok else None

    parents = elite(done, max(num_parents, neighbourhood))
    out = [(a, named(p, a)) for p in parents[:neighbourhood] for a in space.neighbours(p.arch)]
    for p in parents[:num_parents]:
        for _ in range(mutations):
            child = p.arch
            for _edit in range(int(rng.integers(1, max_edits + 1))):
                child = space.mutate(child, rng)
            out.append((child, named(p, child)))
    return out


def reserved_first(order: np.ndarray, named: Sequence[bool], reserve: int) -> np.ndarray:
    """``order`` (candidate indices, best first) with its first ``reserve`` named
    candidates moved to the front, each group keeping its order: the picks reserved
    for elite edits that inherit (gc's ``inherit_share``).

    Example:
        >>> reserved_first(np.array([3, 0, 2, 1]), [False, True, True, False], 1).tolist()
        [2, 3, 0, 1]
    """
    if reserve <= 0:
        return order
    front = [int(i) for i in order if named[int(i)]][:reserve]
    taken = set(front)
    return np.array(front + [int(i) for i in order if int(i) not in taken], dtype=np.int64)


def normal_rewards(reference: Sequence[float] | np.ndarray, values: np.ndarray,
                   clip: float = 4.0) -> np.ndarray:
    """Scale-free rewards: normal scores of ``values``' mid-ranks within ``reference``.

    A value's rank fraction ``q`` among the reference scores (ties count half) is
    mapped to ``Φ⁻¹(q)`` (``q`` kept within ``[0.5/n, 1 - 0.5/n]``); values beyond the
    reference range continue linearly, one unit per reference standard deviation, so a
    candidate predicted above the best score still outranks the best. Results are
    clipped to ``±clip``.

    Args:
        reference: Complete scores of the search (higher is better).
        values: Scores or predicted scores to turn into rewards.
        clip: Bound of the rewards' absolute value.

    Example:
        >>> r = normal_rewards([1.0, 2.0, 3.0, 4.0], np.array([0.0, 2.5, 4.0, 5.0]))
        >>> [round(float(x), 2) for x in r]
        [-2.04, 0.0, 1.15, 2.04]
    """
    ref = np.sort(np.asarray(reference, dtype=np.float64))
    vals = np.asarray(values, dtype=np.float64)
    n = len(ref)
    if n == 0:
        return np.zeros_like(vals)
    lo = np.searchsorted(ref, vals, side="left")
    hi = np.searchsorted(ref, vals, side="right")
    q = np.clip((lo + hi) / (2.0 * n), 0.5 / n, 1.0 - 0.5 / n)
    z = torch.special.ndtri(torch.from_numpy(q)).numpy()
    std = float(ref.std()) or 1.0
    z = z + np.maximum(vals - ref[-1], 0.0) / std - np.maximum(ref[0] - vals, 0.0) / std
    return np.clip(z, -clip, clip)



def local_noise(candidates: np.ndarray, observed: np.ndarray, residuals2: np.ndarray,
                length: float = 1.0, chunk: int = 256) -> np.ndarray:
    """Heteroscedastic noise variance at candidates, from the critic's squared residuals.

    An observed architecture whose decision indices differ from a candidate's in ``d``
    positions has weight ``exp(-d / length)``; the estimate is the weighted mean of the
    observed squared residuals (score minus the critic's prediction there), with their
    plain mean entering as one more observation of weight 1, so candidates far from
    every measurement get the search-wide residual variance. Where the measured scores
    of similar architectures scatter widely around the critic's mean, a new one can
    land far above it; where they sit tightly on it (a plateau), it cannot.

    Args:
        candidates: ``[C, D]`` decision indices of the candidates.
        observed: ``[N, D]`` decision indices of the measured architectures.
        residuals2: ``[N]`` squared residuals at the measured architectures.
        length: Decisions changed per ``e``-fold drop of the weight.
        chunk: Candidates per block (bounds the ``[chunk, N, D]`` comparison).

    Returns:
        ``[C]`` noise variances (non-negative).

    Example:
        >>> obs = np.array([[0, 0, 0], [1, 1, 1]])
        >>> v = local_noise(np.array([[0, 0, 0], [1, 1, 0]]), obs, np.array([0.0, 4.0]))
        >>> [round(float(x), 2) for x in v]
        [1.07, 2.31]
    """
    r2 = np.maximum(np.asarray(residuals2, dtype=np.float64), 0.0)
    prior = float(r2.mean()) if len(r2) else 0.0
    cand = np.asarray(candidates)
    obs = np.asarray(observed)
    out = np.full(len(cand), prior)
    if not len(r2):
        return out
    for start in range(0, len(cand), chunk):
        block = cand[start : start + chunk]
        d = (block[:, None, :] != obs[None, :, :]).sum(-1)
        w = np.exp(-d / length)
        out[start : start + chunk] = (w @ r2 + prior) / (w.sum(1) + 1.0)
    return out

class Generator:
    """Policy + learned value baseline, updated with a clipped policy-gradient objective.

    Args:
        space: The search space.
        seed: Seed of the policy's initial weights.
        hidden: Policy size (LSTM state and embeddings).
        lr: Adam learning rate of each update (a fresh optimiser per update keeps the
            state small and the update a pure function of weights and batch).
        clip: PPO ratio clipping ``ε``.
        entropy_coef: Weight of the entropy bonus.
        value_coef: Weight of the value baseline's squared error.
        temperature: Policy temperature (logits are divided by it).
        tanh_c: Logits are squashed to ``tanh_c·tanh(logits)`` (ENAS's trick), so no
            choice's probability collapses to zero (replayed sequences keep finite
            log-probabilities); ``None`` keeps raw logits.
    """

    def __init__(
        self,
        space: SearchSpace,
        seed: int,
        hidden: int = 32,
        lr: float = 0.02,
        clip: float = 0.2,
        entropy_coef: float = 0.01,
        value_coef: float = 0.5,
        temperature: float = 1.0,
        tanh_c: float | None = 2.5,
    ) -> None:
        self.space = space
        self.seed = int(seed)
        self.lr = lr
        self.clip = clip
        self.entropy_coef = entropy_coef
        self.value_coef = value_coef
        self.policy: Policy = build_policy(space, self.seed, hidden=hidden,
                                           temperature=temperature, tanh_c=tanh_c)
        self.value = torch.nn.Parameter(torch.zeros(()))
        self.updates = 0

    def sample(self, n: int, generator: torch.Generator) -> tuple[list[list[int]], torch.Tensor]:
        """``n`` sampled decision sequences and their log-probabilities (no gradient)."""
        with torch.no_grad():
            rows, logp, _ = self.policy.sample(n, generator)
        return rows, logp.detach()

    def log_prob(self, rows: Sequence[Sequence[int]]) -> torch.Tensor:
        """Log-probabilities of ``rows`` under the current policy (no gradient)."""
        with torch.no_grad():
            lp, _ = self.policy.log_prob(rows)
        return lp.detach()

    def update(
        self,
        rows: Sequence[Sequence[int]],
        old_logp: torch.Tensor,
        rewards: np.ndarray,
        epochs: int = 4,
        weights: np.ndarray | None = None,
    ) -> dict[str, float]:
        """Clipped policy-gradient steps on one batch (full-batch Adam steps).

        The loss is ``-mean(w · min(ρA, clip(ρ, 1±ε)A)) + c_v·mean((V - r)²) -
        c_e·mean(H)``, with ``ρ = exp(log π(a) - old_logp)``, ``A = (r - V) / std(r)``
        (``V`` detached) and ``w`` optional per-sample
        weights (mean 1).

        Args:
            rows: Decision sequences (sampled or replayed).
            old_logp: Their log-probabilities when they were generated (for replayed
                sequences, their current log-probabilities).
            rewards: One reward per sequence.
            epochs: Optimisation steps over the batch.
            weights: Per-sequence weights of the policy term (default 1).

        Returns:
            ``{"value": V, "entropy": mean entropy}`` after the update.
        """
        if not rows:
            return {"value": float(self.value), "entropy": 0.0}
        r = torch.tensor(np.asarray(rewards, dtype=np.float32))
        w = (torch.ones(len(rows)) if weights is None
             else torch.tensor(np.asarray(weights, dtype=np.float32)))
        params = [*self.policy.parameters(), self.value]
        opt = torch.optim.Adam(params, lr=self.lr)
        ent = torch.zeros(len(rows))
        scale = float(r.std()) + 1e-6 if len(rows) > 1 else 1.0
        with single_thread():
            for _ in range(max(1, epochs)):
                logp, ent = self.policy.log_prob(rows)
                adv = (r - self.value.detach()) / scale
                ratio = torch.exp(torch.clamp(logp - old_logp, -20.0, 20.0))
                surr = torch.minimum(
                    ratio * adv, torch.clamp(ratio, 1 - self.clip, 1 + self.clip) * adv
                )
                loss = (-(w * surr).mean() + self.value_coef * ((self.value - r) ** 2).mean()
                        - self.entropy_coef * ent.mean())
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        self.updates += 1
        return {"value": float(self.value.detach()), "entropy": float(ent.detach().mean())}

    def state_dict(self) -> dict[str, Any]:
        """Weights (tensors), value baseline and counters."""
        return {
            "seed": self.seed,
            "policy": {k: v.detach().clone() for k, v in self.policy.state_dict().items()},
            "value": float(self.value.detach()),
            "updates": self.updates,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores :meth:`state_dict` output."""
        self.policy.load_state_dict(state["policy"])
        with torch.no_grad():
            self.value.fill_(float(state["value"]))
        self.updates = int(state["updates"])
