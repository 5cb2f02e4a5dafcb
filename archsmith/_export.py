"""Saving, loading and exporting the best network of a search.

``OUT/best/`` holds ``arch.json`` (space, space config, decisions, input shape,
number of classes, input standardisation), ``weights.pt`` (a plain ``state_dict``),
``model.onnx`` and ``metrics.json``. :func:`load` rebuilds the module from the space
and loads the weights with ``torch.load(weights_only=True)``: no pickle, no custom
objects.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archsmith.errors import ArchsmithError, ConfigError

if TYPE_CHECKING:
    import torch

    from archsmith.evaluators._data import Dataset
    from archsmith.space import Architecture, SearchSpace

__all__ = ["export", "load", "save_best"]

ARCH_FILE = "arch.json"
WEIGHTS_FILE = "weights.pt"
ONNX_FILE = "model.onnx"
METRICS_FILE = "metrics.json"


def save_best(
    folder: Path,
    space: SearchSpace,
    arch: Architecture,
    info: dict[str, Any],
    model: torch.nn.Module | None = None,
    dataset: Dataset | None = None,
) -> list[str]:
    """Writes the best architecture (and its trained model, if any) to ``folder``.

    Returns:
        The names of the files written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {
        "space": space.name,
        "space_config": space.config(),
        "decisions": arch.values,
        "hash": arch.hash,
    }
    if dataset is not None:
        meta["input_shape"] = list(dataset.input_shape)
        meta["num_classes"] = int(dataset.num_classes)
        meta["data"] = dataset.info
    written = [ARCH_FILE, METRICS_FILE]
    (folder / ARCH_FILE).write_text(json.dumps(meta, indent=2, default=str) + "\n")
    (folder / METRICS_FILE).write_text(json.dumps(info, indent=2, default=str) + "\n")
    if model is not None and dataset is not None:
        import torch

        torch.save(model.state_dict(), folder / WEIGHTS_FILE)
        written.append(WEIGHTS_FILE)
        try:
            _export_onnx(model, tuple(dataset.input_shape), folder / ONNX_FILE)
            written.append(ONNX_FILE)
        except Exception as e:  # an op without an ONNX mapping must not lose the weights
            (folder / "onnx_error.txt").write_text(f"{type(e).__name__}: {e}\n")
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


def load(path: str | Path, space: SearchSpace | None = None) -> torch.nn.Module:
    """Loads the trained best network of a search.

    Args:
        path: The search's output folder (or its ``best/`` folder).
        space: The space object, needed only for custom spaces that are not registered.

    Returns:
        The network in eval mode on the CPU. It expects standardised inputs; the
        standardisation is stored in ``best/arch.json`` under ``data``.
    """
    import torch

    folder = _best_dir(path)
    meta = json.loads((folder / ARCH_FILE).read_text())
    if not (folder / WEIGHTS_FILE).is_file() or "input_shape" not in meta:
        raise ConfigError(f"{folder} holds an architecture but no trained weights.")
    model = build_from_meta(meta, space)
    state = torch.load(folder / WEIGHTS_FILE, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    model.eval()
    return model


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
    import torch

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
    """Exports the trained best network as ONNX or TorchScript; returns the file path."""
    import torch

    folder = _best_dir(path)
    model = load(folder, space)
    meta = json.loads((folder / ARCH_FILE).read_text())
    shape = tuple(meta["input_shape"])
    if fmt == "onnx":
        target = folder / ONNX_FILE
        _export_onnx(model, shape, target)
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
