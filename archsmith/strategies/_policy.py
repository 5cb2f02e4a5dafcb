"""An autoregressive policy over a space's decision sequence (the RL controller).

:class:`Policy` emits an architecture one decision at a time, like the controllers of
Zoph & Le (2017), ENAS and GraphNAS: an LSTM cell reads, at step ``i``, the embedding
of the previous choice plus a learned embedding of decision ``i``, and one linear head
per decision turns its hidden state into logits over that decision's choices.

Masking follows the space: a decision that is inactive given the earlier choices is
skipped (index ``-1``, no log-probability, no entropy; the next step reads a special
"skipped" token), and choices that :meth:`SearchSpace.choice_mask` forbids get zero
probability. Sampling is batched over the ``n`` sequences; only the masks are computed
per sequence in Python, and not at all for decisions that are always active and spaces
without invalid combinations.

The ``reinforce`` strategy trains it with REINFORCE; the generator–critic strategy can
reuse it (``log_prob`` gives teacher-forced log-probabilities for PPO-style updates).

Example:
    >>> import torch
    >>> from archsmith.space import create_space
    >>> space = create_space("mlp", max_layers=2)
    >>> policy = build_policy(space, seed=0)
    >>> idx, logp, ent = policy.sample(3, torch.Generator().manual_seed(0))
    >>> arch = space.from_indices(idx[0])  # valid, inactive decisions are -1
    >>> lp, _ = policy.log_prob(idx)
    >>> bool(torch.allclose(lp, logp))
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from archsmith._checks import check_integers, check_numbers
from archsmith._threads import single_thread
from archsmith.errors import ConfigError
from archsmith.space._base import SearchSpace

if TYPE_CHECKING:
    from archsmith.space import Architecture

__all__ = ["Policy", "build_policy"]


class Policy(nn.Module):
    """Autoregressive LSTM policy over the decisions of ``space``.

    Create it with :func:`build_policy` (which seeds the initialisation) unless its
    parameters are loaded right away.

    Args:
        space: The search space.
        hidden: Size of the LSTM state and of the embeddings.
        tanh_c: When set, logits are squashed to ``tanh_c * tanh(logits)`` (ENAS's
            trick against early collapse); ``None`` keeps raw logits.
        temperature: Logits are divided by it before the (optional) squashing.
    """

    def __init__(
        self,
        space: SearchSpace,
        hidden: int = 64,
        tanh_c: float | None = None,
        temperature: float = 1.0,
    ) -> None:
        super().__init__()
        check_integers("policy", {"hidden": (hidden, 1)})
        check_numbers("policy", {"temperature": temperature, "tanh_c": tanh_c},
                      positive=("temperature", "tanh_c"), optional=("tanh_c",))
        self.space = space
        self.hidden = hidden
        self.tanh_c = tanh_c
        self.temperature = temperature
        decs = space.decisions
        self.sizes = [d.size for d in decs]
        offsets = [0]
        for s in self.sizes:
            offsets.append(offsets[-1] + s)
        self.offsets = offsets[:-1]
        self.start_token = offsets[-1]
        self.skip_token = offsets[-1] + 1
        self.token_emb = nn.Embedding(offsets[-1] + 2, hidden)
        self.pos_emb = nn.Parameter(torch.zeros(len(decs), hidden))
        nn.init.normal_(self.pos_emb, std=0.1)
        self.cell = nn.LSTMCell(hidden, hidden)
        self.heads = nn.ModuleList(nn.Linear(hidden, s) for s in self.sizes)
        # Fast paths: decisions without a parent are always active; spaces that keep the
        # default choice_mask allow every choice.
        self._conditional = [d.parent is not None for d in decs]
        self._masked = type(space).choice_mask is not SearchSpace.choice_mask

    def __len__(self) -> int:
        return len(self.sizes)

    # -- public API ---------------------------------------------------------------------
    def sample(
        self, n: int, generator: torch.Generator
    ) -> tuple[list[list[int]], Tensor, Tensor]:
        """Samples ``n`` decision sequences.

        Args:
            n: Number of sequences.
            generator: The only random source (CPU ``torch.Generator``).

        Returns:
            ``(indices, log_probs, entropies)``: ``n`` index lists (``-1`` for inactive
            decisions), and per sequence the summed log-probability of its choices and
            the summed entropy of the distributions it was drawn from (active decisions
            only). Gradients flow unless called under ``torch.no_grad()``.
        """
        if n < 1:
            raise ConfigError(f"policy: n must be a positive integer, got {n}.")
        with single_thread():
            return self._run(n, generator, None)

    def log_prob(self, indices: Sequence[Sequence[int]]) -> tuple[Tensor, Tensor]:
        """Teacher-forced log-probabilities and entropies of given sequences.

        Args:
            indices: Index lists (e.g. ``arch.indices``); entries of inactive decisions
                are ignored.

        Returns:
            ``(log_probs, entropies)``, one entry per sequence, as in :meth:`sample`.
        """
        rows = [list(r) for r in indices]
        if not rows:
            empty = torch.zeros(0)
            return empty, empty
        for r in rows:
            if len(r) != len(self.sizes):
                raise ConfigError(
                    f"policy: a sequence has {len(r)} entries but the space has "
                    f"{len(self.sizes)} decisions."
                )
        with single_thread():
            _, lp, ent = self._run(len(rows), None, rows)
        return lp, ent

    def log_prob_archs(self, archs: Sequence[Architecture]) -> tuple[Tensor, Tensor]:
        """:meth:`log_prob` of architectures."""
        return self.log_prob([a.indices for a in archs])

    # -- the loop -----------------------------------------------------------------------
    def _run(
        self, n: int, generator: torch.Generator | None, given: list[list[int]] | None
    ) -> tuple[list[list[int]], Tensor, Tensor]:
        space = self.space
        out = [[-1] * len(self.sizes) for _ in range(n)]
        h = torch.zeros(n, self.hidden)
        c = torch.zeros(n, self.hidden)
        tok = torch.full((n,), self.start_token, dtype=torch.long)
        total_lp = torch.zeros(n)
        total_ent = torch.zeros(n)
        for i, size in enumerate(self.sizes):
            x = self.token_emb(tok) + self.pos_emb[i]
            h, c = self.cell(x, (h, c))
            logits = self.heads[i](h) / self.temperature
            if self.tanh_c is not None:
                logits = self.tanh_c * torch.tanh(logits)
            if self._conditional[i]:
                active_list = [space.is_active(i, row) for row in out]
            else:
                active_list = [True] * n
            if self._masked:
                mask = torch.ones(n, size, dtype=torch.bool)
                for b, row in enumerate(out):
                    if active_list[b]:
                        m = space.choice_mask(i, row)
                        mask[b] = torch.from_numpy(m.astype(bool))
                logits = logits.masked_fill(~mask, float("-inf"))
            logp_all = torch.log_softmax(logits, dim=-1)
            probs = logp_all.exp()
            ent = -(probs * logp_all.masked_fill(probs == 0, 0.0)).sum(-1)
            if given is None:
                choice = torch.multinomial(probs.detach(), 1, generator=generator).squeeze(1)
            else:
                choice = torch.tensor(
                    [max(row[i], 0) if act else 0 for row, act in zip(given, active_list,
                                                                        strict=True)],
                    dtype=torch.long,
                )
                if (choice >= size).any():
                    raise ConfigError(
                        f"policy: index out of range for decision "
                        f"{space.decisions[i].name!r} (size {size})."
                    )
            lp = logp_all.gather(1, choice.unsqueeze(1)).squeeze(1)
            active = torch.tensor(active_list, dtype=torch.bool)
            if given is not None and bool(torch.isinf(lp[active]).any()):
                raise ConfigError(
                    f"policy: a sequence uses a forbidden choice of decision "
                    f"{space.decisions[i].name!r}."
                )
            total_lp = total_lp + torch.where(active, lp, torch.zeros_like(lp))
            total_ent = total_ent + torch.where(active, ent, torch.zeros_like(ent))
            tok = torch.where(active, choice + self.offsets[i],
                              torch.full_like(choice, self.skip_token))
            chosen = choice.tolist()
            for b in range(n):
                if active_list[b]:
                    out[b][i] = int(chosen[b])
        return out, total_lp, total_ent


def build_policy(
    space: SearchSpace,
    seed: int,
    hidden: int = 64,
    tanh_c: float | None = None,
    temperature: float = 1.0,
) -> Policy:
    """Creates a :class:`Policy` whose initial weights depend only on ``seed``.

    The global torch RNG is used inside ``torch.random.fork_rng`` only, so it is left
    untouched.

    Example:
        >>> from archsmith.space import create_space
        >>> space = create_space("nb201")
        >>> a, b = build_policy(space, 3), build_policy(space, 3)
        >>> all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))
        True
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return Policy(space, hidden=hidden, tanh_c=tanh_c, temperature=temperature)
