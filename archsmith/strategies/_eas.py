"""EAS: a meta-controller that grows networks by function-preserving transformations
(Cai et al., AAAI 2018, "Efficient Architecture Search by Network Transformation").

A bidirectional LSTM encodes the layer sequence of the current network; a Net2Wider
actor decides for every layer whether to widen it (to the next larger width of the
space) and a Net2Deeper actor where to insert a new layer (or not to) and what it is:
its kernel and, in a ``cnn`` space with ``insert_pool=True`` (the default), whether it
pools. The paper's seed networks carry their pooling layers and its actions never add
one; here the seed is the space's smallest network, which does not pool, so a new stage
may bring the downsampling that the ``cnn`` space's good networks have (an inserted
stage that pools changes the function; every weight is still reused). The child names
its parent, so with ``--inherit`` it starts from the parent's weights transformed by
Net2Net (the function is preserved) and trains briefly. The controller learns by
REINFORCE from the children's validation accuracy, shaped as in the paper by
``tan(acc · π/2)``, against a moving-average baseline.

The first proposal is the seed network (by default the smallest of the space: one
layer/stage of the smallest width); each later one transforms the best complete
trial so far.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from archsmith._checks import check_controller, check_flags, check_table
from archsmith._threads import single_thread
from archsmith.errors import ConfigError
from archsmith.strategies import STRATEGIES
from archsmith.strategies._base import Strategy, TrialRecord, best_of

if TYPE_CHECKING:
    import numpy as np

    from archsmith.space import Architecture, SearchSpace

__all__ = ["EAS", "layer_features"]

_PER = {"mlp": ("width", "act", "norm", "dropout"),
        "cnn": ("channels", "kernel", "pool", "residual", "norm")}


def layer_features(arch: Architecture) -> torch.Tensor:
    """One row per layer/stage of an ``mlp``/``cnn`` architecture: the one-hot codes of
    its settings (what the BiLSTM encoders of EAS and N2N read)."""
    from archsmith.transform import layer_specs

    sp = arch.space
    rows = []
    for spec in layer_specs(arch):
        row: list[float] = []
        for f in _PER[sp.name]:
            row += [float(c == spec[f]) for c in sp.decisions[sp.position(f"{f}_1")].choices]
        rows.append(row)
    return torch.tensor(rows)


class _Controller(torch.nn.Module):
    def __init__(self, features: int, hidden: int, options: int) -> None:
        super().__init__()
        self.embed = torch.nn.Linear(features, hidden)
        self.lstm = torch.nn.LSTM(hidden, hidden, batch_first=True, bidirectional=True)
        self.wider = torch.nn.Linear(2 * hidden, 1)
        self.where = torch.nn.Linear(2 * hidden, 1)
        self.stay = torch.nn.Parameter(torch.zeros(1))
        self.kernel = torch.nn.Linear(2 * hidden, options)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        h, _ = self.lstm(torch.tanh(self.embed(x)).unsqueeze(0))
        h = h[0]
        return (self.wider(h).squeeze(-1), torch.cat([self.where(h).squeeze(-1), self.stay]),
                self.kernel(h))


class EAS(Strategy):
    """EAS's meta-controller (Net2Wider and Net2Deeper actors over a BiLSTM encoder).

    Args:
        space: An ``mlp`` or ``cnn`` space.
        seed_network: Decisions of the first network (default: the smallest one).
        hidden: Size of the encoder's LSTM and embeddings.
        lr: Adam learning rate of the controller.
        entropy_coef: Weight of the entropy bonus.
        baseline_decay: Decay of the moving-average baseline.
        max_tries: Samples tried for a new child before a random mutation of the parent.
        insert_pool: Whether a stage inserted into a ``cnn`` network may pool (``False``:
            the paper's action space, kernel only).
        seed: Seed of the controller's initial weights (``None``: from the first ``ask``).

    Example:
        >>> import numpy as np
        >>> from archsmith.space import create_space
        >>> s = EAS(create_space("cnn"))
        >>> first = s.ask([], 1, np.random.default_rng(0))[0]
        >>> s.space.compact(first)
        '8k3·bn → avg'
        >>> child = s.ask([TrialRecord(0, first, "complete", 90.0)], 1,
        ...               np.random.default_rng(1))[0]
        >>> s.parent_of(child)
        0
    """

    name = "eas"

    def __init__(self, space: SearchSpace, seed_network: dict[str, Any] | None = None,
                 hidden: int = 32, lr: float = 0.01, entropy_coef: float = 0.01,
                 baseline_decay: float = 0.8, max_tries: int = 8, insert_pool: bool = True,
                 seed: int | None = None) -> None:
        super().__init__(space)
        if space.name not in _PER:
            raise ConfigError(f"eas transforms 'mlp' and 'cnn' networks; it cannot search "
                              f"the {space.name!r} space.")
        check_controller("eas", hidden=hidden, lr=lr, baseline_decay=baseline_decay,
                         max_tries=max_tries, seed=seed, entropy_coef=entropy_coef)
        check_flags("eas", {"insert_pool": insert_pool})
        check_table("eas", "seed_network", seed_network)
        self.seed_network = seed_network
        self.start = space.make(seed_network) if seed_network else self._smallest()
        self.hidden, self.lr, self.entropy_coef = hidden, lr, entropy_coef
        self.baseline_decay, self.max_tries, self.seed = baseline_decay, max_tries, seed
        self.insert_pool = insert_pool
        self.controller: _Controller | None = None
        self.opt: torch.optim.Optimizer | None = None
        self.baseline: float | None = None
        self.pending: dict[str, dict[str, Any]] = {}
        self.told: set[int] = set()
        self._parents: dict[str, int] = {}

    def _smallest(self) -> Architecture:
        sp: Any = self.space
        first = {d.name: d.choices[0] for d in sp.decisions}
        pick = {"n_layers": 1, "n_stages": 1, "residual": False, "head": "avg",
                "pool_1": "none", "residual_1": False, "norm_1": "batch", "act_1": "relu",
                "dropout_1": 0.0}
        values = {}
        for d in sp.decisions:
            want = pick.get(d.name)
            values[d.name] = want if want in d.choices else first[d.name]
        for key in ("width_1", "channels_1", "kernel_1"):
            if key in values:
                values[key] = min(sp.decisions[sp.position(key)].choices)
        return sp.make(values)  # type: ignore[no-any-return]

    # -- the controller ---------------------------------------------------------------
    def _features(self, arch: Architecture) -> torch.Tensor:
        return layer_features(arch)

    def _options(self) -> list[dict[str, Any]]:
        """What an inserted layer can be: a cnn stage's kernel (and pooling, with
        ``insert_pool``); an mlp layer is ReLU (Net2DeeperNet's identity needs an
        activation with f(f(x)) = f(x))."""
        sp = self.space
        if sp.name == "mlp":
            acts = sp.decisions[sp.position("act_1")].choices
            return [{"act": "relu" if "relu" in acts else acts[0]}]
        kernels = sp.decisions[sp.position("kernel_1")].choices
        if not self.insert_pool:  # the paper's actions: a new stage does not pool
            return [{"kernel": k} for k in kernels]
        pools = sp.decisions[sp.position("pool_1")].choices
        return [{"kernel": k, "pool": p} for p in pools for k in kernels]

    def _ensure(self, rng: np.random.Generator) -> _Controller:
        if self.controller is None:
            seed = self.seed if self.seed is not None else int(rng.integers(2**31 - 1))
            gen_state = torch.random.fork_rng(devices=[])
            with gen_state:
                torch.manual_seed(seed)
                self.controller = _Controller(int(self._features(self.start).shape[1]),
                                              self.hidden, len(self._options()))
            self.opt = torch.optim.Adam(self.controller.parameters(), lr=self.lr)
        return self.controller

    def _logp(self, parent: Architecture, actions: dict[str, Any]
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probability and entropy of ``actions`` on ``parent``."""
        assert self.controller is not None
        wider, where, kernel = self.controller(self._features(parent))
        can = torch.tensor(actions["can_widen"], dtype=torch.bool)
        dist = torch.distributions.Bernoulli(logits=wider)
        w = torch.tensor(actions["widen"], dtype=torch.float32)
        logp = (dist.log_prob(w) * can).sum()
        ent = (dist.entropy() * can).sum()
        mask = torch.tensor(actions["can_insert"], dtype=torch.bool)
        pos = torch.distributions.Categorical(logits=where.masked_fill(~mask, -1e9))
        logp = logp + pos.log_prob(torch.tensor(actions["where"]))
        ent = ent + pos.entropy()
        if actions["where"] < len(actions["widen"]):
            kd = torch.distributions.Categorical(logits=kernel[actions["where"]])
            logp = logp + kd.log_prob(torch.tensor(actions["kernel"]))
            ent = ent + kd.entropy()
        return logp, ent

    def _sample(self, parent: Architecture, rng: np.random.Generator
                ) -> tuple[Architecture, dict[str, Any]]:
        from archsmith import transform as T

        assert self.controller is not None
        specs = T.layer_specs(parent)
        n, sp = len(specs), self.space
        key = "width" if sp.name == "mlp" else "channels"
        sizes = sorted(int(c) for c in sp.decisions[sp.position(f"{key}_1")].choices)  # type: ignore[arg-type]
        count = "n_layers" if sp.name == "mlp" else "n_stages"
        deepest = max(int(c) for c in sp.decisions[sp.position(count)].choices)  # type: ignore[arg-type]
        with torch.no_grad():
            wider, where, kernel = self.controller(self._features(parent))
        can_widen = [s[key] < sizes[-1] for s in specs]
        widen = [int(c and rng.random() < float(torch.sigmoid(v)))
                 for c, v in zip(can_widen, wider, strict=True)]
        can_insert = [n < deepest] * n + [True]  # slot i: after layer i; last: none
        probs = torch.softmax(where.masked_fill(~torch.tensor(can_insert), -1e9), 0).numpy()
        slot = int(rng.choice(n + 1, p=probs / probs.sum()))
        kchoice = 0
        if slot < n:
            kp = torch.softmax(kernel[slot], 0).numpy()
            kchoice = int(rng.choice(len(kp), p=kp / kp.sum()))
        child = parent
        for i in range(n):  # a run of layers joined by identity skips widens once
            have = T.layer_specs(child)[i][key]
            bigger = [s for s in sizes if s > have]
            if widen[i] and bigger and have == specs[i][key]:
                child = T.wider(child, i + 1, bigger[0])
        if slot < n:
            extra = dict(self._options()[kchoice])
            if sp.name == "cnn":
                extra["residual"] = T.layer_specs(child)[slot]["residual"]
            child = T.deeper(child, slot + 2, **extra)
        return child, {"widen": widen, "can_widen": can_widen, "where": slot,
                       "can_insert": can_insert, "kernel": kchoice}

    # -- ask / tell -------------------------------------------------------------------
    def ask(self, history: Sequence[TrialRecord], n: int, rng: np.random.Generator
            ) -> list[Architecture]:
        self._learn(history)
        seen = {t.arch.hash for t in history}
        self._parents = {}
        out: list[Architecture] = []
        with single_thread():
            self._ensure(rng)
            for _ in range(n):
                best = best_of(history)
                if best is None:
                    child = self.start if self.start.hash not in seen else \
                        self._fresh(self.start, seen, rng)
                    out.append(child)
                    seen.add(child.hash)
                    continue
                child, actions = best.arch, None
                for _try in range(self.max_tries):
                    child, actions = self._sample(best.arch, rng)
                    if child.hash not in seen:
                        break
                if child.hash in seen or actions is None:
                    child, actions = self._fresh(best.arch, seen, rng), None
                if actions is not None:
                    self.pending[child.hash] = {"parent": list(best.arch.indices),
                                                "actions": actions}
                self._parents[child.hash] = best.number
                seen.add(child.hash)
                out.append(child)
        return out

    def _fresh(self, arch: Architecture, seen: set[str], rng: np.random.Generator
               ) -> Architecture:
        child = self.space.mutate(arch, rng)
        for _ in range(50):
            if child.hash not in seen:
                break
            child = self.space.mutate(child, rng)
        return child

    def tell(self, results: Sequence[TrialRecord]) -> None:
        self._learn(results)

    def _reward(self, t: TrialRecord) -> float:
        acc = t.metrics.get("val_acc")
        if not t.complete or acc is None:
            return 0.0
        return math.tan(min(max(float(acc) / 100.0, 0.0), 0.99) * math.pi / 2)

    def _learn(self, results: Sequence[TrialRecord]) -> None:
        for t in results:
            if t.state == "running" or t.number in self.told:
                continue
            self.told.add(t.number)
            entry = self.pending.pop(t.arch.hash, None)
            if entry is None or self.controller is None or self.opt is None:
                continue
            r = self._reward(t)
            b = r if self.baseline is None else self.baseline
            with single_thread():
                logp, ent = self._logp(self.space.from_indices(entry["parent"]),
                                       entry["actions"])
                loss = -(r - b) * logp - self.entropy_coef * ent
                self.opt.zero_grad()
                loss.backward()
                self.opt.step()
            self.baseline = self.baseline_decay * b + (1 - self.baseline_decay) * r

    # -- state ------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"baseline": self.baseline, "pending": self.pending,
                               "told": sorted(self.told)}
        if self.controller is not None and self.opt is not None:
            out["controller"] = self.controller.state_dict()
            out["opt"] = self.opt.state_dict()
        return out

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.baseline = state.get("baseline")
        self.pending = dict(state.get("pending", {}))
        self.told = set(state.get("told", []))
        if "controller" in state:
            import numpy as np

            heads = state["controller"].get("kernel.weight")
            if self.insert_pool and heads is not None and self.space.name == "cnn" and \
                    len(heads) == len(self.space.decisions[self.space.position("kernel_1")]
                                      .choices):  # saved before a new stage could pool
                self.insert_pool = False
                self.controller = self.opt = None
            self._ensure(np.random.default_rng(0))
            assert self.controller is not None and self.opt is not None
            self.controller.load_state_dict(state["controller"])
            self.opt.load_state_dict(state["opt"])

    def config(self) -> dict[str, Any]:
        return {"seed_network": self.seed_network, "hidden": self.hidden, "lr": self.lr,
                "entropy_coef": self.entropy_coef, "baseline_decay": self.baseline_decay,
                "max_tries": self.max_tries, "insert_pool": self.insert_pool,
                "seed": self.seed}


STRATEGIES.add(
    "eas",
    EAS,
    help="EAS (Cai et al. 2018): a BiLSTM meta-controller grows the best network by "
    "Net2Wider/Net2Deeper moves, learning by REINFORCE; use with --inherit (mlp, cnn).",
)
