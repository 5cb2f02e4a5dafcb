"""Layer-level view of ``mlp`` and ``cnn`` architectures for network transformations:
the per-layer settings, the alignment of a parent's layers with a child's, and the
architecture edits (wider, deeper, narrower, …) that Net2Net, EAS and N2N make.

The alignment is an edit-distance alignment of the two layer sequences: a layer is
kept (possibly with changed settings: each changed setting is one move), inserted or
removed, one move each. :func:`moves` lists the moves in words; their number is the
distance a search uses to pick a parent a child can inherit from.

Example:
    >>> from archsmith.space import create_space
    >>> sp = create_space("cnn")
    >>> a = sp.make({"n_stages": 1, "head": "avg", "channels_1": 8, "kernel_1": 3,
    ...              "pool_1": "none", "residual_1": False, "norm_1": "batch"})
    >>> moves(a, wider(a, 1, 16))
    ['wider stage 1: 8→16']
    >>> moves(a, deeper(a, 2))
    ['insert stage 2: 8k3·bn']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archsmith.errors import SpaceError

if TYPE_CHECKING:
    from archsmith.space._base import Architecture

__all__ = ["align", "deeper", "layer_specs", "moves", "narrower", "remove", "set_layer",
           "supports", "wider"]

#: The spaces whose architectures the transformations understand.
SUPPORTED = ("mlp", "cnn")
#: Per-layer settings that the alignment compares (in this order).
_FIELDS = {"mlp": ("width", "act", "norm", "dropout", "skip"),
           "cnn": ("channels", "kernel", "pool", "residual", "norm")}
_UNIT = {"mlp": "layer", "cnn": "stage"}


def supports(arch: Architecture) -> bool:
    """Whether the transformations know ``arch``'s space."""
    return arch.space.name in SUPPORTED


def _check(arch: Architecture) -> str:
    name = arch.space.name
    if name not in SUPPORTED:
        raise SpaceError(
            f"Network transformations work on the spaces {list(SUPPORTED)}, not on "
            f"{name!r}.")
    return name


def layer_specs(arch: Architecture) -> list[dict[str, Any]]:
    """The per-layer (``mlp``) or per-stage (``cnn``) settings of ``arch``."""
    name = _check(arch)
    if name == "mlp":
        return arch.space.layers(arch)  # type: ignore[attr-defined,no-any-return]
    return arch.space.stages(arch)  # type: ignore[attr-defined,no-any-return]


def _width_key(name: str) -> str:
    return "width" if name == "mlp" else "channels"


# Edit costs: 4 per move, 5 for a move that loses weights (narrower, a smaller kernel,
# a removed layer), so that among alignments with as many moves the growing one wins.
_MOVE, _LOSS = 4, 5
_SIZES = ("width", "channels", "kernel")


def _cost(a: dict[str, Any], b: dict[str, Any], fields: tuple[str, ...]) -> int:
    return sum(0 if a[f] == b[f] else _LOSS if f in _SIZES and b[f] < a[f] else _MOVE
               for f in fields)


def align(parent: Architecture, child: Architecture) -> list[tuple[int | None, int | None]]:
    """Pairs ``(parent layer, child layer)`` (0-based; ``None`` for an inserted or
    removed layer) of least edit cost, in order. Among equally cheap alignments edits
    go as late as possible (an inserted layer follows the layer it copies).

    Example:
        >>> from archsmith.space import create_space
        >>> sp = create_space("mlp")
        >>> a = sp.make({"n_layers": 1, "residual": False, "width_1": 32, "act_1": "relu",
        ...              "norm_1": "none", "dropout_1": 0.0})
        >>> align(a, deeper(a, 2))
        [(0, 0), (None, 1)]
    """
    name = _check(parent)
    if child.space.name != name:
        raise SpaceError(f"Cannot transform a {name!r} architecture into a "
                         f"{child.space.name!r} one.")
    fields = _FIELDS[name]
    p, c = layer_specs(parent), layer_specs(child)
    n, m = len(p), len(c)
    inf = 10**9
    # d[i][j]: cost of aligning p[i:] with c[j:] (suffixes, so ties prefer late edits
    # when read front to back with "match first")
    d = [[inf] * (m + 1) for _ in range(n + 1)]
    d[n][m] = 0
    for i in range(n, -1, -1):
        for j in range(m, -1, -1):
            if i == n and j == m:
                continue
            best = inf
            if i < n and j < m:
                best = min(best, _cost(p[i], c[j], fields) + d[i + 1][j + 1])
            if j < m:
                best = min(best, _MOVE + d[i][j + 1])
            if i < n:
                best = min(best, _LOSS + d[i + 1][j])
            d[i][j] = best
    out: list[tuple[int | None, int | None]] = []
    i = j = 0
    while i < n or j < m:
        if i < n and j < m and d[i][j] == _cost(p[i], c[j], fields) + d[i + 1][j + 1]:
            out.append((i, j))
            i, j = i + 1, j + 1
        elif j < m and d[i][j] == _MOVE + d[i][j + 1]:
            out.append((None, j))
            j += 1
        else:
            out.append((i, None))
            i += 1
    return out


def _describe(name: str, spec: dict[str, Any]) -> str:
    if name == "mlp":
        norm = {"batch": "·bn", "layer": "·ln"}.get(spec["norm"], "")
        return f"{spec['width']}·{spec['act']}{norm}{'+r' if spec['skip'] else ''}"
    pool = "" if spec["pool"] == "none" else f"/{spec['pool']}"
    return (f"{spec['channels']}k{spec['kernel']}{pool}{'+r' if spec['residual'] else ''}"
            f"{'·bn' if spec['norm'] == 'batch' else ''}")


def moves(parent: Architecture, child: Architecture) -> list[str]:
    """The moves that turn ``parent`` into ``child``, in words (empty: same network).

    A kept layer contributes one move per changed setting; widths are ``wider`` /
    ``narrower``.
    """
    name = _check(parent)
    unit = _UNIT[name]
    p, c = layer_specs(parent), layer_specs(child)
    wkey = _width_key(name)
    out: list[str] = []
    for i, j in align(parent, child):
        if i is None:
            assert j is not None
            out.append(f"insert {unit} {j + 1}: {_describe(name, c[j])}")
        elif j is None:
            out.append(f"remove {unit} {i + 1}: {_describe(name, p[i])}")
        else:
            for f in _FIELDS[name]:
                if p[i][f] == c[j][f]:
                    continue
                if f == wkey:
                    kind = "wider" if c[j][f] > p[i][f] else "narrower"
                    out.append(f"{kind} {unit} {j + 1}: {p[i][f]}→{c[j][f]}")
                else:
                    out.append(f"{f} {unit} {j + 1}: {p[i][f]}→{c[j][f]}")
    if name == "cnn" and parent["head"] != child["head"]:
        out.append(f"head: {parent['head']}→{child['head']}")
    return out


# -- architecture edits ---------------------------------------------------------------------
def _rebuild(arch: Architecture, specs: list[dict[str, Any]],
             extra: dict[str, Any] | None = None) -> Architecture:
    name = _check(arch)
    space = arch.space
    values: dict[str, Any]
    per: tuple[str, ...]
    if name == "mlp":
        count, per = "n_layers", ("width", "act", "norm", "dropout")
        values = {"residual": arch["residual"]}
    else:
        count, per = "n_stages", ("channels", "kernel", "pool", "residual", "norm")
        values = {"head": arch["head"]}
    top = max(space.decisions[space.position(count)].choices)  # type: ignore[type-var]
    if not 1 <= len(specs) <= top:  # type: ignore[operator]
        raise SpaceError(f"The {name!r} space allows 1..{top} {_UNIT[name]}s; the edit "
                         f"would give {len(specs)}.")
    values[count] = len(specs)
    for k, spec in enumerate(specs, start=1):
        for key in per:
            values[f"{key}_{k}"] = spec[key]
    values.update(extra or {})
    return space.make(values)


def _index(arch: Architecture, k: int, *, insert: bool = False) -> int:
    n = len(layer_specs(arch))
    top = n + 1 if insert else n
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= top:
        raise SpaceError(f"{_UNIT[arch.space.name].capitalize()} {k!r} does not exist; "
                         f"give 1..{top}.")
    return k - 1


def _group(arch: Architecture, i: int) -> list[int]:
    """Layers that must change width together so that identity skips stay (``mlp``
    with residuals: a run of equal widths)."""
    specs = layer_specs(arch)
    if arch.space.name != "mlp" or not arch["residual"]:
        return [i]
    lo = i
    while lo > 0 and specs[lo]["skip"]:
        lo -= 1
    hi = i
    while hi + 1 < len(specs) and specs[hi + 1]["skip"]:
        hi += 1
    return list(range(lo, hi + 1))


def wider(arch: Architecture, k: int, width: int) -> Architecture:
    """Net2WiderNet's architecture: layer/stage ``k`` (1-based) gets ``width`` units
    (channels). In an ``mlp`` with residuals the whole run of equal-width layers that
    identity skips join is widened, so the skips stay."""
    i = _index(arch, k)
    specs = [dict(s) for s in layer_specs(arch)]
    key = _width_key(arch.space.name)
    for g in _group(arch, i):
        specs[g][key] = width
    return _rebuild(arch, specs)


narrower = wider  # the same edit read the other way (N2N shrinkage)


def deeper(arch: Architecture, k: int, **settings: Any) -> Architecture:
    """Net2DeeperNet's architecture: a new layer/stage at position ``k`` (1-based; it
    follows layer ``k - 1``) with the previous layer's width and norm, ReLU, no
    dropout/pooling, kernel 3, unless ``settings`` say otherwise (e.g. ``kernel=5``,
    ``residual=True``, ``act="gelu"``)."""
    i = _index(arch, k, insert=True)
    specs = [dict(s) for s in layer_specs(arch)]
    name = arch.space.name
    ref = specs[i - 1] if i > 0 else specs[0]
    if name == "mlp":
        new = {"width": ref["width"], "act": "relu", "norm": ref["norm"], "dropout": 0.0,
               "skip": False}
        if "residual" in settings and bool(settings.pop("residual")) != bool(arch["residual"]):
            raise SpaceError("In the 'mlp' space residuals are one global setting; a new "
                             "layer gets an identity skip when its width equals the "
                             "previous layer's and residuals are on.")
    else:
        new = {"channels": ref["channels"], "kernel": 3, "pool": "none", "residual": False,
               "norm": ref["norm"]}
    unknown = set(settings) - set(new)
    if unknown:
        raise SpaceError(f"Unknown setting(s) {sorted(unknown)} for a new {_UNIT[name]}; "
                         f"known: {sorted(new)}.")
    new.update(settings)
    for field, value in list(new.items()):  # defaults the space does not offer: its nearest
        if field == "skip" or field in settings:
            continue
        choices = arch.space.decisions[arch.space.position(f"{field}_1")].choices
        if value not in choices:
            new[field] = min(choices, key=lambda c: (abs(float(c) - float(value))
                                                     if isinstance(c, int | float) and
                                                     isinstance(value, int | float) else 0))
    specs.insert(i, new)
    return _rebuild(arch, specs)


def remove(arch: Architecture, k: int) -> Architecture:
    """N2N's layer removal: layer/stage ``k`` (1-based) is dropped."""
    i = _index(arch, k)
    specs = [dict(s) for s in layer_specs(arch)]
    del specs[i]
    return _rebuild(arch, specs)


def set_layer(arch: Architecture, k: int, **settings: Any) -> Architecture:
    """Layer/stage ``k`` with other settings, e.g. ``kernel=5`` (enlarge a kernel),
    ``residual=True`` (add a residual branch), ``act="gelu"``, ``pool="max"``; for a
    ``cnn``, ``head="max"`` changes the global pooling."""
    i = _index(arch, k)
    specs = [dict(s) for s in layer_specs(arch)]
    extra = {}
    if "head" in settings:
        if arch.space.name != "cnn":
            raise SpaceError("Only the 'cnn' space has a `head` setting.")
        extra["head"] = settings.pop("head")
    unknown = set(settings) - set(_FIELDS[arch.space.name]) - {"skip"}
    if unknown or "skip" in settings:
        raise SpaceError(f"Unknown setting(s) {sorted(unknown or {'skip'})} for a "
                         f"{_UNIT[arch.space.name]}; known: "
                         f"{sorted(set(_FIELDS[arch.space.name]) - {'skip'})}.")
    specs[i].update(settings)
    return _rebuild(arch, specs, extra)
