"""N2N: network-to-network compression by policy-gradient reinforcement learning
(Ashok et al., ICLR 2018).

Two stages over the layers of a trained teacher. First a removal policy (a
bidirectional LSTM over the teacher's layers) keeps or removes each layer; then a
shrinkage policy (another bidirectional LSTM, over the best student of the first
stage) picks for each layer the fraction of its units to keep. Each student is trained
by distillation from the teacher (:class:`~archsmith.evaluators.DistillEvaluator`), and
both policies learn by REINFORCE from N2N's reward ``C·(2 − C) · A_s / A_t`` (``C`` the
compression, ``1 − params_s / params_t``; ``A`` the validation accuracies), with ``−1``
for a student that fails to train.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from archsmith._checks import (
    check_controller,
    check_integers,
    check_numbers,
    check_table,
)
from archsmith._threads import single_thread
from archsmith.errors import ConfigError
from archsmith.strategies import STRATEGIES
from archsmith.strategies._base import Strategy, TrialRecord
from archsmith.strategies._eas import layer_features

if TYPE_CHECKING:
    import numpy as np

    from archsmith.space import Architecture, SearchSpace

__all__ = ["N2N"]


class _Policy(torch.nn.Module):
    def __init__(self, features: int, hidden: int, outputs: int) -> None:
        super().__init__()
        self.embed = torch.nn.Linear(features, hidden)
        self.lstm = torch.nn.LSTM(hidden, hidden, batch_first=True, bidirectional=True)
        self.head = torch.nn.Linear(2 * hidden, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.lstm(torch.tanh(self.embed(x)).unsqueeze(0))
        return self.head(h[0])  # type: ignore[no-any-return]


class N2N(Strategy):
    """N2N's removal-then-shrinkage policies.

    Args:
        space: An ``mlp`` or ``cnn`` space.
        teacher: Decisions of the teacher (default: the largest network of the space).
        teacher_acc: The teacher's validation accuracy (default: read from a trial of
            the teacher, else 100).
        teacher_params: The teacher's parameter count (default: read from a trial of
            the teacher).
        removal_trials: Proposals of the removal stage; the rest shrink.
        fractions: Fractions of a layer's units the shrinkage policy chooses from.
        hidden: Size of the policies' LSTMs.
        lr: Adam learning rate.
        baseline_decay: Decay of the moving-average baseline of each stage.
        max_tries: Samples tried for a new student before a random mutation.
        seed: Seed of the policies' initial weights (``None``: from the first ``ask``).

    Example:
        >>> import numpy as np
        >>> from archsmith.space import create_space
        >>> s = N2N(create_space("cnn"), removal_trials=2)
        >>> student = s.ask([], 1, np.random.default_rng(0))[0]
        >>> len(s.space.stages(student)) <= 4
        True
    """

    name = "n2n"

    def __init__(self, space: SearchSpace, teacher: dict[str, Any] | None = None,
                 teacher_acc: float | None = None, teacher_params: float | None = None,
                 removal_trials: int = 20, fractions: Sequence[float] = (1.0, 0.75, 0.5, 0.25),
                 hidden: int = 32, lr: float = 0.01, baseline_decay: float = 0.8,
                 max_tries: int = 8, seed: int | None = None) -> None:
        super().__init__(space)
        if space.name not in ("mlp", "cnn"):
            raise ConfigError(f"n2n compresses 'mlp' and 'cnn' networks; it cannot search "
                              f"the {space.name!r} space.")
        check_controller("n2n", hidden=hidden, lr=lr, baseline_decay=baseline_decay,
                         max_tries=max_tries, seed=seed)
        check_integers("n2n", {"removal_trials": (removal_trials, 0)})
        check_table("n2n", "teacher", teacher)
        check_numbers("n2n", {"teacher_acc": teacher_acc, "teacher_params": teacher_params},
                      optional=("teacher_acc", "teacher_params"))
        if (isinstance(fractions, str) or not isinstance(fractions, Sequence) or not fractions
                or not all(isinstance(f, int | float) and not isinstance(f, bool) and 0 < f <= 1
                           for f in fractions)):
            raise ConfigError(f"n2n: fractions must be a list of numbers in (0, 1], "
                              f"got {fractions!r}.")
        self.teacher = teacher
        self.teacher_arch = space.make(teacher) if teacher else self._largest()
        self.teacher_acc, self.teacher_params = teacher_acc, teacher_params
        self.removal_trials, self.fractions = int(removal_trials), tuple(fractions)
        self.hidden, self.lr, self.baseline_decay = hidden, lr, baseline_decay
        self.max_tries, self.seed = max_tries, seed
        self.policies: list[_Policy] = []
        self.opts: list[torch.optim.Optimizer] = []
        self.baselines: list[float | None] = [None, None]
        self.pending: dict[str, dict[str, Any]] = {}
        self.told: set[int] = set()
        self.rewards: dict[str, float] = {}
        self.seen_ref: dict[str, Any] = {}

    def _largest(self) -> Architecture:
        sp: Any = self.space
        values = {d.name: d.choices[-1] for d in sp.decisions}
        for d in sp.decisions:
            if d.name.split("_")[0] in ("n", "width", "channels", "kernel"):
                values[d.name] = max(d.choices)
        return sp.make(values)  # type: ignore[no-any-return]

    def _ensure(self, rng: np.random.Generator) -> None:
        if not self.policies:
            seed = self.seed if self.seed is not None else int(rng.integers(2**31 - 1))
            feats = int(layer_features(self.teacher_arch).shape[1])
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                self.policies = [_Policy(feats, self.hidden, 1),
                                 _Policy(feats, self.hidden, len(self.fractions))]
            self.opts = [torch.optim.Adam(p.parameters(), lr=self.lr) for p in self.policies]

    # -- students -----------------------------------------------------------------------
    def _dist(self, stage: int, base: Architecture) -> torch.distributions.Distribution:
        out = self.policies[stage](layer_features(base))
        if stage == 0:
            return torch.distributions.Bernoulli(logits=out.squeeze(-1))
        return torch.distributions.Categorical(logits=out)

    def _apply(self, stage: int, base: Architecture, actions: list[int]) -> Architecture:
        from archsmith import transform as T

        if stage == 0:  # 1 = keep; at least one layer stays (the first)
            child = base
            for i in reversed(range(len(actions))):
                if not actions[i] and len(T.layer_specs(child)) > 1:
                    child = T.remove(child, i + 1)
            return child
        sp = self.space
        key = "width" if sp.name == "mlp" else "channels"
        sizes = sorted(int(c) for c in sp.decisions[sp.position(f"{key}_1")].choices)  # type: ignore[arg-type]
        child, specs = base, T.layer_specs(base)
        for i, a in enumerate(actions):  # a run joined by identity skips narrows once
            have = int(specs[i][key])
            want = self.fractions[a] * have
            fit = [s for s in sizes if s <= want]
            new = fit[-1] if fit else sizes[0]
            if new != have and int(T.layer_specs(child)[i][key]) == have:
                child = T.narrower(child, i + 1, new)
        return child

    def _base(self, history: Sequence[TrialRecord], stage: int) -> Architecture:
        if stage == 0:
            return self.teacher_arch
        scored = [(self.rewards[t.arch.hash], -t.number, t.arch) for t in history
                  if t.arch.hash in self.rewards and t.complete]
        return max(scored, key=lambda x: (x[0], x[1]))[2] if scored else self.teacher_arch

    def ask(self, history: Sequence[TrialRecord], n: int, rng: np.random.Generator
            ) -> list[Architecture]:
        self._learn(history)
        seen = {t.arch.hash for t in history}
        out: list[Architecture] = []
        with single_thread():
            self._ensure(rng)
            for k in range(n):
                stage = 0 if len(history) + k < self.removal_trials else 1
                base = self._base(history, stage)
                child, actions = base, None
                for _try in range(self.max_tries):
                    with torch.no_grad():
                        probs = self._dist(stage, base).probs  # type: ignore[attr-defined]
                    if stage == 0:
                        actions = [int(rng.random() < float(p)) for p in probs]
                    else:
                        actions = [int(rng.choice(len(p), p=(p / p.sum()).numpy()))
                                   for p in probs]
                    child = self._apply(stage, base, actions)
                    if child.hash not in seen:
                        break
                for _try in range(20 if child.hash in seen else 0):  # uniform actions
                    sizes = [2 if stage == 0 else len(self.fractions)] * len(actions or [])
                    actions = [int(rng.integers(k)) for k in sizes]
                    child = self._apply(stage, base, actions)
                    if child.hash not in seen:
                        break
                if child.hash in seen:  # every student of this base is taken: any neighbour
                    child, actions = self.space.mutate(base, rng), None
                    for _try in range(50):
                        if child.hash not in seen:
                            break
                        child = self.space.mutate(child, rng)
                if actions is not None:
                    self.pending[child.hash] = {"stage": stage, "base": list(base.indices),
                                                "actions": actions}
                seen.add(child.hash)
                out.append(child)
        return out

    # -- learning -----------------------------------------------------------------------
    def _reference(self, history: Sequence[TrialRecord]) -> tuple[float, float | None]:
        """The teacher's accuracy and size: given, else from its trial (kept once seen)."""
        for t in history:
            if t.complete and t.arch.hash == self.teacher_arch.hash:
                self.seen_ref.update({k: t.metrics[k] for k in ("val_acc", "params")
                                      if t.metrics.get(k) is not None})
        acc = self.teacher_acc if self.teacher_acc is not None else self.seen_ref.get("val_acc")
        params = self.teacher_params if self.teacher_params is not None else \
            self.seen_ref.get("params")
        return (100.0 if acc is None or acc <= 0 else float(acc)), params

    def reward(self, t: TrialRecord, acc_t: float, params_t: float | None) -> float:
        """N2N's reward of a finished student."""
        acc, params = t.metrics.get("val_acc"), t.metrics.get("params")
        if t.state != "complete" or acc is None:
            return -1.0
        c = 0.0 if params is None or not params_t else max(0.0, 1.0 - params / params_t)
        return c * (2.0 - c) * float(acc) / acc_t

    def tell(self, results: Sequence[TrialRecord]) -> None:
        self._learn(results)

    def _learn(self, results: Sequence[TrialRecord]) -> None:
        acc_t, params_t = self._reference(results)
        for t in results:
            if t.state == "running" or t.number in self.told:
                continue
            self.told.add(t.number)
            r = self.reward(t, acc_t, params_t)
            self.rewards[t.arch.hash] = r
            entry = self.pending.pop(t.arch.hash, None)
            if entry is None or not self.policies:
                continue
            stage = int(entry["stage"])
            b = self.baselines[stage]
            b = r if b is None else b
            with single_thread():
                dist = self._dist(stage, self.space.from_indices(entry["base"]))
                logp = dist.log_prob(torch.tensor(entry["actions"],
                                                  dtype=torch.float32 if stage == 0
                                                  else torch.long)).sum()
                loss = -(r - b) * logp
                self.opts[stage].zero_grad()
                loss.backward()
                self.opts[stage].step()
            self.baselines[stage] = self.baseline_decay * b + (1 - self.baseline_decay) * r

    # -- state --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"baselines": list(self.baselines), "pending": self.pending,
                               "told": sorted(self.told), "rewards": dict(self.rewards),
                               "seen_ref": dict(self.seen_ref)}
        if self.policies:
            out["policies"] = [p.state_dict() for p in self.policies]
            out["opts"] = [o.state_dict() for o in self.opts]
        return out

    def load_state_dict(self, state: dict[str, Any]) -> None:
        import numpy as np

        self.baselines = list(state.get("baselines", [None, None]))
        self.pending = dict(state.get("pending", {}))
        self.told = set(state.get("told", []))
        self.rewards = dict(state.get("rewards", {}))
        self.seen_ref = dict(state.get("seen_ref", {}))
        if "policies" in state:
            self._ensure(np.random.default_rng(0))
            for p, o, ps, os_ in zip(self.policies, self.opts, state["policies"],
                                     state["opts"], strict=True):
                p.load_state_dict(ps)
                o.load_state_dict(os_)

    def config(self) -> dict[str, Any]:
        return {"teacher": self.teacher, "teacher_acc": self.teacher_acc,
                "teacher_params": self.teacher_params, "removal_trials": self.removal_trials,
                "fractions": list(self.fractions), "hidden": self.hidden, "lr": self.lr,
                "baseline_decay": self.baseline_decay, "max_tries": self.max_tries,
                "seed": self.seed}


STRATEGIES.add(
    "n2n",
    N2N,
    help="N2N (Ashok et al. 2018): removal then shrinkage policies over a teacher's "
    "layers, REINFORCE on compression × accuracy ratio (archsmith compress; mlp, cnn).",
)
