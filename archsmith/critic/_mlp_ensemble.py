"""BANANAS's predictor: an ensemble of MLPs on the path encoding (White et al. 2021).

All members are trained together as one batched network (weights with a leading
member axis), so an ensemble of five costs little more than one MLP. Members differ by
initialisation; the variance of their predictions is the uncertainty.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from archsmith._checks import check_name
from archsmith.critic import CRITICS
from archsmith.critic._encodings import (
    feature_matrix,
)
from archsmith.critic._ensemble import EnsemblePredictor
from archsmith.errors import ConfigError

if TYPE_CHECKING:
    import torch

    from archsmith.space import Architecture, SearchSpace

__all__ = ["MLPEnsemblePredictor", "ensemble_mlp"]


def ensemble_mlp(
    members: int, sizes: Sequence[int], gen: torch.Generator
) -> torch.nn.Module:
    """``members`` MLPs with layer sizes ``sizes`` (input … 1) evaluated together.

    The module maps ``[B, F]`` inputs to ``[M, B]`` outputs; weights are initialised
    from ``gen`` only (uniform ±1/√fan_in, as ``torch.nn.Linear``).

    Example:
        >>> import torch
        >>> net = ensemble_mlp(3, [4, 8, 1], torch.Generator().manual_seed(0))
        >>> tuple(net(torch.zeros(5, 4)).shape)
        (3, 5)
    """
    import torch
    from torch import nn

    class EnsembleMLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weights = nn.ParameterList()
            self.biases = nn.ParameterList()
            for a, b in itertools.pairwise(sizes):
                bound = 1.0 / math.sqrt(a)
                w = torch.empty(members, a, b).uniform_(-bound, bound, generator=gen)
                c = torch.empty(members, 1, b).uniform_(-bound, bound, generator=gen)
                self.weights.append(nn.Parameter(w))
                self.biases.append(nn.Parameter(c))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = x[None].expand(members, -1, -1)
            last = len(self.weights) - 1
            for k, (w, c) in enumerate(zip(self.weights, self.biases, strict=True)):
                h = torch.baddbmm(c, h, w)
                if k < last:
                    h = torch.relu(h)
            return h[..., 0]

    return EnsembleMLP()


class MLPEnsemblePredictor(EnsemblePredictor):
    """Ensemble of MLPs on the path encoding (cell spaces) or decision one-hots.

    BANANAS's meta neural network: ``ensemble`` fully connected networks (``layers``
    hidden layers of ``hidden`` units, ReLU) trained with Adam on the mean squared error
    (or absolute error, as in BANANAS) of standardised scores; the prediction is the
    members' mean and variance. The defaults follow BANANAS: 5 members of 10 layers of
    width 20, mean absolute error, Adam with learning rate 0.01, 200 epochs, batch 32.

    Args:
        space: The search space.
        seed: Seed of initialisation and mini-batch order when ``fit`` gets no ``rng``.
        ensemble: Number of members (BANANAS uses 5).
        hidden: Units per hidden layer.
        layers: Hidden layers.
        epochs: Training epochs of a fresh fit.
        warm_epochs: Epochs of a ``warm_start`` refit.
        lr: Adam learning rate.
        weight_decay: Adam weight decay.
        batch_size: Mini-batch size.
        encoding: ``"auto"`` (path encoding where the space has one, else one-hots),
            ``"path"``, ``"onehot"`` or ``"path+onehot"``.
        target: Target transform (``"standard"``, ``"clip"`` or ``"rank"``).
        loss: ``"mae"`` or ``"mse"``.

    Example:
        >>> import numpy as np
        >>> from archsmith.space import create_space
        >>> space = create_space("nb201")
        >>> rng = np.random.default_rng(0)
        >>> archs = [space.sample(rng) for _ in range(20)]
        >>> mlp = MLPEnsemblePredictor(space, epochs=20)
        >>> mean, var = mlp.fit(archs, [float(sum(a.indices)) for a in archs]).predict(archs)
        >>> mean.shape, bool((var >= 0).all())
        ((20,), True)
    """

    name = "mlp-ensemble"

    #: One forward pass for all architectures (the results do not depend on chunking).
    predict_chunk = 2**62

    def __init__(
        self,
        space: SearchSpace,
        seed: int = 0,
        ensemble: int = 5,
        hidden: int = 20,
        layers: int = 10,
        epochs: int = 200,
        warm_epochs: int = 50,
        lr: float = 0.01,
        weight_decay: float = 0.0,
        batch_size: int = 32,
        encoding: str = "auto",
        target: str = "standard",
        loss: str = "mae",
    ) -> None:
        super().__init__(space, seed, ensemble, hidden, layers, epochs, warm_epochs, lr,
                         weight_decay, batch_size, target)
        if check_name("mlp-ensemble critic", "loss", loss) not in ("mae", "mse"):
            raise ConfigError(f"mlp-ensemble critic: loss must be 'mae' or 'mse', got {loss!r}.")
        feature_matrix(space, [], encoding)  # validates the encoding name
        self.encoding = encoding
        self.loss = loss
        self._width = feature_matrix(space, [space.sample(np.random.default_rng(0))],
                                     encoding).shape[1]

    def _new_net(self, seed: int) -> torch.nn.Module:
        import torch

        sizes = [self._width, *([self.hidden] * self.layers), 1]
        return ensemble_mlp(self.ensemble, sizes, torch.Generator().manual_seed(seed))

    def _inputs(self, archs: Sequence[Architecture]) -> tuple[torch.Tensor, ...]:
        import torch

        return (torch.from_numpy(feature_matrix(self.space, archs, self.encoding)),)

    def _batches(self, n: int, rng: np.random.Generator) -> Iterator[torch.Tensor]:
        import torch

        bs = min(self.batch_size, n)
        order = torch.from_numpy(rng.permutation(n))
        for start in range(0, n, bs):
            yield order[start : start + bs]

    def _loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        err = pred - target
        return (err.abs() if self.loss == "mae" else err**2).mean(1).sum()


CRITICS.add(
    "mlp-ensemble",
    MLPEnsemblePredictor,
    help="BANANAS's predictor: ensemble of MLPs on the path encoding (or one-hots).",
)
