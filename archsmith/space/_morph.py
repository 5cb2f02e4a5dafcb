"""Weights for a child network from a trained parent: Net2Net's function-preserving
growth and N2N's reuse-maximising shrinkage, for the ``mlp`` and ``cnn`` spaces.

Every hidden representation of the child is tracked as a map from its units (features
or channels) to units of one of the parent's representations (``-1``: a unit with no
counterpart). A kept layer copies the parent's weights through these maps and divides
each incoming weight by the number of child units that copy the same parent unit, so a
widened layer's consumers see the parent's values (Net2WiderNet). An inserted layer is
initialised to the identity (Net2DeeperNet) or, where it has a skip, to zero. Batch
norm is identity-initialised in eval statistics, or folded into the convolution when
the child drops it. A narrowed layer keeps the parent's units with the largest
incoming weight norms. What cannot be preserved (another activation, pooling, a
removed layer) copies every weight that still fits and keeps the child's fresh
initialisation elsewhere; :attr:`Transformed.preserving` says whether the child
computes the parent's function (in eval mode).

Example:
    >>> import numpy as np, torch
    >>> from archsmith.space import create_space
    >>> from archsmith.space._morph_align import wider
    >>> sp = create_space("mlp")
    >>> a = sp.make({"n_layers": 1, "residual": False, "width_1": 16, "act_1": "relu",
    ...              "norm_1": "batch", "dropout_1": 0.0})
    >>> parent = sp.build(a, (10,), 3).eval()
    >>> child_arch = wider(a, 1, 64)
    >>> t = transform(a, child_arch, parent.state_dict(), input_shape=(10,),
    ...               rng=np.random.default_rng(0))
    >>> child = sp.build(child_arch, (10,), 3)
    >>> _ = child.load_state_dict(t.state_dict)
    >>> x = torch.randn(5, 10)
    >>> bool(torch.allclose(parent(x), child.eval()(x), atol=1e-5)), t.preserving
    (True, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from archsmith.errors import SpaceError
from archsmith.space._morph_align import align, layer_specs, moves

if TYPE_CHECKING:
    import torch

    from archsmith.space._base import Architecture

__all__ = ["Transformed", "transform"]

_ZERO_AT_ZERO = {"relu", "gelu", "silu", "tanh", "leaky_relu", "elu", "identity"}


@dataclass(frozen=True)
class Transformed:
    """A child's initial weights made from a parent.

    Attributes:
        state_dict: Weights for ``space.build(child, ...)``.
        moves: The moves, in words (see :func:`archsmith.space._morph_align.moves`).
        preserving: Whether the child computes the parent's function (eval mode).
        why_not: What breaks the function, when it is not preserved.
    """

    state_dict: dict[str, torch.Tensor]
    moves: tuple[str, ...]
    preserving: bool
    why_not: tuple[str, ...] = ()


@dataclass
class _Rep:
    """A child representation: ``g[u]`` is the parent unit of child unit ``u`` in the
    parent's representation ``src`` (0 = input, r = output of parent layer r)."""

    src: int
    g: np.ndarray
    nonneg: bool


def _layers(space_name: str, net: torch.nn.Module) -> tuple[list[dict[str, Any]], Any]:
    """Per layer ``{"lin", "norm", "proj", "pool"}`` modules and the head ``Linear``."""
    from torch import nn

    out: list[dict[str, Any]] = []
    mods = list(net.children())
    head = mods[-1]
    for mod in mods[:-1]:
        if isinstance(mod, nn.Sequential) or hasattr(mod, "body"):
            body: Any = mod.body if hasattr(mod, "body") else mod
            parts = list(body.children())
            norm = parts[1] if isinstance(parts[1], nn.BatchNorm1d | nn.BatchNorm2d
                                          | nn.LayerNorm) else None
            out.append({"lin": parts[0], "norm": norm, "proj": getattr(mod, "proj", None),
                        "pool": None, "skip": hasattr(mod, "body")})
        elif isinstance(mod, nn.MaxPool1d | nn.MaxPool2d | nn.AvgPool1d | nn.AvgPool2d):
            out[-1]["pool"] = type(mod).__name__[:3].lower()
    return out, head


def _counts(g: np.ndarray, size: int) -> np.ndarray:
    return np.bincount(g[g >= 0], minlength=size).astype(np.float64)


def _map_matrix(w: torch.Tensor, rows: np.ndarray, cols: np.ndarray,
                cnt: np.ndarray) -> torch.Tensor:
    """``w[rows][:, cols] / cnt[cols]`` (trailing kernel dims kept), zero where a row or
    column has no parent unit."""
    import torch

    r = torch.as_tensor(np.maximum(rows, 0))
    c = torch.as_tensor(np.maximum(cols, 0))
    out = w.index_select(0, r).index_select(1, c).clone()
    scale = np.where(cols >= 0, 1.0 / np.maximum(cnt[np.maximum(cols, 0)], 1.0), 0.0)
    shape = (1, len(cols)) + (1,) * (w.dim() - 2)
    out *= torch.as_tensor(scale, dtype=w.dtype).reshape(shape)
    out[torch.as_tensor(rows < 0)] = 0.0
    return out


def _replication(rows: np.ndarray, cols: np.ndarray, cnt: np.ndarray, like: torch.Tensor
                 ) -> torch.Tensor:
    """A weight of ``like``'s shape that maps child units ``cols`` to ``rows`` (by their
    parent units) at the kernel's centre: the identity, widened or narrowed."""
    import torch

    out = torch.zeros_like(like)
    centre = tuple(s // 2 for s in like.shape[2:])
    for a, u in enumerate(rows):
        if u < 0:
            continue
        for b in np.flatnonzero(cols == u):
            out[(a, int(b), *centre)] = 1.0 / cnt[u]
    return out


def _fit_kernel(w: torch.Tensor, size: tuple[int, ...]) -> torch.Tensor:
    """Zero-pads (enlarge: the same function with 'same' padding) or centre-crops the
    kernel dims of ``w`` to ``size``."""
    import torch.nn.functional as F

    for d, (have, want) in enumerate(zip(w.shape[2:], size, strict=True)):
        dim = 2 + d
        if want > have:
            pad = [0, 0] * (w.dim() - dim - 1) + [(want - have) // 2] * 2
            w = F.pad(w, pad)
        elif want < have:
            w = w.narrow(dim, (have - want) // 2, want)
    return w


def _new_units(g_in: np.ndarray, width: int, rng: np.random.Generator) -> np.ndarray:
    """``g_in`` extended to ``width`` units with random replicas (Net2WiderNet's random
    mapping), or cut to its first ``width``."""
    if width <= len(g_in):
        return g_in[:width].copy()
    pool = g_in[g_in >= 0]
    extra = (rng.choice(pool, size=width - len(g_in)) if len(pool)
             else np.full(width - len(g_in), -1))
    return np.concatenate([g_in, extra]).astype(np.int64)


def _keep(importance: np.ndarray, width: int) -> np.ndarray:
    """The ``width`` most important units, in their original order (N2N shrinkage)."""
    order = np.argsort(-importance, kind="stable")[:width]
    return np.sort(order).astype(np.int64)


def _infer_shape(space_name: str, sd: dict[str, Any]) -> tuple[tuple[int, ...], int]:
    mats = [v for v in sd.values() if getattr(v, "dim", lambda: 0)() >= 2]
    if not mats:
        raise SpaceError("The state_dict holds no weight matrices.")
    first, last = mats[0], mats[-1]
    classes = int(last.shape[0])
    if space_name == "mlp":
        return (int(first.shape[1]),), classes
    side = 64  # large enough that every pooling exists; pass input_shape otherwise
    return (int(first.shape[1]), *([side] * (first.dim() - 2))), classes


def _load_parent(space: Any, arch: Architecture, sd: dict[str, Any],
                 shape: tuple[int, ...], classes: int) -> torch.nn.Module:
    net = space.build(arch, shape, classes)
    ours = net.state_dict()
    missing = sorted(set(ours) - set(sd))
    extra = sorted(set(sd) - set(ours))
    bad = [k for k in ours if k in sd and tuple(sd[k].shape) != tuple(ours[k].shape)]
    if missing or extra or bad:
        detail = (f"missing {missing[:4]}" if missing else
                  f"unexpected {extra[:4]}" if extra else
                  f"{bad[0]} has shape {tuple(sd[bad[0]].shape)}, the architecture needs "
                  f"{tuple(ours[bad[0]].shape)}")
        raise SpaceError(
            f"The parent's weights do not match its architecture ({space.compact(arch)}): "
            f"{detail}. Give the state_dict that was trained for this architecture (and "
            f"input_shape/num_classes of its data).")
    net.load_state_dict(sd)
    return net.eval()


def transform(
    parent: Architecture, child: Architecture, state_dict: dict[str, Any], *,
    input_shape: tuple[int, ...] | None = None, num_classes: int | None = None,
    rng: np.random.Generator | None = None, noise: float = 0.0, seed: int = 0,
) -> Transformed:
    """Initial weights for ``child`` from ``parent``'s trained ``state_dict``.

    Args:
        parent: The trained architecture (``mlp`` or ``cnn`` space).
        child: An architecture of the same space.
        state_dict: The parent network's weights.
        input_shape: Shape of one example (inferred from the weights when omitted; a
            ``cnn`` whose pooling was skipped for small inputs needs it).
        num_classes: Number of outputs (inferred when omitted).
        rng: Draws Net2WiderNet's replicated units (default: a generator from ``seed``).
        noise: Relative size of noise added to replicated units' weights to break
            symmetry (0: exact function preservation).
        seed: Seeds the fresh initialisation of weights that have no parent.

    Raises:
        SpaceError: unsupported spaces, different spaces, or weights that do not match
            the parent.
    """
    import torch

    space = parent.space
    layer_specs(parent)  # raises for unsupported spaces
    if child.space.name != space.name:
        raise SpaceError(f"Cannot transform a {space.name!r} architecture into a "
                         f"{child.space.name!r} one.")
    rng = rng if rng is not None else np.random.default_rng(seed)
    shape, classes = _infer_shape(space.name, state_dict)
    shape = tuple(input_shape) if input_shape is not None else shape
    classes = int(num_classes) if num_classes is not None else classes
    pnet = _load_parent(space, parent, state_dict, shape, classes)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        cnet = child.space.build(child, shape, classes)
    cnet.eval()
    pl, phead = _layers(space.name, pnet)
    cl, chead = _layers(space.name, cnet)
    pspec, cspec = layer_specs(parent), layer_specs(child)
    broken: list[str] = []
    width0 = int(np.prod(shape)) if space.name == "mlp" else shape[0]
    rep = _Rep(0, np.arange(width0), nonneg=False)
    with torch.no_grad():
        for i, j in align(parent, child):
            if j is None:
                assert i is not None
                broken.append(f"layer {i + 1} removed")
                continue
            if i is None:
                rep = _insert(space.name, cl[j], cspec[j], rep, rng, broken)
            else:
                rep = _keep_layer(space.name, pl[i], cl[j], pspec[i], cspec[j], i, rep,
                                  rng, noise, broken)
        pw = phead.weight
        if rep.src == len(pl):
            chead.weight.copy_(_map_matrix(pw, np.arange(classes), rep.g,
                                           _counts(rep.g, pw.shape[1])))
        else:
            broken.append("the head sees another representation")
            n = min(pw.shape[1], chead.weight.shape[1])
            chead.weight[:, :n] = pw[:, :n]
        chead.bias.copy_(phead.bias)
        if space.name == "cnn" and parent["head"] != child["head"]:
            broken.append("global pooling changed")
    return Transformed({k: v.detach().clone() for k, v in cnet.state_dict().items()},
                       tuple(moves(parent, child)), not broken, tuple(broken))


def _act(space_name: str, spec: dict[str, Any]) -> str:
    return str(spec["act"]) if space_name == "mlp" else "relu"


def _skip_kind(space_name: str, layer: dict[str, Any]) -> str:
    if not layer["skip"]:
        return "none"
    return "proj" if layer["proj"] is not None else "identity"


def _set_identity_norm(norm: Any, bias: torch.Tensor | None = None) -> None:
    from torch import nn

    if isinstance(norm, nn.LayerNorm):
        norm.weight.fill_(1.0)
        norm.bias.zero_()
        return
    norm.running_mean.zero_()
    norm.running_var.fill_(1.0)
    norm.weight.fill_(math.sqrt(1.0 + norm.eps))
    if bias is None:
        norm.bias.zero_()
    else:
        norm.bias.copy_(bias)


def _insert(space_name: str, c: dict[str, Any], spec: dict[str, Any], rep: _Rep,
            rng: np.random.Generator, broken: list[str]) -> _Rep:
    """Net2DeeperNet: an identity layer, or a zero body where the layer has a skip."""
    from torch import nn

    lin = c["lin"]
    width = int(lin.weight.shape[0])
    if width == len(rep.g):
        g = rep.g.copy()
    else:  # every distinct parent unit once, then replicas (or cut when too narrow)
        first = np.unique(rep.g[rep.g >= 0], return_index=True)[1]
        distinct = rep.g[np.sort(first)]
        g = _new_units(distinct, width, rng)
        if width < len(distinct):
            broken.append("an inserted layer is narrower than its input")
    cnt = _counts(rep.g, int(rep.g.max()) + 1 if len(rep.g) else 1)
    skip = _skip_kind(space_name, c)
    act = _act(space_name, spec)
    if skip != "none":  # zero body: the layer adds nothing until it trains
        lin.weight.zero_()
        if act not in _ZERO_AT_ZERO:
            broken.append(f"a new {act} layer is not zero at zero")
        if skip == "proj":
            c["proj"].weight.copy_(_replication(g, rep.g, cnt, c["proj"].weight))
    else:
        lin.weight.copy_(_replication(g, rep.g, cnt, lin.weight))
        if not (act == "identity" or (act == "relu" and rep.nonneg)):
            broken.append(f"a new {act} layer changes its input")
        if c["norm"] is not None and isinstance(c["norm"], nn.LayerNorm):
            broken.append("a new layer-norm layer changes its input")
    if lin.bias is not None:
        lin.bias.zero_()
    if c["norm"] is not None:
        _set_identity_norm(c["norm"])
    if c["pool"] is not None:
        broken.append("a new layer pools")
    nonneg = act == "relu" and (skip == "none" or (skip == "identity" and rep.nonneg))
    return _Rep(rep.src, g, nonneg)


def _keep_layer(space_name: str, p: dict[str, Any], c: dict[str, Any],
                ps: dict[str, Any], cs: dict[str, Any], i: int, rep: _Rep,
                rng: np.random.Generator, noise: float, broken: list[str]) -> _Rep:
    """A parent layer kept in the child: its weights through the unit maps."""
    from torch import nn

    pl, cl = p["lin"], c["lin"]
    pw, cw = int(pl.weight.shape[0]), int(cl.weight.shape[0])
    same_in = rep.src == i
    pskip, cskip = _skip_kind(space_name, p), _skip_kind(space_name, c)
    if cskip == "identity" and pskip == "identity" and same_in and cw == len(rep.g):
        g = rep.g.copy()  # the skip adds the input unit by unit: keep its map
    elif cw >= pw:
        g = np.concatenate([np.arange(pw), rng.choice(pw, size=cw - pw)]).astype(np.int64)
    else:
        imp = pl.weight.detach().reshape(pw, -1).abs().sum(dim=1)
        if isinstance(p["norm"], nn.BatchNorm1d | nn.BatchNorm2d):  # BN rescales each unit
            bn: Any = p["norm"]
            imp = imp * (bn.weight.abs() / (bn.running_var + bn.eps).sqrt()).detach()
        g = _keep(imp.numpy(), cw)
        broken.append(f"layer {i + 1} narrowed")
    w = pl.weight
    if cl.weight.shape[2:] != w.shape[2:]:
        if any(a > b for a, b in zip(cl.weight.shape[2:], w.shape[2:], strict=True)):
            pass  # zero-padding a kernel keeps the function
        else:
            broken.append(f"kernel of layer {i + 1} cropped")
        w = _fit_kernel(w, tuple(cl.weight.shape[2:]))
    if same_in:
        cnt = _counts(rep.g, int(w.shape[1]))
        new = _map_matrix(w, g, rep.g, cnt)
    else:
        broken.append(f"layer {i + 1} sees another input")
        rows = w.index_select(0, _t(g))
        new = cl.weight.clone()
        n = min(rows.shape[1], new.shape[1])
        new[:, :n] = rows[:, :n]
    if noise > 0 and cw > pw:
        std = float(w.std()) if w.numel() > 1 else 1.0
        extra = new[pw:]
        extra += noise * std * _t_randn(rng, tuple(extra.shape), new.dtype)
        broken.append("noise breaks the symmetry of replicated units")
    pb = pl.bias
    # batch norm: copied through the map, added (identity, the bias moved into it) or
    # folded into the weights (eval statistics) when the child drops it
    pbn = isinstance(p["norm"], nn.BatchNorm1d | nn.BatchNorm2d)
    cbn = isinstance(c["norm"], nn.BatchNorm1d | nn.BatchNorm2d)
    if pbn and not cbn:
        bn = p["norm"]
        s = bn.weight / (bn.running_var + bn.eps).sqrt()
        shift = bn.bias - bn.running_mean * s + (0 if pb is None else pb * s)
        new = new * s[_t(g)].reshape(-1, *[1] * (new.dim() - 1))
        pb = shift
    cl.weight.copy_(new)
    if cl.bias is not None:
        if pb is not None:
            cl.bias.copy_(pb[_t(g)])
        else:
            cl.bias.zero_()
    if cbn:
        cn = c["norm"]
        if pbn:
            for name in ("weight", "bias", "running_mean", "running_var"):
                getattr(cn, name).copy_(getattr(p["norm"], name)[_t(g)])
        else:
            _set_identity_norm(cn, None if pb is None or cl.bias is not None else pb[_t(g)])
            if isinstance(p["norm"], nn.LayerNorm):
                broken.append(f"layer norm of layer {i + 1} replaced")
    elif isinstance(c["norm"], nn.LayerNorm):
        if isinstance(p["norm"], nn.LayerNorm):
            c["norm"].weight.copy_(p["norm"].weight[_t(g)])
            c["norm"].bias.copy_(p["norm"].bias[_t(g)])
            if cw != pw:
                broken.append(f"layer norm of layer {i + 1} sees another width")
        else:
            broken.append(f"layer norm added to layer {i + 1}")
    elif isinstance(p["norm"], nn.LayerNorm):
        broken.append(f"layer norm removed from layer {i + 1}")
    if _act(space_name, ps) != _act(space_name, cs):
        broken.append(f"activation of layer {i + 1} changed")
    if p["pool"] != c["pool"]:
        broken.append(f"pooling after layer {i + 1} changed")
    # the skip path
    if cskip == "proj":
        prj = c["proj"]
        if pskip == "proj" and same_in:
            prj.weight.copy_(_map_matrix(p["proj"].weight, g, rep.g,
                                         _counts(rep.g, int(p["proj"].weight.shape[1]))))
        elif pskip == "identity" and same_in:
            prj.weight.copy_(_replication(g, rep.g, _counts(rep.g, pw), prj.weight))
        elif pskip == "none":
            prj.weight.zero_()  # a new residual branch starts at zero
        else:
            broken.append(f"skip of layer {i + 1} sees another input")
    elif cskip != pskip or (cskip == "identity" and not same_in):
        broken.append(f"skip of layer {i + 1} changed")
    nonneg = _act(space_name, cs) == "relu" and (
        cskip == "none" or (cskip == "identity" and rep.nonneg))
    return _Rep(i + 1, g, nonneg)


def _t(a: np.ndarray) -> torch.Tensor:
    import torch

    return torch.as_tensor(np.asarray(a), dtype=torch.long)


def _t_randn(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any) -> torch.Tensor:
    import torch

    return torch.as_tensor(rng.standard_normal(shape), dtype=dtype)
