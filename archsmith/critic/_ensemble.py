"""What the two deep-ensemble critics share (``gnn``, ``mlp-ensemble``).

Both train ``ensemble`` networks at once (one batched module) on transformed targets
with Adam, warm-start refits with fewer epochs, predict the members' mean and variance
on the score scale, and store their state the same way. A subclass says how inputs are
made, how a mini-batch order is drawn and what the loss is.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from archsmith._checks import check_integers, check_name, check_numbers
from archsmith.critic._base import Predictor
from archsmith.critic._encodings import (
    TargetTransform,
    load_network_state,
    network_state,
    single_threaded,
)
from archsmith.errors import ConfigError

if TYPE_CHECKING:
    import torch

    from archsmith.space import Architecture, SearchSpace

__all__ = ["EnsemblePredictor"]


class EnsemblePredictor(Predictor):
    """Base of the deep-ensemble critics; constructor arguments are checked here.

    Args:
        space: The search space.
        seed: Seed of initialisation and mini-batch order when ``fit`` gets no ``rng``.
        ensemble: Number of members.
        hidden: Hidden width.
        layers: Hidden layers (or message-passing layers).
        epochs: Training epochs of a fresh fit.
        warm_epochs: Epochs of a ``warm_start`` refit.
        lr: Adam learning rate.
        weight_decay: Adam weight decay.
        batch_size: Mini-batch size.
        target: Target transform (see :class:`~archsmith.critic._encodings.TargetTransform`).
        min_batch: The smallest ``batch_size`` the subclass accepts.
    """

    #: Members' predictions per forward pass in :meth:`predict`.
    predict_chunk = 2048

    def __init__(
        self, space: SearchSpace, seed: int, ensemble: int, hidden: int, layers: int,
        epochs: int, warm_epochs: int, lr: float, weight_decay: float, batch_size: int,
        target: str, min_batch: int = 1,
    ) -> None:
        super().__init__(space, seed)
        owner = f"{self.name} critic"
        check_integers(owner, {"ensemble": (ensemble, 1), "hidden": (hidden, 1),
                               "layers": (layers, 0), "epochs": (epochs, 1),
                               "warm_epochs": (warm_epochs, 1),
                               "batch_size": (batch_size, min_batch)})
        check_numbers(owner, {"lr": lr, "weight_decay": weight_decay}, positive=("lr",))
        check_name(owner, "target", target)
        self.ensemble = ensemble
        self.hidden = hidden
        self.layers = layers
        self.epochs = epochs
        self.warm_epochs = warm_epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.target = target
        self.transform = TargetTransform(target)
        self._net: torch.nn.Module | None = None

    # -- what a subclass defines ----------------------------------------------------------
    def _new_net(self, seed: int) -> torch.nn.Module:
        """A fresh ensemble network initialised from ``seed``."""
        raise NotImplementedError

    def _inputs(self, archs: Sequence[Architecture]) -> tuple[torch.Tensor, ...]:
        """The network's input tensors for ``archs`` (first dimension: architectures)."""
        raise NotImplementedError

    def _batches(self, n: int, rng: np.random.Generator) -> Iterator[torch.Tensor]:
        """The index tensors of one epoch's mini-batches."""
        raise NotImplementedError

    def _loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The loss of members' predictions ``[M, B]`` against ``target`` ``[B]``."""
        raise NotImplementedError

    # -- Predictor --------------------------------------------------------------------------
    @single_threaded
    def fit(
        self,
        archs: Sequence[Architecture],
        scores: Sequence[float] | np.ndarray,
        *,
        rng: np.random.Generator | None = None,
        warm_start: bool = False,
    ) -> EnsemblePredictor:
        import torch

        y = self._checked_scores(archs, scores)
        rng = rng if rng is not None else np.random.default_rng(self.seed)
        self.transform = TargetTransform(self.target).fit(y)
        target = torch.tensor(self.transform.forward(y), dtype=torch.float32)
        inputs = self._inputs(archs)
        epochs = self.epochs
        if warm_start and self._net is not None:
            epochs = self.warm_epochs
        else:
            self._net = self._new_net(int(rng.integers(2**31)))
        net = self._net
        opt = torch.optim.Adam(
            net.parameters(), lr=self.lr, weight_decay=self.weight_decay, foreach=True
        )
        net.train()
        for _ in range(epochs):
            for idx in self._batches(len(y), rng):
                loss = self._loss(net(*(x[idx] for x in inputs)), target[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        net.eval()
        return self

    @single_threaded
    def predict(self, archs: Sequence[Architecture]) -> tuple[np.ndarray, np.ndarray]:
        import torch

        if self._net is None:
            raise ConfigError(f"{self.name} critic: call fit() before predict().")
        outs = []
        with torch.no_grad():
            for start in range(0, len(archs), self.predict_chunk):
                inputs = self._inputs(archs[start : start + self.predict_chunk])
                outs.append(self._net(*inputs).double().numpy())
        z = np.concatenate(outs, axis=1) if outs else np.zeros((self.ensemble, 0))
        members = self.transform.inverse(z)
        return members.mean(0), members.var(0)

    def state_dict(self) -> dict[str, Any]:
        return network_state(self.transform, self._net)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        loaded = load_network_state(state, self._new_net)
        if loaded is None:
            self._net = None
            return
        self.transform, self._net = loaded
