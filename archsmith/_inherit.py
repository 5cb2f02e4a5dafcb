"""Weight inheritance in a search (``inherit=True``, ``--inherit``).

Every trial of such a search keeps its trained weights under ``OUT/checkpoints/``
(the folder multi-fidelity searches use). A new trial starts from the weights of a
stored trial it can be transformed from (:mod:`archsmith.transform`): the parent its
strategy names (evolution's tournament winner, local search's centre, gc's elite edits
one move away, eas's current network) when its weights are kept, else the best-scoring
trial at most ``inherit_moves`` moves away. The driver writes the child's transformed
weights as a checkpoint at epoch 0, and the evaluator fine-tunes it ``inherit_epochs``
from there: at ``inherit_lr`` times its learning rate (the checkpoint's ``lr_scale``)
when the transformation preserves the parent's function, at ``inherit_lr_changing``
(default the full rate) when it changes it (a shrink, a new activation or pooling); a
trial without a parent trains ``epochs`` from scratch. The store records each trial's
parent and moves (:meth:`archsmith.store.Store.lineage`), and strategies see
``TrialRecord.parent``.

Only the checkpoints of the ``keep`` best trials are kept (and no more than
``checkpoint_mb`` in all); a trial whose weights are gone is no longer a parent.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from archsmith.errors import ConfigError

if TYPE_CHECKING:
    from archsmith.search import Search
    from archsmith.space import Architecture
    from archsmith.store import Store
    from archsmith.strategies import TrialRecord

__all__ = ["Inheritance", "check_inherit", "make_inheritance", "trained_best"]

#: Folder of the kept weights, inside the search's folder (shared with schedulers).
CHECKPOINT_DIR = "checkpoints"


def check_inherit(search: Search) -> None:
    """Refuses inheritance where there are no weights to inherit, with the fix."""
    cfg = search.config
    if not cfg.inherit:
        return
    if cfg.source == "benchmark":
        raise ConfigError(
            f"--inherit needs networks with weights, but {cfg.benchmark!r} is a tabular "
            "benchmark (it looks results up, nothing is trained). Use --data to train "
            "networks, or leave out --inherit.")
    from archsmith.space._morph_align import SUPPORTED

    if search.space.name not in SUPPORTED:
        raise ConfigError(
            f"--inherit works on the 'mlp' and 'cnn' spaces (their networks can be "
            f"transformed), not on {search.space.name!r}.")
    if not getattr(search.evaluator, "continues", False) or not hasattr(
            search.evaluator, "dataset"):
        raise ConfigError(
            "--inherit needs an evaluator that trains from given weights (the built-in "
            f"training evaluator); {type(search.evaluator).__name__} does not.")
    if cfg.scheduler is not None:
        raise ConfigError("--inherit cannot be combined with --scheduler yet; use one "
                          "of them.")


def make_inheritance(search: Search) -> Inheritance | None:
    """The search's :class:`Inheritance` (``None`` without ``inherit``), after
    :func:`check_inherit`."""
    check_inherit(search)
    return Inheritance(search) if search.config.inherit else None


class Inheritance:
    """Chooses parents, writes children's initial weights and keeps the store's lineage.

    Args:
        search: The search (``config.inherit`` set, checked by :func:`check_inherit`).
        keep: Trials whose weights are kept as possible parents (the best ones).
    """

    def __init__(self, search: Search, keep: int = 24) -> None:
        cfg = search.config
        self.search = search
        self.epochs = cfg.inherit_epochs or max(1, round((cfg.epochs or 1) / 4))
        self.max_moves = cfg.inherit_moves
        self.dir = search.out / CHECKPOINT_DIR
        self.keep = keep
        self.lineage: dict[int, dict[str, Any]] = {}

    def path(self, number: int) -> Path:
        return self.dir / f"trial-{number}.pt"

    def _key(self, arch: Architecture) -> str:
        from archsmith.evaluators._checkpoint import checkpoint_key

        return checkpoint_key(self.search.evaluator.describe(), arch.hash)

    def _weights(self, rec: TrialRecord) -> dict[str, Any] | None:
        from archsmith.evaluators._checkpoint import load_checkpoint

        state = load_checkpoint(self.path(rec.number), self._key(rec.arch))
        return None if state is None else state.get("net")

    def choose(self, arch: Architecture, history: list[TrialRecord]
               ) -> list[tuple[TrialRecord, list[str]]]:
        """Possible parents of ``arch`` with the moves from each, in order of preference:
        the one its strategy names (it made the child from it, at any distance), then
        the best-scoring trial at most ``inherit_moves`` moves away; empty: from
        scratch."""
        from archsmith.transform import moves

        named = self.search.strategy.parent_of(arch)
        first: list[tuple[TrialRecord, list[str]]] = []
        best: tuple[tuple[float, int, int], TrialRecord, list[str]] | None = None
        for t in history:
            if not (t.complete and t.feasible and self.path(t.number).is_file()):
                continue
            mv = moves(t.arch, arch)
            if mv and t.number == named:  # the strategy made the child from it
                first = [(t, mv)]
            if not mv or len(mv) > self.max_moves:
                continue
            rank = (-float(t.score or 0.0), len(mv), t.number)
            if best is None or rank < best[0]:
                best = (rank, t, mv)
        if best is None or (first and best[1].number == first[0][0].number):
            return first
        return [*first, (best[1], best[2])]

    def prepare(self, number: int, arch: Architecture, history: list[TrialRecord],
                store: Store, sid: int) -> tuple[int, str]:
        """Writes trial ``number``'s initial weights; returns (epochs, checkpoint).
        A parent whose weights are gone or cannot be transformed gives way to the next
        one :meth:`choose` lists."""
        from archsmith.evaluators._checkpoint import save_checkpoint
        from archsmith.evaluators._training import derive_seeds

        cfg, ev = self.search.config, self.search.evaluator
        target = self.path(number)
        target.unlink(missing_ok=True)  # from a run that stopped before it finished
        ds = ev.dataset  # type: ignore[attr-defined]
        seed = derive_seeds(int(getattr(ev, "seed", 0)), arch.hash)[0]
        for parent, mv in self.choose(arch, history):
            sd = self._weights(parent)
            if sd is None:
                continue
            try:
                t = arch.space.transform(parent.arch, arch, sd, input_shape=ds.input_shape,
                                         num_classes=ds.num_classes, seed=seed,
                                         rng=np.random.default_rng([cfg.seed, number]))
            except Exception:  # this parent cannot give weights: try the next
                continue
            try:
                save_checkpoint(target, self._key(arch), {
                    "net": t.state_dict, "epoch": 0, "curve": [], "seconds": 0.0,
                    "parent": parent.number,
                    # a child that computes its parent's function is fine-tuned; one
                    # whose function changed relearns (inherit_lr_changing, default 1)
                    "lr_scale": cfg.inherit_lr if t.preserving else cfg.inherit_lr_changing})
            except Exception:  # e.g. a full disk: this trial trains from scratch
                target.unlink(missing_ok=True)
                break
            store.set_lineage(sid, number, parent.number, mv, t.preserving)
            self.lineage[number] = {"parent": parent.number, "moves": mv,
                                    "preserving": t.preserving}
            return self.epochs, str(target)
        self.forget(store, sid, number)
        return int(cfg.epochs or 1), str(target)

    def forget(self, store: Store, sid: int, number: int) -> None:
        """Trial ``number`` inherits nothing (from scratch, answered from storage, or
        rejected before training)."""
        if number in self.lineage:
            store.set_lineage(sid, number, None)
            del self.lineage[number]

    def load(self, store: Store, sid: int, stored: set[int]) -> None:
        """Reads the lineage; rows of trials that are no longer stored (dropped when a
        run stopped) are deleted, so a re-run of that number starts clean."""
        self.lineage = store.lineage(sid)
        for n in [n for n in self.lineage if n not in stored]:
            self.forget(store, sid, n)

    def parent(self, number: int) -> int | None:
        entry = self.lineage.get(number)
        return None if entry is None else int(entry["parent"])

    def tidy(self, finished: dict[int, TrialRecord], running: set[int]) -> None:
        """Keeps the weights of the ``keep`` best complete trials (and of running ones),
        within ``checkpoint_mb``; deletes the rest."""
        if not self.dir.is_dir():
            return
        ranked = sorted((t for t in finished.values() if t.complete and t.feasible),
                        key=lambda t: (-float(t.score or 0.0), t.number))
        wanted = [t.number for t in ranked[: self.keep]]
        cap = self.search.config.checkpoint_mb * 1e6
        total = 0.0
        kept: set[int] = set()
        for n in wanted:
            f = self.path(n)
            if f.is_file():
                total += f.stat().st_size
                if total <= cap:
                    kept.add(n)
        for f in self.dir.glob("trial-*.pt"):
            try:
                n = int(f.stem.split("-")[1])
            except ValueError:
                continue
            if n not in kept and n not in running:
                f.unlink(missing_ok=True)


def trained_best(search: Search, best: TrialRecord) -> tuple[Any, dict[str, float]] | None:
    """The best trial's own trained weights (an inherited network is the product of its
    lineage's training, which retraining from scratch would not repeat), scored once
    on the test split; ``None`` when its weights are not kept."""
    inh = getattr(search, "inheritance", None)
    if inh is None:
        return None
    sd = inh._weights(best)
    if sd is None:
        return None
    ev: Any = search.evaluator
    return ev.score_weights(  # type: ignore[no-any-return]
        best.arch, sd, float(best.metrics.get("train_seconds", 0.0)))
