"""Graph neural network critic: a deep ensemble of GIN-style networks over ``arch.graph``.

Design (see :class:`GNNPredictor`):

* **Pure PyTorch, dense batched adjacency.** Architecture graphs are tiny (NAS-Bench-201
  cells have ≤ 8 nodes, the chain spaces ≤ ~25), so a padded ``[B, N, N]`` adjacency and
  batched matrix products beat PyTorch Geometric's scatter kernels on a CPU (no
  per-batch graph collation, no compiled extensions) and need no extra dependency.
* **The ensemble is one module.** All members' weights carry a leading member axis and
  run in the same ``einsum`` calls, so training ``M`` members costs little more than one.
  Members differ by their initialisation (different seeds), as in deep ensembles; the
  variance of their predictions is the critic's uncertainty.
* **Loss**: mean squared error on transformed scores plus a weighted pairwise logistic
  ranking loss over all pairs of the mini-batch (ranking matters more than absolute
  error when a critic selects candidates).
* **Targets**: rank normal scores (see :class:`TargetTransform`), so NAS-Bench-201's few
  "dead" cells at ~10% do not dominate the squared loss.

How well it ranks held-out cells against the ``gp`` and ``mlp-ensemble`` critics, and
the tuning behind its defaults (the cheapest setting on the plateau), is measured by
``python benchmarks/critic_quality.py``; figures in ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from archsmith._checks import check_numbers
from archsmith.critic import CRITICS
from archsmith.critic._encodings import (
    GraphFeaturizer,
)
from archsmith.critic._ensemble import EnsemblePredictor

if TYPE_CHECKING:
    import torch

    from archsmith.space import Architecture, SearchSpace

__all__ = ["GNNPredictor"]


def _ensemble_gin(
    members: int, vocab: int, hidden: int, layers: int, gen: torch.Generator
) -> torch.nn.Module:
    """Builds the batched GIN ensemble (weights initialised from ``gen`` only)."""
    import torch
    from torch import nn

    def param(*shape: int, fan_in: int) -> nn.Parameter:
        bound = 1.0 / math.sqrt(fan_in)
        t = torch.empty(*shape).uniform_(-bound, bound, generator=gen)
        return nn.Parameter(t)

    class EnsembleGIN(nn.Module):
        """``M`` GIN networks evaluated together; output ``[M, B]``."""

        def __init__(self) -> None:
            super().__init__()
            m, h = members, hidden
            self.emb = nn.Parameter(torch.randn(m, vocab, h, generator=gen) * 0.5)
            self.w1 = nn.ParameterList([param(m, 3 * h, h, fan_in=3 * h) for _ in range(layers)])
            self.b1 = nn.ParameterList([param(m, 1, 1, h, fan_in=3 * h) for _ in range(layers)])
            self.w2 = nn.ParameterList([param(m, h, h, fan_in=h) for _ in range(layers)])
            self.b2 = nn.ParameterList([param(m, 1, 1, h, fan_in=h) for _ in range(layers)])
            r = 3 * h * (layers + 1)
            self.w3 = param(m, r, h, fan_in=r)
            self.b3 = param(m, 1, h, fan_in=r)
            self.w4 = param(m, h, 1, fan_in=h)
            self.b4 = param(m, 1, 1, fan_in=h)

        def forward(self, ids: torch.Tensor, adj: torch.Tensor, mask: torch.Tensor
                    ) -> torch.Tensor:
            # ids [B, N], adj [B, N, N] (adj[b, v, u] = edges u -> v), mask [B, N]
            mk = mask[None, :, :, None]
            h = self.emb[:, ids] * mk  # [M, B, N, H]
            adj_t = adj.transpose(1, 2)
            last = (mask.sum(1).long() - 1).clamp(min=0)  # output node per graph
            count = mask.sum(1).clamp(min=1.0)[None, :, None]
            reads = [self._readout(h, last, count)]
            for w1, b1, w2, b2 in zip(self.w1, self.b1, self.w2, self.b2, strict=True):
                z = torch.cat([h, torch.matmul(adj, h), torch.matmul(adj_t, h)], dim=-1)
                z = torch.relu(torch.einsum("mbnk,mkh->mbnh", z, w1) + b1)
                z = torch.einsum("mbnk,mkh->mbnh", z, w2) + b2
                h = (torch.relu(z) + h) * mk
                reads.append(self._readout(h, last, count))
            r = torch.cat(reads, dim=-1)  # [M, B, R]
            z = torch.relu(torch.einsum("mbr,mrh->mbh", r, self.w3) + self.b3)
            return (torch.einsum("mbh,mho->mbo", z, self.w4) + self.b4)[..., 0]

        @staticmethod
        def _readout(h: torch.Tensor, last: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
            total = h.sum(2)
            out = h[:, torch.arange(h.shape[1]), last]
            return torch.cat([total, total / count, out], dim=-1)

    return EnsembleGIN()


class GNNPredictor(EnsemblePredictor):
    """Deep ensemble of GIN networks over the architecture graph.

    Each node starts from an embedding of its label (vocabulary from the space, see
    :class:`~archsmith.critic._encodings.GraphFeaturizer`; unknown labels share one id).
    A layer updates every node with an MLP of ``[h, Σ in-neighbours, Σ out-neighbours]``
    (GIN with sum aggregation in both directions) and a residual connection. The readout
    concatenates, for the embeddings and after every layer, the sum and mean over nodes
    and the output node's embedding; an MLP head maps it to the score. ``ensemble``
    members with different initialisations give the mean and the variance.

    Targets are transformed (``target``: rank normal scores by default, see
    :class:`~archsmith.critic._encodings.TargetTransform`); predictions are mapped back
    to the score scale.

    Args:
        space: The search space.
        seed: Seed of initialisation and mini-batch order when ``fit`` gets no ``rng``.
        ensemble: Number of members (≥ 1; ≥ 3 for a useful variance).
        hidden: Width of node embeddings and MLPs.
        layers: Message-passing layers.
        epochs: Training epochs of a fresh fit.
        warm_epochs: Epochs of a ``warm_start`` refit.
        lr: Adam learning rate.
        weight_decay: Adam weight decay.
        batch_size: Mini-batch size (full batch when the data are smaller).
        rank_weight: Weight of the pairwise ranking loss.
        target: Target transform: ``"rank"``, ``"clip"`` or ``"standard"``.

    Example:
        >>> import numpy as np
        >>> from archsmith.space import create_space
        >>> space = create_space("nb201")
        >>> rng = np.random.default_rng(0)
        >>> archs = [space.sample(rng) for _ in range(20)]
        >>> gnn = GNNPredictor(space, ensemble=3, epochs=20)
        >>> mean, var = gnn.fit(archs, [float(sum(a.indices)) for a in archs]).predict(archs[:4])
        >>> mean.shape, bool((var >= 0).all())
        ((4,), True)
    """

    name = "gnn"

    def __init__(
        self,
        space: SearchSpace,
        seed: int = 0,
        ensemble: int = 3,
        hidden: int = 32,
        layers: int = 2,
        epochs: int = 100,
        warm_epochs: int = 30,
        lr: float = 0.01,
        weight_decay: float = 1e-4,
        batch_size: int = 128,
        rank_weight: float = 1.0,
        target: str = "rank",
    ) -> None:
        super().__init__(space, seed, ensemble, hidden, layers, epochs, warm_epochs, lr,
                         weight_decay, batch_size, target, min_batch=2)
        check_numbers("gnn critic", {"rank_weight": rank_weight})
        self.rank_weight = rank_weight
        self._feat: GraphFeaturizer | None = None

    @property
    def featurizer(self) -> GraphFeaturizer:
        """The graph featuriser (built on first use)."""
        if self._feat is None:
            self._feat = GraphFeaturizer(self.space)
        return self._feat

    def _new_net(self, seed: int) -> torch.nn.Module:
        import torch

        gen = torch.Generator().manual_seed(seed)
        return _ensemble_gin(self.ensemble, self.featurizer.num_labels, self.hidden,
                             self.layers, gen)

    def _inputs(self, archs: Sequence[Architecture]) -> tuple[torch.Tensor, ...]:
        return tuple(self.featurizer.batch(archs))

    def _batches(self, n: int, rng: np.random.Generator) -> Iterator[torch.Tensor]:
        import torch

        batches = -(-n // self.batch_size)  # equal-sized mini-batches covering all data
        order = torch.from_numpy(rng.permutation(n)) if batches > 1 else torch.arange(n)
        yield from torch.tensor_split(order, batches)

    def _loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return _loss(pred, target, self.rank_weight)


def _loss(pred: torch.Tensor, target: torch.Tensor, rank_weight: float) -> torch.Tensor:
    """MSE of every member plus ``rank_weight`` × pairwise logistic ranking loss.

    ``pred`` is ``[M, B]``; for every pair with ``target_i > target_j`` the ranking term
    is ``softplus(-(pred_i - pred_j))``, averaged over pairs and summed over members.
    """
    import torch

    mse = ((pred - target) ** 2).mean(1).sum()
    if rank_weight == 0 or pred.shape[1] < 2:
        return mse
    better = (target[:, None] > target[None, :]).float()  # [B, B]
    diff = pred[:, :, None] - pred[:, None, :]  # [M, B, B]
    rank = (torch.nn.functional.softplus(-diff) * better).sum((1, 2)) / better.sum().clamp(min=1)
    return mse + rank_weight * rank.sum()


CRITICS.add(
    "gnn",
    GNNPredictor,
    help="Deep ensemble of GIN networks over the architecture graph (regression + "
    "ranking loss).",
)
