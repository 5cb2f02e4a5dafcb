"""REINFORCE with an autoregressive controller (Zoph & Le 2017; ENAS; GraphNAS)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from archsmith._checks import check_controller, check_name, check_numbers
from archsmith._threads import single_thread
from archsmith.errors import ConfigError
from archsmith.strategies import STRATEGIES
from archsmith.strategies._base import Strategy, TrialRecord
from archsmith.strategies._policy import Policy, build_policy

if TYPE_CHECKING:
    import numpy as np

    from archsmith.space import Architecture, SearchSpace

__all__ = ["Reinforce"]

_REWARDS = ("rank", "zscore")


class Reinforce(Strategy):
    """A :class:`~archsmith.strategies._policy.Policy` trained by REINFORCE.

    Proposals are samples of the policy whose hash is not yet in the history (complete,
    failed or running); when ``max_tries`` batches hold no new architecture, a uniform
    random one is proposed instead (the policy still learns from its result).

    Each finished trial gives one policy-gradient step (Adam) on
    ``-(reward - baseline) · log p(arch) - entropy_coef · H``, where ``H`` is the summed
    entropy of the policy's distributions along the architecture's decisions and the
    baseline is an exponential moving average of past rewards. Rewards are normalised,
    so the objective's scale does not matter (NAS-Bench-201 accuracies are in percent):

    * ``"rank"`` (default): the score's mid-rank among all complete scores so far,
      mapped to ``[-0.5, 0.5]`` — robust to outliers such as the ~10 % accuracy of
      cells without a path to the output;
    * ``"zscore"``: ``(score - mean) / std`` over the complete scores so far.

    A failed trial is rewarded like the worst complete score seen so far (it pushes the
    policy away from that architecture); before any trial completed it is skipped.

    The policy is created on the first ``ask`` with a seed drawn from that call's
    generator (or from ``seed``). :meth:`state_dict` holds the policy and Adam tensors,
    the baseline, the scores and the numbers of the trials learned from, so a restored
    strategy proposes and learns exactly like the original. Results in the history the
    strategy was not told about are learned from at the next ``ask``.

    Args:
        space: The search space.
        lr: Adam learning rate.
        entropy_coef: Weight of the entropy bonus.
        baseline_decay: Decay of the moving-average baseline (``b ← d·b + (1-d)·r``).
        reward: Reward normalisation, ``"rank"`` or ``"zscore"``.
        hidden: Policy size (LSTM state and embeddings).
        tanh_c: Optional logit squashing ``tanh_c · tanh(logits)`` (ENAS uses 2.5).
        temperature: Logits are divided by it.
        max_tries: Policy batches tried before falling back to a random proposal.
        seed: Seed of the policy's initial weights (``None``: from the first ``ask``).

    Example:
        >>> import numpy as np
        >>> from archsmith.space import create_space
        >>> s = Reinforce(create_space("nb201"))
        >>> a, b = s.ask([], 2, np.random.default_rng(0))
        >>> a != b
        True
        >>> s.state_dict()["updates"], "policy" in s.state_dict()
        (0, True)
    """

    name = "reinforce"

    def __init__(
        self,
        space: SearchSpace,
        lr: float = 0.01,
        entropy_coef: float = 0.01,
        baseline_decay: float = 0.9,
        reward: str = "rank",
        hidden: int = 64,
        tanh_c: float | None = None,
        temperature: float = 1.0,
        max_tries: int = 5,
        seed: int | None = None,
    ) -> None:
        super().__init__(space)
        check_controller("reinforce", hidden=hidden, lr=lr, baseline_decay=baseline_decay,
                         max_tries=max_tries, seed=seed, entropy_coef=entropy_coef)
        check_numbers("reinforce", {"temperature": temperature, "tanh_c": tanh_c},
                      positive=("temperature", "tanh_c"), optional=("tanh_c",))
        if check_name("reinforce", "reward", reward) not in _REWARDS:
            raise ConfigError(
                f"reinforce: unknown reward {reward!r}; valid values: {', '.join(_REWARDS)}."
            )
        self.lr = lr
        self.entropy_coef = entropy_coef
        self.baseline_decay = baseline_decay
        self.reward = reward
        self.hidden = hidden
        self.tanh_c = tanh_c
        self.temperature = temperature
        self.max_tries = max_tries
        self.seed = seed
        self.policy: Policy | None = None
        self.optimizer: torch.optim.Adam | None = None
        self._policy_seed: int | None = None
        self.baseline: float | None = None
        self.scores: list[float] = []
        self.updates = 0
        self._told: set[int] = set()

    # -- policy -------------------------------------------------------------------------
    def _build(self, seed: int) -> Policy:
        self._policy_seed = int(seed)
        self.policy = build_policy(
            self.space, self._policy_seed, hidden=self.hidden, tanh_c=self.tanh_c,
            temperature=self.temperature,
        )
        self.optimizer = None  # created on the first update (importing it is slow)
        return self.policy

    def _optim(self) -> torch.optim.Adam:
        if self.optimizer is None:
            self.optimizer = torch.optim.Adam(self._ensure(None).parameters(), lr=self.lr)
        return self.optimizer

    def _ensure(self, rng: np.random.Generator | None) -> Policy:
        if self.policy is not None:
            return self.policy
        if self.seed is not None:
            seed = self.seed
        elif rng is not None:
            seed = int(rng.integers(2**31 - 1))
        else:
            seed = 0
        return self._build(seed)

    # -- ask ----------------------------------------------------------------------------
    def ask(
        self, history: Sequence[TrialRecord], n: int, rng: np.random.Generator
    ) -> list[Architecture]:
        with single_thread():
            return self._ask(history, n, rng)

    def _ask(
        self, history: Sequence[TrialRecord], n: int, rng: np.random.Generator
    ) -> list[Architecture]:
        policy = self._ensure(rng)
        self._sync(history)
        gen = torch.Generator().manual_seed(int(rng.integers(2**63 - 1)))
        seen = {t.arch.hash for t in history}
        out: list[Architecture] = []
        batch = max(8, 2 * n)
        for _ in range(self.max_tries):
            with torch.no_grad():
                rows, _, _ = policy.sample(batch, gen)
            for row in rows:
                arch = self.space.from_indices(row)
                if arch.hash not in seen:
                    seen.add(arch.hash)
                    out.append(arch)
                    if len(out) == n:
                        return out
        while len(out) < n:  # the policy keeps proposing known architectures
            arch = self.space.sample(rng)
            for _retry in range(50):
                if arch.hash not in seen:
                    break
                arch = self.space.sample(rng)
            seen.add(arch.hash)
            out.append(arch)
        return out

    def _sync(self, history: Sequence[TrialRecord]) -> None:
        missing = [t for t in history if t.state != "running" and t.number not in self._told]
        if missing:
            self.tell(missing)

    # -- tell ---------------------------------------------------------------------------
    def tell(self, results: Sequence[TrialRecord]) -> None:
        for rec in results:
            if rec.state == "running" or rec.number in self._told:
                continue
            self._told.add(rec.number)
            if rec.complete and rec.score is not None and math.isfinite(rec.score):
                score = float(rec.score)
                self.scores.append(score)
            elif self.scores:
                score = min(self.scores)
            else:
                continue  # a failure before any result: nothing to compare it with
            self._update(rec.arch, self._normalise(score))

    def _normalise(self, score: float) -> float:
        s = self.scores
        if self.reward == "rank":
            below = sum(1 for x in s if x < score)
            equal = sum(1 for x in s if x == score)
            return (below + 0.5 * max(equal, 1)) / max(len(s), 1) - 0.5
        mean = sum(s) / len(s)
        var = sum((x - mean) ** 2 for x in s) / len(s)
        return (score - mean) / math.sqrt(var) if var > 1e-12 else 0.0

    def _update(self, arch: Architecture, reward: float) -> None:
        policy = self._ensure(None)
        optimizer = self._optim()
        if self.baseline is None:
            self.baseline = reward
        advantage = reward - self.baseline
        self.baseline = self.baseline_decay * self.baseline + (1 - self.baseline_decay) * reward
        with single_thread():
            logp, ent = policy.log_prob([arch.indices])
            loss = -(advantage * logp.sum()) - self.entropy_coef * ent.sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        self.updates += 1

    # -- state --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "baseline": self.baseline,
            "scores": list(self.scores),
            "updates": self.updates,
            "told": sorted(self._told),
            "policy_seed": self._policy_seed,
        }
        if self.policy is not None:
            state["policy"] = {k: v.detach().clone() for k, v in
                               self.policy.state_dict().items()}
            opt = {} if self.optimizer is None else self.optimizer.state_dict()["state"]
            state["optimizer"] = {
                str(k): {name: (t.detach().clone() if isinstance(t, torch.Tensor) else t)
                         for name, t in v.items()}
                for k, v in opt.items()
            }
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.baseline = None if state.get("baseline") is None else float(state["baseline"])
        self.scores = [float(x) for x in state.get("scores", [])]
        self.updates = int(state.get("updates", 0))
        self._told = {int(x) for x in state.get("told", [])}
        self.policy = None
        self.optimizer = None
        self._policy_seed = None
        if "policy" in state:
            seed = state.get("policy_seed")
            policy = self._build(0 if seed is None else int(seed))
            policy.load_state_dict(state["policy"])
            if state.get("optimizer"):
                optimizer = self._optim()
                full = optimizer.state_dict()
                full["state"] = {int(k): dict(v) for k, v in state["optimizer"].items()}
                optimizer.load_state_dict(full)

    def config(self) -> dict[str, Any]:
        keys = ("lr", "entropy_coef", "baseline_decay", "reward", "hidden", "tanh_c",
                "temperature", "max_tries", "seed")
        return {k: getattr(self, k) for k in keys}


STRATEGIES.add(
    "reinforce",
    Reinforce,
    help="REINFORCE controller (Zoph & Le; ENAS): an LSTM policy over the decisions, "
    "moving-average baseline, entropy bonus.",
)
