"""Students of a trained teacher, trained by knowledge distillation (N2N, Ashok et al.
2018): each student architecture starts from the teacher's weights transformed to its
shape (:mod:`archsmith.transform`: the largest units of narrowed layers kept, removed
layers dropped) and learns from the teacher's softened logits (Hinton et al. 2015) and
the labels. The trained student's weights are kept, so the exported network is the
student that was scored (unless a ``final_teacher`` is given, below).

When the teacher's weights have seen the validation split (a search's exported best is
retrained on train+validation), students are chosen with a teacher trained on the
training split only, and ``final_teacher`` names the full one: the chosen student is
then distilled again from it on train+validation, as a search retrains its best.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from archsmith.errors import ConfigError
from archsmith.evaluators._training import TrainingEvaluator

if TYPE_CHECKING:
    from archsmith.evaluators._base import EvalResult
    from archsmith.space import Architecture

__all__ = ["DistillEvaluator", "load_teacher", "weights_sha256"]


def weights_sha256(path: str | Path) -> str:
    """The sha256 of the weights file of the teacher in ``path`` (its identity)."""
    from archsmith._export import WEIGHTS_FILE, read_meta

    folder, _ = read_meta(path)
    return hashlib.sha256((folder / WEIGHTS_FILE).read_bytes()).hexdigest()


def load_teacher(path: str | Path) -> tuple[Architecture, dict[str, torch.Tensor],
                                              dict[str, Any]]:
    """The teacher in ``path`` (a run folder, its ``best/``, or a folder holding
    ``arch.json`` and ``weights.pt``): architecture, weights and ``arch.json``.

    Raises:
        ConfigError: no such files, a space the transformations do not support, or
            weights that do not match the architecture.
    """
    from archsmith._export import WEIGHTS_FILE, read_meta
    from archsmith.errors import SpaceError
    from archsmith.space import create_space, space_names

    folder, meta = read_meta(path)
    if meta["space"] not in ("mlp", "cnn"):
        known = "registered" if meta["space"] in space_names() else "unknown"
        raise ConfigError(
            f"The teacher in {folder} is a network of the {known} space {meta['space']!r}; "
            "compress works on 'mlp' and 'cnn' networks (their layers can be removed and "
            "narrowed).")
    if not (folder / WEIGHTS_FILE).is_file() or "input_shape" not in meta:
        raise ConfigError(f"{folder} holds an architecture but no trained weights "
                          f"({WEIGHTS_FILE}); give the best/ folder of a search on real data.")
    try:
        space = create_space(meta["space"], **meta.get("space_config", {}))
        arch = space.make(meta["decisions"])
    except (SpaceError, ConfigError) as e:
        raise ConfigError(f"The teacher's arch.json in {folder} is not an architecture of "
                          f"the {meta['space']!r} space: {e}") from None
    try:
        sd = torch.load(folder / WEIGHTS_FILE, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ConfigError(f"{folder / WEIGHTS_FILE} is not a readable weights file "
                          f"({type(e).__name__}).") from None
    net = space.build(arch, tuple(meta["input_shape"]), int(meta["num_classes"]))
    try:
        net.load_state_dict(sd)
    except (RuntimeError, TypeError) as e:
        first = " ".join(str(e).split())[:300]
        raise ConfigError(f"The teacher's weights in {folder} do not match its "
                          f"architecture ({space.compact(arch)}): {first}") from None
    return arch, sd, meta


class DistillEvaluator(TrainingEvaluator):
    """A :class:`TrainingEvaluator` whose networks are students of ``teacher``.

    Args:
        teacher: Folder of the teacher (see :func:`load_teacher`).
        data: The data the teacher was trained on (the same split settings).
        temperature: Softening of both logits in the distillation term.
        alpha: Weight of the distillation term (``1 - alpha``: the labels' cross-entropy).
        students: Folder where trained students' weights are kept (``None``: not kept).
        final_teacher: Folder of the teacher that :meth:`fit_final` distils from, on
            train+validation (``None``: ``fit_final`` gives the student's kept weights).
        **kwargs: Further :class:`TrainingEvaluator` settings.
    """

    #: ``fit_final`` gives the student's own trained weights (no retraining); an instance
    #: with a ``final_teacher`` sets it to ``False`` (its ``fit_final`` distils again).
    keeps_weights: bool = True
    #: Every student starts from the teacher: no inheritance, no continued checkpoints.
    continues: bool = False

    def __init__(self, teacher: str | Path, data: Any = "digits", *,
                 temperature: float = 4.0, alpha: float = 0.9,
                 students: str | Path | None = None,
                 final_teacher: str | Path | None = None, **kwargs: Any) -> None:
        super().__init__(data=data, **kwargs)
        if not (isinstance(temperature, int | float) and temperature > 0):
            raise ConfigError(f"temperature must be a positive number, got {temperature!r}.")
        if not (isinstance(alpha, int | float) and 0 <= alpha <= 1):
            raise ConfigError(f"alpha must be a number in [0, 1], got {alpha!r}.")
        self.teacher = str(teacher)
        self.temperature, self.alpha = float(temperature), float(alpha)
        self.students = None if students is None else str(students)
        self.teacher_arch, self._teacher_sd, meta = load_teacher(teacher)
        ds = self.dataset
        if tuple(meta["input_shape"]) != ds.input_shape or int(meta["num_classes"]) != \
                ds.num_classes:
            raise ConfigError(
                f"The teacher takes inputs {tuple(meta['input_shape'])} with "
                f"{meta['num_classes']} classes, but the data have {ds.input_shape} with "
                f"{ds.num_classes}; give the data it was trained on.")
        self._soft: dict[int, torch.Tensor] = {}
        self._teacher_sha = weights_sha256(self.teacher)
        self.final_teacher = None if final_teacher is None else str(final_teacher)
        self.keeps_weights = self.final_teacher is None
        self._final_sha: str | None = None
        if self.final_teacher is not None:
            self._final_sha = weights_sha256(self.final_teacher)
            final_arch, _, _ = load_teacher(self.final_teacher)
            if final_arch.hash != self.teacher_arch.hash:
                raise ConfigError(f"final_teacher {self.final_teacher} is another network "
                                  f"than the teacher {self.teacher}.")

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_soft"] = {}
        return state

    def _teacher_net(self) -> torch.nn.Module:
        ds = self.dataset
        net = self.teacher_arch.space.build(self.teacher_arch, ds.input_shape, ds.num_classes)
        net.load_state_dict(self._teacher_sd)
        return net.to(self._torch_device).eval()

    def _soft_targets(self, X: torch.Tensor) -> torch.Tensor:
        """The teacher's logits on ``X`` (built outside the training's random stream, so
        a student trains alike whenever it is evaluated)."""
        key = id(X)
        if key not in self._soft:
            with torch.no_grad(), torch.random.fork_rng(devices=[]):
                net = self._teacher_net()
                self._soft = {key: torch.cat([net(X[i : i + 1024])
                                              for i in range(0, len(X), 1024)])}
        return self._soft[key]

    def _loss(self, logits: torch.Tensor, idx: torch.Tensor, y: torch.Tensor,
              X: torch.Tensor) -> torch.Tensor:
        soft = self._soft_targets(X)[idx]
        t = self.temperature
        soft = F.kl_div(F.log_softmax(logits / t, dim=1),
                        F.log_softmax(soft / t, dim=1),
                        reduction="batchmean", log_target=True) * t * t
        return self.alpha * soft + (1 - self.alpha) * F.cross_entropy(logits, y)

    def teacher_metrics(self) -> dict[str, float]:
        """The teacher's validation and test accuracy and its parameters."""
        net = self._teacher_net()
        _, val = self._score(net, *self._data("val"))
        _, test = self._score(net, *self._data("test"))
        return {"val_acc": val, "test_acc": test,
                "params": float(sum(p.numel() for p in net.parameters()))}

    def _student_path(self, arch: Architecture) -> Path | None:
        return None if self.students is None else Path(self.students) / f"{arch.hash}.pt"

    def evaluate(self, arch: Architecture, budget: int | None = None, *,
                 checkpoint: str | Path | None = None) -> EvalResult:
        """Trains the student ``arch`` from the teacher's transformed weights (``checkpoint``
        is not used: every student starts from the teacher)."""
        import tempfile

        self._soft_targets(self._data("train")[0])
        path = self._student_path(arch)
        if path is None:  # nothing is kept: train from a temporary checkpoint
            with tempfile.TemporaryDirectory(prefix="archsmith-student-") as tmp:
                return self._distil(arch, budget, Path(tmp) / "s.pt")
        return self._distil(arch, budget, path)

    def _start_weights(self, arch: Architecture) -> dict[str, torch.Tensor]:
        """The teacher's weights transformed to the student ``arch``."""
        from archsmith.evaluators._training import derive_seeds

        ds = self.dataset
        return arch.space.transform(self.teacher_arch, arch, self._teacher_sd,
                                    input_shape=ds.input_shape, num_classes=ds.num_classes,
                                    seed=derive_seeds(self.seed, arch.hash)[0]).state_dict

    def _distil(self, arch: Architecture, budget: int | None, target: Path) -> EvalResult:
        from archsmith.evaluators._checkpoint import checkpoint_key, save_checkpoint
        save_checkpoint(target, checkpoint_key(self.describe(), arch.hash),
                        {"net": self._start_weights(arch), "epoch": 0, "curve": [],
                         "seconds": 0.0})
        result = super().evaluate(arch, budget, checkpoint=target)
        result.metrics.pop("inherited_from", None)
        result.metrics.pop("resumed_from_epoch", None)
        return result

    def fit_final(self, arch: Architecture, budget: int | None = None
                  ) -> tuple[torch.nn.Module, dict[str, float]]:
        """The student's own trained weights (kept by :meth:`evaluate`), scored once on
        the test split; retrained by distillation when they are not kept. With a
        ``final_teacher``: the student distilled from it on train+validation, from its
        transformed weights."""
        from archsmith.evaluators._checkpoint import checkpoint_key, load_checkpoint

        if self.final_teacher is not None:
            return self._distil_final(arch, budget)

        path = self._student_path(arch)
        state = None if path is None else load_checkpoint(
            path, checkpoint_key(self.describe(), arch.hash))
        if state is None:
            self.evaluate(arch, budget)
            state = None if path is None else load_checkpoint(
                path, checkpoint_key(self.describe(), arch.hash))
        if state is None:
            raise ConfigError(f"The student {arch!r} has no kept weights.")
        return self.score_weights(arch, state["net"], float(state.get("seconds", 0.0)))

    def _distil_final(self, arch: Architecture, budget: int | None
                      ) -> tuple[torch.nn.Module, dict[str, float]]:
        import copy

        assert self.final_teacher is not None
        final = copy.copy(self)  # the same settings, the full teacher
        final.teacher_arch, final._teacher_sd, _ = load_teacher(self.final_teacher)
        final._soft = {}
        start = {"net": final._start_weights(arch), "epoch": 0, "curve": [], "seconds": 0.0}
        net, seconds = final.train_final(arch, budget, start)
        return self.score_weights(arch, net.state_dict(), seconds)

    def describe(self) -> dict[str, Any]:
        out = {**super().describe(), "kind": "distill", "teacher": self.teacher,
               "teacher_sha256": self._teacher_sha, "temperature": self.temperature,
               "alpha": self.alpha}
        if self.final_teacher is not None:
            out["final_teacher"] = self.final_teacher
            out["final_teacher_sha256"] = self._final_sha
        return out
