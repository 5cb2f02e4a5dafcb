"""A plain ``torch.nn.Sequential`` teacher for ``archsmith compress``.

A network trained outside archsmith, saved whole with ``torch.save(model, "net.pt")``,
is read as a network of the ``mlp`` space: its layers must be an optional ``Flatten``,
then blocks ``Linear → [BatchNorm1d | LayerNorm] → [activation] → [Dropout]`` and a
final ``Linear`` (the classifier). The space's widths, activations and dropouts are
extended by the teacher's own, so every layer keeps its size.

Such a network was trained on the data's raw values, while archsmith's networks see
them standardised (``(raw * scale - mean) / std``, see
:func:`archsmith.evaluators.load_dataset`); the standardisation is folded into the first
``Linear`` layer (``W' = W·std/scale``, ``b' = b + W·mean/scale``), so the converted
network computes exactly the teacher's function on the same examples, which is checked.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from archsmith.errors import ConfigError

if TYPE_CHECKING:
    import torch

__all__ = ["sequential_teacher", "teacher_folder"]

#: torch.nn activation classes and the ``mlp`` space's names for them (default arguments).
_ACTS = {"ReLU": "relu", "GELU": "gelu", "SiLU": "silu", "Tanh": "tanh",
         "Sigmoid": "sigmoid", "LeakyReLU": "leaky_relu", "ELU": "elu", "Identity": "identity"}
_SUPPORTED = ("Flatten (first), Linear, BatchNorm1d, LayerNorm, Dropout and the "
              "activations " + ", ".join(_ACTS))


def _check_settings(m: torch.nn.Module, j: int, where: Path) -> None:
    """Refuses a layer whose settings the ``mlp`` space does not build, naming them."""
    from torch import nn

    fresh: nn.Module | None = None
    keys: tuple[str, ...] = ()
    if type(m).__name__ in _ACTS:
        fresh, keys = type(m)(), ("negative_slope", "alpha", "approximate")
    elif type(m) is nn.BatchNorm1d:
        fresh = nn.BatchNorm1d(m.num_features)  # type: ignore[arg-type]
        keys = ("eps", "affine", "track_running_stats")
    elif type(m) is nn.LayerNorm:
        fresh = nn.LayerNorm(m.normalized_shape)  # type: ignore[arg-type]
        keys = ("eps", "elementwise_affine")
        if getattr(m, "bias", True) is None:
            keys = (*keys, "bias")
    elif type(m) is nn.Dropout and not 0.0 <= float(m.p) < 1.0:  # type: ignore[arg-type]
        raise ConfigError(f"{where}: layer {j} ({m}) drops every unit; p must be below 1.")
    bad = [k for k in keys if getattr(m, k, None) != getattr(fresh, k, None)]
    if bad:
        raise ConfigError(
            f"{where}: layer {j} ({m}) sets {', '.join(bad)} differently from the "
            "defaults the mlp space builds it with; only default settings can be read.")


def _blocks(net: torch.nn.Sequential, where: Path) -> tuple[list[dict[str, Any]], Any]:
    """The hidden blocks (``{"linear", "norm", "act", "dropout"}``) and the head."""
    from torch import nn

    def layers(seq: torch.nn.Sequential) -> list[torch.nn.Module]:
        return [m for sub in seq for m in (layers(sub) if type(sub) is nn.Sequential
                                           else [sub])]

    mods = layers(net)
    start = int(bool(mods) and type(mods[0]) is nn.Flatten)
    kinds = (nn.Linear, nn.BatchNorm1d, nn.LayerNorm, nn.Dropout,
             *(getattr(nn, k) for k in _ACTS))
    for j, m in enumerate(mods[start:], start):
        if type(m) not in kinds:
            raise ConfigError(
                f"{where}: layer {j} is a {type(m).__name__}; a plain nn.Sequential "
                f"teacher may hold {_SUPPORTED}. For a convolutional network give its "
                "state_dict with --arch ARCH.json of the 'cnn' space.")
        _check_settings(m, j, where)
    blocks: list[dict[str, Any]] = []
    i = start
    while i < len(mods):
        m = mods[i]
        if not isinstance(m, nn.Linear):
            raise ConfigError(f"{where}: layer {i} ({type(m).__name__}) does not follow a "
                              "Linear layer; expected Linear → [norm] → [activation] → "
                              "[Dropout] blocks and a final Linear.")
        block: dict[str, Any] = {"linear": m, "norm": None, "act": "identity",
                                 "dropout": 0.0}
        i += 1
        if i < len(mods) and type(mods[i]) in (nn.BatchNorm1d, nn.LayerNorm):
            block["norm"] = mods[i]
            i += 1
        if i < len(mods) and type(mods[i]).__name__ in _ACTS:
            block["act"] = _ACTS[type(mods[i]).__name__]
            i += 1
        drop = mods[i] if i < len(mods) else None
        if type(drop) is nn.Dropout:
            block["dropout"] = float(drop.p)
            i += 1
        blocks.append(block)
    if not blocks or blocks[-1]["norm"] is not None or blocks[-1]["act"] != "identity":
        raise ConfigError(f"{where}: the last layer must be the Linear classifier.")
    head = blocks.pop()["linear"]
    if not blocks:
        raise ConfigError(f"{where}: a teacher needs at least one hidden Linear layer.")
    return blocks, head


def _fold(first: dict[str, torch.Tensor], prep: dict[str, Any],
          input_shape: tuple[int, ...]) -> None:
    """Folds ``(raw * scale - mean) / std`` into the first Linear layer, in place."""
    import torch

    mean, std = np.asarray(prep["mean"], float), np.asarray(prep["std"], float)
    if prep.get("per") == "channel":  # one value per channel, features channel-major
        rest = int(np.prod(input_shape[1:]))
        mean, std = np.repeat(mean, rest), np.repeat(std, rest)
    scale = float(prep.get("scale", 1.0))
    w = first["weight"].double()
    first["bias"] = (first["bias"].double() + w @ torch.from_numpy(mean / scale)).float()
    first["weight"] = (w * torch.from_numpy(std / scale)).float()


def sequential_teacher(path: Path, data: str, out: Path) -> Path | None:
    """The teacher folder (``OUT/teacher/``) for a whole saved ``nn.Sequential`` in
    ``path``; ``None`` when ``path`` holds no module (e.g. a ``state_dict``).

    Raises:
        ConfigError: a module that is not a plain MLP, or one that does not fit the data.
    """
    import torch
    from torch import nn

    from archsmith._export import WEIGHTS_FILE
    from archsmith.evaluators import load_dataset
    from archsmith.space import create_space
    from archsmith.space._mlp import MLPSpace

    try:  # a state_dict (or other plain data) loads safely
        torch.load(path, map_location="cpu", weights_only=True)
        return None
    except Exception:  # not plain data: maybe a whole module, below
        pass
    try:  # a whole module is a pickle: only the user's own files are given here
        net = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:
        raise ConfigError(f"Could not read {path} ({type(e).__name__}: {e}); give a "
                          "state_dict with --arch, or a model saved with torch.save "
                          "(its classes importable here).") from None
    if not isinstance(net, nn.Module):
        return None
    net = net.float()
    if not isinstance(net, nn.Sequential):
        raise ConfigError(f"{path} holds a {type(net).__name__}, not an nn.Sequential; "
                          "give its state_dict with --arch ARCH.json of the mlp or cnn space.")
    blocks, head = _blocks(net, path)
    ds = load_dataset(data)
    features = int(math.prod(ds.input_shape))
    if blocks[0]["linear"].in_features != features or head.out_features != ds.num_classes:
        raise ConfigError(
            f"{path} maps {blocks[0]['linear'].in_features} inputs to "
            f"{head.out_features} classes, but {data!r} has {features} features and "
            f"{ds.num_classes} classes; give the data the teacher was trained on.")
    default = MLPSpace()
    used = {"widths": [b["linear"].out_features for b in blocks],
            "activations": [b["act"] for b in blocks],
            "dropouts": [b["dropout"] for b in blocks]}
    config: dict[str, Any] = {"max_layers": max(default.max_layers, len(blocks))}
    for key, vals in used.items():
        base = list(getattr(default, key))
        extra = [v for v in dict.fromkeys(vals) if v not in base]
        if extra:
            config[key] = sorted(base + extra) if key != "activations" else base + extra
    space = create_space("mlp", **config)
    norms = {nn.BatchNorm1d: "batch", nn.LayerNorm: "layer"}
    decisions: dict[str, Any] = {"n_layers": len(blocks), "residual": False}
    for k, b in enumerate(blocks, 1):
        decisions.update({f"width_{k}": b["linear"].out_features, f"act_{k}": b["act"],
                          f"norm_{k}": norms.get(type(b["norm"]), "none"),
                          f"dropout_{k}": b["dropout"]})
    arch = space.make(decisions)
    built = space.build(arch, ds.input_shape, ds.num_classes)
    sources = [m for b in blocks for m in (b["linear"], b["norm"]) if m is not None]
    targets = [m for m in built.modules()
               if isinstance(m, nn.Linear | nn.BatchNorm1d | nn.LayerNorm)]
    with torch.no_grad():
        for src, dst in zip([*sources, head], targets, strict=True):
            state = {k: v.detach().clone() for k, v in src.state_dict().items()}
            if isinstance(src, nn.Linear) and src.bias is None:
                state["bias"] = torch.zeros(src.out_features)
            if src is blocks[0]["linear"]:
                _fold(state, ds.info["preprocessing"], tuple(ds.input_shape))
            try:
                dst.load_state_dict(state)
            except (RuntimeError, ValueError) as e:
                first = " ".join(str(e).split())[:200]
                raise ConfigError(f"{path}: its layer {src} cannot be read as an mlp "
                                  f"layer: {first}") from None
    _check_same_function(net, built, ds, path)
    folder = teacher_folder(out, ds, {"space": "mlp", "space_config": config,
                                      "decisions": dict(arch.values),
                                      "converted_from": str(Path(path).resolve())})
    torch.save(built.state_dict(), folder / WEIGHTS_FILE)
    return folder


def teacher_folder(out: Path, ds: Any, spec: dict[str, Any]) -> Path:
    """``OUT/teacher/`` with the ``arch.json`` compress reads: ``spec`` (``space``,
    ``decisions``, optional ``space_config`` and more) with the data's shape and
    record; the caller writes ``weights.pt`` beside it."""
    from archsmith._export import ARCH_FILE

    folder = out / "teacher"
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"space_config": {}, **spec, "input_shape": list(ds.input_shape),
            "num_classes": int(ds.num_classes), "data": ds.info}
    (folder / ARCH_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return folder


def _check_same_function(net: torch.nn.Module, built: torch.nn.Module, ds: Any,
                         path: Path) -> None:
    """The converted network on standardised inputs equals the teacher on raw ones."""
    import torch

    prep = ds.info["preprocessing"]
    z = torch.from_numpy(ds.X_train[:64])
    mean, std = (torch.tensor(prep[k], dtype=torch.float32) for k in ("mean", "std"))
    shape = (1, -1) + (1,) * (z.ndim - 2)
    raw = (z * std.reshape(shape) + mean.reshape(shape)) / float(prep.get("scale", 1.0))
    net.eval(), built.eval()
    with torch.no_grad():
        a, b = net(raw.flatten(1)), built(z)
    if not torch.allclose(a, b, rtol=1e-3, atol=1e-3 * float(a.abs().max()) + 1e-5):
        raise ConfigError(f"{path}: the network read from it does not compute the "
                          "teacher's function (max difference "
                          f"{float((a - b).abs().max()):.3g}); please report this.")
