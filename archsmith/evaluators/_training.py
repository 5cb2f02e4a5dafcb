"""Evaluates architectures by training them: the :class:`TrainingEvaluator`."""

from __future__ import annotations

import contextlib
import hashlib
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from archsmith._threads import torch_threads
from archsmith.errors import ConfigError, describe_exception
from archsmith.evaluators._base import EvalResult
from archsmith.evaluators._costs import cost_metrics, count_flops, count_params, peak_activation_mb
from archsmith.evaluators._data import Dataset, load_dataset

if TYPE_CHECKING:
    from archsmith.space import Architecture, SearchSpace

__all__ = ["TrainingEvaluator", "derive_seeds"]

#: Batch size of validation/test passes (inference only).
EVAL_BATCH = 1024
class TrainingFailed(Exception):
    """Internal: training of one architecture failed (becomes a failed :class:`EvalResult`)."""


def derive_seeds(seed: int, arch_hash: str, n: int = 2) -> list[int]:
    """Seeds derived from the evaluator seed and an architecture hash.

    Uses :class:`numpy.random.SeedSequence`, so equal ``(seed, arch_hash)`` pairs give
    equal seeds and different pairs give independent streams.

    Example:
        >>> derive_seeds(0, "abc") == derive_seeds(0, "abc") != derive_seeds(1, "abc")
        True
    """
    digest = hashlib.sha256(arch_hash.encode()).digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]
    return [int(s) for s in np.random.SeedSequence([seed, *words]).generate_state(n)]


class TrainingEvaluator:
    """Trains each architecture on a dataset and reports validation accuracy.

    Training uses AdamW (plain Adam when ``weight_decay`` is 0; fused when supported)
    with cross-entropy loss and seeded shuffling; the network's initialisation is seeded from
    ``(seed, arch.hash)``, so evaluating the same architecture twice with the same
    settings gives identical metrics on CPU. Accuracies are in percent (0..100).

    Args:
        data: Dataset spec for :func:`~archsmith.evaluators.load_dataset` (a name such
            as ``"digits"`` or ``"mnist1d"``, or a path) or a loaded :class:`Dataset`.
        epochs: Training epochs when ``evaluate`` gets no budget.
        batch_size: Mini-batch size.
        lr: Learning rate.
        weight_decay: Decoupled weight decay.
        seed: Seed of initialisation and shuffling (and of the data split unless
            ``data_seed`` is given).
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        num_threads: Torch CPU threads used inside ``evaluate`` and ``fit_final``
            (restored afterwards); ``None`` keeps torch's default (one per core). The
            default, 1, is measured: the small networks archsmith trains gain nothing
            from more threads and slow down many times when the cores are shared with
            another job (``benchmarks/loaded_threads.py``, figures in RESULTS.md); run
            more trials at once with process workers instead.
        data_seed: Seed of the train/validation/test split (``None``: ``seed``).
        val_fraction: Validation fraction of the split.
        test_fraction: Test fraction of the split.
        onnx_latency: Also measure ``onnx_latency_ms`` (the network exported to ONNX,
            run by ONNX Runtime on one thread; needs the ``export`` extra). A search
            turns it on when an objective or constraint names ``onnx_latency_ms``.

    Example:
        >>> ev = TrainingEvaluator("iris", epochs=1)
        >>> ev.dataset.input_shape, ev.default_objective
        ((4,), 'val_acc')
    """

    default_objective: str = "val_acc"
    #: The budget counts epochs, and a trial continues from its checkpoint
    #: (:class:`~archsmith.evaluators.MultiFidelity`).
    fidelity: str = "epochs"
    continues: bool = True

    def __init__(
        self,
        data: str | Dataset = "digits",
        epochs: int = 5,
        batch_size: int = 64,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        seed: int = 0,
        device: str = "auto",
        num_threads: int | None = 1,
        data_seed: int | None = None,
        val_fraction: float = 0.15,
        test_fraction: float = 0.15,
        onnx_latency: bool = False,
    ) -> None:
        for name, value, low in (("epochs", epochs, 1), ("batch_size", batch_size, 1),
                                 ("seed", seed, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"{name} must be an integer >= {low}, got {value!r}.")
        if num_threads is not None and (isinstance(num_threads, bool)
                                        or not isinstance(num_threads, int)
                                        or not 1 <= num_threads <= 1024):
            raise ConfigError(
                f"num_threads (--threads) must be an integer from 1 to 1024 or None, got "
                f"{num_threads!r}."
            )
        if not (isinstance(lr, int | float) and math.isfinite(lr) and lr > 0):
            raise ConfigError(f"lr must be a positive number, got {lr!r}.")
        if not (isinstance(weight_decay, int | float) and math.isfinite(weight_decay)
                and weight_decay >= 0):
            raise ConfigError(f"weight_decay must be a number >= 0, got {weight_decay!r}.")
        if not isinstance(data, str | Dataset):
            raise ConfigError(f"data must be a dataset name, a path or a Dataset, got {data!r}.")
        self.data = data
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.seed = seed
        self.device = device
        self.num_threads = num_threads
        self.data_seed = seed if data_seed is None else data_seed
        self.val_fraction = val_fraction
        self.test_fraction = test_fraction
        if not isinstance(onnx_latency, bool):
            raise ConfigError(f"onnx_latency must be true or false, got {onnx_latency!r}.")
        self.onnx_latency = onnx_latency
        self._torch_device = self._resolve_device(device)
        self._dataset: Dataset | None = data if isinstance(data, Dataset) else None
        self._tensors: dict[str, tuple[torch.Tensor, ...]] = {}

    # -- setup --------------------------------------------------------------------------
    @staticmethod
    def _resolve_device(device: str) -> torch.device:
        if device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        try:
            dev = torch.device(device)
        except (RuntimeError, TypeError, ValueError):
            dev = None
        if dev is None or dev.type not in ("cpu", "cuda"):
            raise ConfigError(
                f"Invalid device {device!r}; use 'auto' (CUDA when available), 'cpu', 'cuda' "
                "or 'cuda:N'."
            )
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError(
                f"Device {device!r} was requested but CUDA is not available in this PyTorch "
                "installation; use device='cpu' or 'auto'."
            )
        return dev

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_tensors"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    @property
    def dataset(self) -> Dataset:
        """The dataset (loaded on first use and cached)."""
        if self._dataset is None:
            assert isinstance(self.data, str)
            self._dataset = load_dataset(
                self.data, seed=self.data_seed, val_fraction=self.val_fraction,
                test_fraction=self.test_fraction,
            )
        return self._dataset

    def _data(self, part: str) -> tuple[torch.Tensor, torch.Tensor]:
        key = f"{part}@{self._torch_device}"
        if key not in self._tensors:
            ds = self.dataset
            X, y = getattr(ds, f"X_{part}"), getattr(ds, f"y_{part}")
            self._tensors[key] = (torch.from_numpy(X).to(self._torch_device),
                                  torch.from_numpy(y).to(self._torch_device))
        X_t, y_t = self._tensors[key]
        return X_t, y_t

    def check_space(self, space: SearchSpace) -> None:
        """Raises :class:`~archsmith.errors.SpaceError` if ``space`` cannot model the data."""
        ds = self.dataset
        space.check_data(ds.input_shape, ds.num_classes)

    def _epochs(self, budget: int | float | None) -> int:
        if budget is None:
            return self.epochs
        if isinstance(budget, bool) or not isinstance(budget, int | float) or not (
            math.isfinite(budget) and round(budget) >= 1
        ):
            raise ConfigError(f"The budget (epochs) must be a number >= 1, got {budget!r}.")
        return round(budget)

    # -- training core ------------------------------------------------------------------
    def _rng_context(self) -> contextlib.AbstractContextManager[Any]:
        dev = self._torch_device
        if dev.type == "cuda":
            index = dev.index if dev.index is not None else torch.cuda.current_device()
            return torch.random.fork_rng(devices=[index])
        return torch.random.fork_rng(devices=[])

    def _train(
        self,
        arch: Architecture,
        epochs: int,
        X: torch.Tensor,
        y: torch.Tensor,
        val: tuple[torch.Tensor, torch.Tensor] | None,
        resume: dict[str, Any] | None = None,
        final: dict[str, Any] | None = None,
    ) -> tuple[torch.nn.Module, list[dict[str, float]], float]:
        """Builds and trains ``arch``; returns (network, curve, training seconds).

        With ``resume`` (a checkpoint's state) training goes on from the epoch it reached;
        ``final``, when given, receives the state at the end (for a checkpoint).

        Only the optimisation steps are timed (not building, validation or testing).
        Must run inside :meth:`_rng_context`.

        Raises:
            TrainingFailed: the network cannot be built, run or trained.
        """
        ds = self.dataset
        init_seed, shuffle_seed = derive_seeds(self.seed, arch.hash)
        torch.manual_seed(init_seed)
        try:
            net = arch.space.build(arch, ds.input_shape, ds.num_classes).to(self._torch_device)
        except Exception as e:
            raise TrainingFailed(f"building the network failed: {describe_exception(e)}") from e
        try:
            net.eval()
            with torch.no_grad():
                out = net(X[:2])
        except Exception as e:
            raise TrainingFailed(f"forward pass failed: {describe_exception(e)}") from e
        if not isinstance(out, torch.Tensor):
            raise TrainingFailed(
                f"the network returns {type(out).__name__}, not a tensor of logits"
            )
        if tuple(out.shape) != (len(X[:2]), ds.num_classes):
            raise TrainingFailed(
                f"the network outputs shape {tuple(out.shape)} for a batch of "
                f"{len(X[:2])}, but (batch, num_classes) = ({len(X[:2])}, {ds.num_classes}) "
                "is needed"
            )
        gen = torch.Generator().manual_seed(shuffle_seed)
        n, bs = len(X), self.batch_size
        # A trailing batch of one example breaks batch norm in training mode: drop it.
        stop = n - 1 if n > 1 and n % bs == 1 else n
        curve: list[dict[str, float]] = []
        seconds = 0.0
        epoch = 0
        params = [p for p in net.parameters() if p.requires_grad]
        if not params:
            raise TrainingFailed("the network has no trainable parameters")
        try:
            opt = self._optimizer(params)
            first = 1
            if resume is not None:  # go on exactly where the checkpoint stopped
                net.load_state_dict(resume["net"])
                if "opt" in resume:  # (weights inherited from a parent start afresh,
                    opt.load_state_dict(resume["opt"])  # fine-tuned at lr × lr_scale)
                    gen.set_state(resume["gen"])
                    torch.set_rng_state(resume["rng"])
                else:
                    for group in opt.param_groups:
                        group["lr"] = self.lr * float(resume.get("lr_scale", 1.0))
                curve, seconds = list(resume["curve"]), float(resume["seconds"])
                first = epoch = int(resume["epoch"]) + 1
            for epoch in range(first, epochs + 1):
                t0 = time.perf_counter()
                net.train()
                perm = torch.randperm(n, generator=gen).to(self._torch_device)
                losses = []
                for i in range(0, stop, bs):
                    idx = perm[i : i + bs]
                    loss = self._loss(net(X[idx]), idx, y[idx], X)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    losses.append(loss.detach())
                sizes = torch.full((len(losses),), float(bs), device=self._torch_device)
                sizes[-1] = stop - bs * (len(losses) - 1)
                train_loss = float(torch.stack(losses).float() @ sizes) / stop
                seconds += time.perf_counter() - t0
                if not math.isfinite(train_loss):
                    raise TrainingFailed(
                        f"training diverged: loss is {train_loss} at epoch {epoch} (lr="
                        f"{opt.param_groups[0]['lr']:g}); try a smaller learning rate"
                    )
                entry: dict[str, float] = {"epoch": epoch, "train_loss": train_loss}
                if val is not None:
                    entry["val_loss"], entry["val_acc"] = self._score(net, *val)
                curve.append(entry)
        except TrainingFailed:
            raise
        except Exception as e:
            raise TrainingFailed(
                f"training failed at epoch {epoch}: {describe_exception(e)}"
            ) from e
        net.eval()
        if final is not None:
            final.update(net=net.state_dict(), opt=opt.state_dict(), gen=gen.get_state(),
                         rng=torch.get_rng_state(), curve=curve, seconds=seconds,
                         epoch=max(epochs, int(resume["epoch"]) if resume else 0))
        return net, curve, seconds

    def _optimizer(self, params: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
        """AdamW, fused where PyTorch supports it, else the multi-tensor version.

        The fused kernel (CPU from torch 2.4, CUDA) runs the same algorithm as the
        default implementation and trains small networks about 1.3x faster.
        """
        kwargs: dict[str, Any] = {"lr": self.lr, "weight_decay": self.weight_decay}
        try:
            return torch.optim.AdamW(params, fused=True, **kwargs)
        except (RuntimeError, ValueError, TypeError):
            return torch.optim.AdamW(params, foreach=True, **kwargs)

    @staticmethod
    def _score(net: torch.nn.Module, X: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
        """(mean cross-entropy, accuracy in percent) of ``net`` on ``X, y``."""
        net.eval()
        loss = 0.0
        correct = 0
        with torch.no_grad():
            for i in range(0, len(X), EVAL_BATCH):
                out = net(X[i : i + EVAL_BATCH])
                yb = y[i : i + EVAL_BATCH]
                loss += float(F.cross_entropy(out, yb, reduction="sum"))
                correct += int((out.argmax(dim=1) == yb).sum())
        return loss / len(X), 100.0 * correct / len(X)

    def _cost_metrics(self, net: torch.nn.Module) -> dict[str, float]:
        try:
            return cost_metrics(net, self.dataset.input_shape, self.onnx_latency)
        except RuntimeError as e:
            raise TrainingFailed(str(e)) from e

    def _loss(self, logits: torch.Tensor, idx: torch.Tensor, y: torch.Tensor,
              X: torch.Tensor) -> torch.Tensor:
        """Training loss of the batch ``X[idx]`` with labels ``y``: cross-entropy;
        subclasses change it (distillation from a teacher's logits)."""
        return F.cross_entropy(logits, y)

    # -- public API ---------------------------------------------------------------------
    @property
    def metric_names(self) -> tuple[str, ...]:
        """The metrics :meth:`evaluate` reports (objectives and constraints name these)."""
        return ("val_acc", "val_loss", "params", "flops", "peak_activation_mb", "latency_ms",
                "latency_iqr_ms", "train_seconds", "epochs",
                *(("onnx_latency_ms", "onnx_latency_iqr_ms") if self.onnx_latency else ()))

    def static_metrics(self, arch: Architecture) -> dict[str, float]:
        """``params`` and ``flops`` of ``arch``, known before any training (a search
        checks constraints on them first; see :mod:`archsmith._objectives`)."""
        ds = self.dataset
        with torch_threads(self.num_threads), torch.random.fork_rng(devices=[]):
            net = arch.space.build(arch, ds.input_shape, ds.num_classes)
            return {"params": float(count_params(net)),
                    "flops": count_flops(net, ds.input_shape),
                    "peak_activation_mb": peak_activation_mb(net, ds.input_shape)}

    def evaluate(self, arch: Architecture, budget: int | None = None, *,
                 checkpoint: str | Path | None = None) -> EvalResult:
        """Trains ``arch`` for ``budget`` epochs (default ``epochs``) and scores it.

        With ``checkpoint`` (a file path), training continues from the checkpoint there
        when it holds fewer epochs of the same architecture and settings (a promoted
        trial costs only its new epochs, and ends with the weights of an uninterrupted
        run), and the state reached is saved there afterwards.

        Returns:
            An :class:`EvalResult` with metrics ``val_acc``, ``val_loss`` (accuracy in
            percent, from the last epoch), ``params``, ``flops``, ``latency_ms`` (median
            of timed batch-1 passes), ``latency_iqr_ms`` (their interquartile range),
            ``train_seconds`` and ``epochs``; the test split is left untouched (only
            :meth:`fit_final` scores it, once, for the chosen network); one curve
            entry per epoch; ``cost`` is the wall time of the whole evaluation. Build,
            shape, divergence and out-of-memory problems give a failed result.
        """
        epochs = self._epochs(budget)
        start = time.perf_counter()
        val = self._data("val")
        X, y = self._data("train")
        key: str | None = None
        resume: dict[str, Any] | None = None
        final: dict[str, Any] | None = None
        if checkpoint is not None:
            from archsmith.evaluators._checkpoint import checkpoint_key, load_checkpoint

            key = checkpoint_key(self.describe(), arch.hash)
            resume = load_checkpoint(checkpoint, key)
            if resume is not None and int(resume["epoch"]) > epochs:
                resume = None  # a checkpoint past this budget cannot be rewound
            final = {}
        try:
            with torch_threads(self.num_threads), self._rng_context():
                net, curve, seconds = self._train(arch, epochs, X, y, val, resume, final)
                # the test split is not scored here: only the final best is (fit_final),
                # so nobody picks a network by its test accuracy
                metrics = {"val_acc": curve[-1]["val_acc"], "val_loss": curve[-1]["val_loss"],
                           **self._cost_metrics(net),
                           "train_seconds": seconds, "epochs": float(epochs)}
                if resume is not None:
                    metrics["resumed_from_epoch" if "parent" not in resume
                            else "inherited_from"] = float(resume.get("parent", resume["epoch"]))
            if checkpoint is not None and key is not None and final:
                from archsmith.evaluators._checkpoint import save_checkpoint

                save_checkpoint(checkpoint, key, final)
        except TrainingFailed as e:
            return EvalResult.failure(str(e), cost=time.perf_counter() - start)
        except Exception as e:  # scoring or cost metrics of an odd network
            return EvalResult.failure(
                f"evaluating the trained network failed: {describe_exception(e)}",
                cost=time.perf_counter() - start,
            )
        finally:
            if self._torch_device.type == "cuda":
                torch.cuda.empty_cache()
        return EvalResult(metrics=metrics, cost=time.perf_counter() - start, curve=curve)

    def score_weights(self, arch: Architecture, state_dict: dict[str, Any],
                      train_seconds: float = 0.0
                      ) -> tuple[torch.nn.Module, dict[str, float]]:
        """``arch`` with trained weights kept from the search (no retraining), scored
        once on the test split, as :meth:`fit_final` returns it."""
        ds = self.dataset
        with torch_threads(self.num_threads), torch.random.fork_rng(devices=[]):
            net = arch.space.build(arch, ds.input_shape, ds.num_classes)
            net.load_state_dict(state_dict)
            net = net.to(self._torch_device).eval()
            loss, acc = self._score(net, *self._data("test"))
            net = net.cpu().eval()
            return net, {"test_acc": acc, "test_loss": loss, **self._cost_metrics(net),
                         "train_seconds": float(train_seconds)}

    def fit_final(
        self, arch: Architecture, budget: int | None = None
    ) -> tuple[torch.nn.Module, dict[str, float]]:
        """Retrains ``arch`` on train + validation data and tests it.

        Uses the same seeds as :meth:`evaluate`.

        Returns:
            The trained network (on CPU, in eval mode) and metrics ``test_acc`` (percent),
            ``test_loss``, ``params``, ``flops``, ``latency_ms`` and ``train_seconds``.

        Raises:
            ConfigError: Training diverged or failed (the message says why).
        """
        net, seconds = self.train_final(arch, budget)
        return self.score_weights(arch, net.state_dict(), seconds)

    def train_final(self, arch: Architecture, budget: int | None = None,
                    start: dict[str, Any] | None = None) -> tuple[torch.nn.Module, float]:
        """Trains ``arch`` on train + validation data (from ``start``, a checkpoint's
        state, when given); returns the network and its training seconds.

        Raises:
            ConfigError: Training diverged or failed (the message says why).
        """
        ds = self.dataset
        X = torch.from_numpy(np.concatenate([ds.X_train, ds.X_val])).to(self._torch_device)
        y = torch.from_numpy(np.concatenate([ds.y_train, ds.y_val])).to(self._torch_device)
        try:
            with torch_threads(self.num_threads), self._rng_context():
                net, _, seconds = self._train(arch, self._epochs(budget), X, y, None, start)
        except TrainingFailed as e:
            raise ConfigError(f"Final training of {arch!r} failed: {e}.") from None
        return net, seconds

    def describe(self) -> dict[str, Any]:
        """Settings and the dataset's provenance (including its fingerprint)."""
        ds = self.dataset
        return {
            "kind": "training",
            "data": self.data if isinstance(self.data, str) else self.data.name,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "weight_decay": self.weight_decay,
            "optimizer": "AdamW",
            "seed": self.seed,
            "data_seed": self.data_seed,
            "val_fraction": self.val_fraction,
            "test_fraction": self.test_fraction,
            "device": self.device,
            "num_threads": self.num_threads,
            "dataset": ds.info,
            **({"onnx_latency": True} if self.onnx_latency else {}),
        }

    def __repr__(self) -> str:
        name = self.data if isinstance(self.data, str) else self.data.name
        return (f"TrainingEvaluator(data={name!r}, epochs={self.epochs}, "
                f"batch_size={self.batch_size}, lr={self.lr:g}, seed={self.seed})")
