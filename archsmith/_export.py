"""Saving, loading and exporting the best network of a search.

``OUT/best/`` holds ``arch.json`` (space, space config, decisions, input shape,
number of classes, class names, the data's provenance and its ``preprocessing``),
``weights.pt`` (the plain ``state_dict`` of the trained network), ``model.onnx`` and
``metrics.json``. :func:`load` rebuilds the network from the space, loads the weights
with ``torch.load(weights_only=True)`` (no pickle, no custom objects) and puts the
recorded preprocessing in front of it as a first layer, :class:`Preprocess`. So the
loaded network, ``model.onnx`` and :func:`export`'s files all take *raw* inputs — the
numbers of a CSV or ``.npz`` file, image pixels 0..255 — exactly as the training data
was read, and apply ``(raw * scale - mean) / std`` themselves.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from archsmith.errors import ArchsmithError, ConfigError

if TYPE_CHECKING:
    from archsmith.evaluators._data import Dataset
    from archsmith.space import Architecture, SearchSpace

__all__ = ["Preprocess", "RawInputModel", "export", "load", "save_best"]

ARCH_FILE = "arch.json"
WEIGHTS_FILE = "weights.pt"
ONNX_FILE = "model.onnx"
ONNX_ERROR_FILE = "onnx_error.txt"
METRICS_FILE = "metrics.json"


class Preprocess(torch.nn.Module):
    """Turns raw inputs into what the network was trained on: ``(x * scale - mean) / std``.

    Args:
        scale: Factor applied first (``1/255`` for 8-bit images, else 1).
        mean: Per-channel (or per-feature) means of the scaled training inputs.
        std: Per-channel (or per-feature) standard deviations of the scaled training inputs.
        input_shape: Shape of one input; ``mean``/``std`` index its first axis.

    Example:
        >>> pre = Preprocess(0.5, [1.0, 2.0], [2.0, 4.0], (2,))
        >>> pre(torch.tensor([[4.0, 8.0]])).tolist()
        [[0.5, 0.5]]
    """

    scale: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor

    def __init__(
        self, scale: float, mean: list[float], std: list[float], input_shape: tuple[int, ...]
    ) -> None:
        super().__init__()
        if len(mean) != input_shape[0] or len(std) != input_shape[0]:
            raise ConfigError(
                f"The recorded preprocessing has {len(mean)} means and {len(std)} standard "
                f"deviations but inputs of shape {input_shape} need {input_shape[0]}; "
                "arch.json is inconsistent."
            )
        shape = (1, -1) + (1,) * (len(input_shape) - 1)
        self.register_buffer("scale", torch.tensor(float(scale), dtype=torch.float32))
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).reshape(shape))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).reshape(shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.to(self.mean.dtype) * self.scale - self.mean) / self.std

    def extra_repr(self) -> str:
        return f"scale={float(self.scale):.6g}, channels={self.mean.numel()}"


class RawInputModel(torch.nn.Module):
    """A trained network with its input preprocessing in front.

    Attributes:
        preprocess: The :class:`Preprocess` layer.
        net: The trained network (takes standardised inputs).
    """

    def __init__(self, preprocess: Preprocess, net: torch.nn.Module) -> None:
        super().__init__()
        self.preprocess = preprocess
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.preprocess(x))


def preprocessing_of(meta: dict[str, Any]) -> dict[str, Any] | None:
    """The preprocessing recorded in an ``arch.json`` dict (``None`` for old runs)."""
    prep = meta.get("preprocessing") or (meta.get("data") or {}).get("preprocessing")
    return prep if isinstance(prep, dict) else None


def with_preprocessing(net: torch.nn.Module, meta: dict[str, Any]) -> torch.nn.Module:
    """``net`` behind the preprocessing recorded in ``meta``.

    Runs written before the preprocessing was recorded give ``net`` itself (which
    expects standardised inputs), with a warning.
    """
    prep = preprocessing_of(meta)
    if prep is None:
        warnings.warn(
            "This run's arch.json records no input preprocessing (it was written by an "
            "older archsmith, or the dataset was built without load_dataset): the network "
            "expects standardised inputs, see arch.json's data.standardisation. Re-run the "
            "search to get a network that takes raw inputs.", UserWarning, stacklevel=3,
        )
        return net
    shape = tuple(int(s) for s in meta["input_shape"])
    pre = Preprocess(prep["scale"], prep["mean"], prep["std"], shape)
    return RawInputModel(pre, net).eval()


def save_best(
    folder: Path,
    space: SearchSpace,
    arch: Architecture,
    info: dict[str, Any],
    model: torch.nn.Module | None = None,
    dataset: Dataset | None = None,
) -> list[str]:
    """Writes the best architecture (and its trained model, if any) to ``folder``.

    ``model.onnx`` holds the network with its preprocessing (raw inputs). When the ONNX
    export fails, the weights are still written, the reason goes to ``onnx_error.txt``,
    into ``info["onnx_error"]`` (and so ``metrics.json``) and a warning is issued.

    Args:
        folder: The ``best/`` folder (created).
        space: The search space.
        arch: The best architecture.
        info: What ``metrics.json`` holds (may gain ``onnx_error``).
        model: The trained network (takes standardised inputs), if any.
        dataset: The dataset it was trained on (needed with ``model``).

    Returns:
        The names of the files written.
    """
    from archsmith._fs import make_out_dir

    make_out_dir(folder, "the folder of the exported network")
    meta: dict[str, Any] = {
        "space": space.name,
        "space_config": space.config(),
        "decisions": arch.values,
        "hash": arch.hash,
    }
    if dataset is not None:
        meta["input_shape"] = list(dataset.input_shape)
        meta["num_classes"] = int(dataset.num_classes)
        meta["class_names"] = dataset.class_names
        if "preprocessing" in dataset.info:
            meta["preprocessing"] = dataset.info["preprocessing"]
        meta["data"] = dataset.info
    written = [ARCH_FILE, METRICS_FILE]
    # files of an earlier best must not stay beside this one's arch.json
    for stale in (WEIGHTS_FILE, ONNX_FILE, ONNX_ERROR_FILE):
        (folder / stale).unlink(missing_ok=True)
    (folder / ARCH_FILE).write_text(json.dumps(meta, indent=2, default=str) + "\n")
    if model is not None and dataset is not None:
        torch.save(model.state_dict(), folder / WEIGHTS_FILE)
        written.append(WEIGHTS_FILE)
        full = with_preprocessing(model.cpu().eval(), meta)
        try:
            _export_onnx(full, tuple(dataset.input_shape), folder / ONNX_FILE)
            written.append(ONNX_FILE)
            (folder / ONNX_ERROR_FILE).unlink(missing_ok=True)
        except Exception as e:  # an op without an ONNX mapping must not lose the weights
            reason = f"{type(e).__name__}: {' '.join(str(e).split())[:500]}"
            (folder / ONNX_FILE).unlink(missing_ok=True)
            (folder / ONNX_ERROR_FILE).write_text(reason + "\n")
            written.append(ONNX_ERROR_FILE)
            info["onnx_error"] = reason
            warnings.warn(
                f"The ONNX export of the best network failed ({reason}); weights.pt and "
                f"arch.json were written and archsmith.load({str(folder.parent)!r}) works.",
                RuntimeWarning, stacklevel=2,
            )
    (folder / METRICS_FILE).write_text(json.dumps(info, indent=2, default=str) + "\n")
    return written


def _best_dir(path: str | Path) -> Path:
    p = Path(path)
    if (p / "best" / ARCH_FILE).is_file():
        return p / "best"
    if (p / ARCH_FILE).is_file():
        return p
    raise ConfigError(
        f"{p} holds no trained network (no best/{ARCH_FILE}). Give the output folder of a "
        "finished search that trained its best network (real-data searches do; "
        "benchmark searches have no weights)."
    )


def read_meta(path: str | Path) -> tuple[Path, dict[str, Any]]:
    """The ``best/`` folder of a run and its ``arch.json``.

    Raises:
        ConfigError: No ``arch.json`` there, or it is not valid JSON.
    """
    folder = _best_dir(path)
    try:
        meta = json.loads((folder / ARCH_FILE).read_text())
    except (OSError, ValueError) as e:
        raise ConfigError(f"Could not read {folder / ARCH_FILE}: {e}.") from None
    _check_meta(folder / ARCH_FILE, meta)
    return folder, meta


def _check_meta(path: Path, meta: Any) -> None:
    """Raises a clear :class:`ConfigError` for an ``arch.json`` of the wrong shape."""
    problem = None
    if not isinstance(meta, dict):
        problem = "it is not a JSON object"
    elif not isinstance(meta.get("space"), str) or not isinstance(meta.get("decisions"), dict):
        problem = "it lacks 'space' (a name) or 'decisions' (an object)"
    elif "input_shape" in meta and not (
        isinstance(meta["input_shape"], list)
        and all(isinstance(s, int) and s > 0 for s in meta["input_shape"])
        and isinstance(meta.get("num_classes"), int)
    ):
        problem = "its input_shape or num_classes is malformed"
    else:
        prep = preprocessing_of(meta)
        if prep is not None and not all(k in prep for k in ("scale", "mean", "std")):
            problem = "its preprocessing lacks scale, mean or std"
    if problem:
        raise ConfigError(f"{path} is damaged: {problem}. It is written by archsmith at the "
                          "end of a search; re-run the search, or `archsmith export OUT "
                          "--trial N` to write a trial again.")


def load(
    path: str | Path, space: SearchSpace | None = None, *, preprocess: bool = True
) -> torch.nn.Module:
    """Loads the trained best network of a search.

    Args:
        path: The search's output folder (or its ``best/`` folder).
        space: The space object, needed only for custom spaces that are not registered.
        preprocess: Put the recorded preprocessing in front, so the network takes raw
            inputs (CSV/``.npz`` numbers, image pixels 0..255). ``False`` gives the bare
            network, which expects standardised inputs.

    Returns:
        The network in eval mode on the CPU: a :class:`RawInputModel` (attributes
        ``preprocess`` and ``net``), or the bare network with ``preprocess=False`` or for
        runs whose ``arch.json`` records no preprocessing (with a warning).
    """
    folder, meta = read_meta(path)
    if not (folder / WEIGHTS_FILE).is_file() or "input_shape" not in meta:
        raise ConfigError(f"{folder} holds an architecture but no trained weights.")
    model = build_from_meta(meta, space)
    try:
        state = torch.load(folder / WEIGHTS_FILE, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ConfigError(f"{folder / WEIGHTS_FILE} is not a readable weights file "
                          f"({type(e).__name__}: {' '.join(str(e).split())[:200]}). Re-run "
                          "the search, or `archsmith export --trial N` to retrain.") from None
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as e:
        raise ConfigError(f"{folder / WEIGHTS_FILE} does not fit the architecture in "
                          f"{folder / ARCH_FILE} ({' '.join(str(e).split())[:200]}). The "
                          "two files come from different networks.") from None
    model.eval()
    return with_preprocessing(model, meta) if preprocess else model


def build_from_meta(meta: dict[str, Any], space: SearchSpace | None = None) -> torch.nn.Module:
    """Builds the (untrained) network described by an ``arch.json`` dict."""
    if space is None:
        from archsmith.space import create_space, space_names

        if meta["space"] not in space_names():
            raise ConfigError(
                f"Space {meta['space']!r} is not registered; pass the space object: "
                "archsmith.load(path, space=my_space)."
            )
        space = create_space(meta["space"], **meta.get("space_config", {}))
    arch = space.make(meta["decisions"])
    return space.build(arch, tuple(meta["input_shape"]), int(meta["num_classes"]))


def _export_onnx(model: torch.nn.Module, input_shape: tuple[int, ...], path: Path) -> None:
    example = torch.zeros((1, *input_shape))
    model = model.cpu().eval()
    with warnings.catch_warnings():
        # the TorchScript-based exporter is deprecated but ~10x faster than the dynamo one
        # for these small networks; fall back to the dynamo exporter if it goes away
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(
                model, (example,), str(path), input_names=["input"], output_names=["logits"],
                dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False,
            )
        except (TypeError, NotImplementedError, RuntimeError):
            torch.onnx.export(model, (example,), str(path), input_names=["input"],
                              output_names=["logits"], dynamo=True)


def export(path: str | Path, fmt: str = "onnx", space: SearchSpace | None = None) -> Path:
    """Exports the trained best network as ONNX or TorchScript; returns the file path.

    The exported model includes the preprocessing, so it takes raw inputs like
    :func:`load`'s.
    """
    folder, meta = read_meta(path)
    model = load(folder, space)
    shape = tuple(meta["input_shape"])
    if fmt == "onnx":
        target = folder / ONNX_FILE
        try:
            _export_onnx(model, shape, target)
        except Exception as e:
            raise ArchsmithError(f"ONNX export failed ({type(e).__name__}: "
                                 f"{' '.join(str(e).split())[:300]}); try --format "
                                 "torchscript, or use weights.pt with archsmith.load.") from None
    elif fmt == "torchscript":
        target = folder / "model.torchscript.pt"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                scripted = torch.jit.trace(model, torch.zeros((1, *shape)))
                scripted.save(str(target))
        except Exception as e:
            raise ArchsmithError(f"TorchScript export failed: {e}") from None
    else:
        raise ConfigError(f"Unknown export format {fmt!r}; valid formats: onnx, torchscript.")
    return target
