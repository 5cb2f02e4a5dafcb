"""``fronts.png``: the Pareto fronts each strategy found, beside the table's true front.

Drawn with the Pillow renderer of :mod:`archsmith.report._plots` (a core dependency):
x is the second objective, y the first, both in their own units (a minimised metric
grows to the right); every seed's final front is a thin staircase in its strategy's
colour, the true front a black dashed staircase with dots. With more than two
objectives the first two are drawn.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from archsmith._pareto import nondominated
from archsmith.report._plots import _H, _INK, _MARGIN, _S, _W, PALETTE, _font, nice_ticks

__all__ = ["plot_fronts"]


def _staircase(front: np.ndarray, dirs: Sequence[str]) -> list[tuple[float, float]]:
    """Natural-unit (x, y) corners of a 2-D front's attainment staircase."""
    nat = front[:, :2] * np.where(np.asarray(dirs[:2]) == "max", 1.0, -1.0)
    pts = sorted((float(x), float(y)) for y, x in nat[:, :2])
    xmax = dirs[1] == "max"
    if xmax:
        pts = pts[::-1]
    out: list[tuple[float, float]] = []
    for x, y in pts:
        if out:
            out.append((x, out[-1][1]))
        out.append((x, y))
    return out


def plot_fronts(path: str | Path, objectives: Any, true_front: np.ndarray | None,
                runs: Mapping[str, Sequence[Sequence[Sequence[float]]]], title: str = "") -> None:
    """Writes the fronts plot (see the module docstring).

    Args:
        path: Output PNG.
        objectives: The search's :class:`~archsmith._objectives.Objectives`.
        true_front: The table's true front (oriented values), drawn dashed.
        runs: Strategy → one list of oriented points per seed.
        title: Figure title.
    """
    from PIL import Image, ImageDraw

    dirs = objectives.directions
    true = true_front
    if true is not None:
        true = true[:, :2][nondominated(true[:, :2])]
    fronts: dict[str, list[np.ndarray]] = {}
    for name, seeds in runs.items():
        fronts[name] = []
        for pts in seeds:
            a = np.asarray(pts, dtype=float).reshape(-1, len(dirs))[:, :2]
            if len(a):  # the front of the two objectives drawn
                fronts[name].append(a[nondominated(a)])
    every = [f for fs in fronts.values() for f in fs] + ([true] if true is not None else [])
    if not every:
        return
    allp = np.vstack(every) * np.where(np.asarray(dirs[:2]) == "max", 1.0, -1.0)
    xlo, xhi = float(allp[:, 1].min()), float(allp[:, 1].max())
    ylo, yhi = float(allp[:, 0].min()), float(allp[:, 0].max())
    pad_x, pad_y = 0.04 * ((xhi - xlo) or 1.0), 0.04 * ((yhi - ylo) or 1.0)
    xlo, xhi, ylo, yhi = xlo - pad_x, xhi + pad_x, ylo - pad_y, yhi + pad_y
    W, H = _W * _S, _H * _S
    left, right, top, bottom = (m * _S for m in _MARGIN)
    pw, ph = W - left - right, H - top - bottom

    def px(x: float) -> float:
        return left + (x - xlo) / (xhi - xlo) * pw

    def py(y: float) -> float:
        return top + ph - (y - ylo) / (yhi - ylo) * ph

    img = Image.new("RGBA", (W, H), (255, 255, 255, 255))
    layer = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    xticks, xdec = nice_ticks(xlo, xhi, 8)
    yticks, ydec = nice_ticks(ylo, yhi, 7)
    for t in xticks:
        d.line([(px(t), top), (px(t), top + ph)], fill=(228, 228, 228, 255), width=_S)
    for t in yticks:
        d.line([(left, py(t)), (left + pw, py(t))], fill=(228, 228, 228, 255), width=_S)
    for i, (_name, fs) in enumerate(fronts.items()):
        color = PALETTE[i % len(PALETTE)]
        for f in fs:
            stair = [(px(x), py(y)) for x, y in _staircase(f, dirs)]
            if len(stair) > 1:
                d.line(stair, fill=(*color, 140), width=int(1.5 * _S))
            for x, y in stair[::2]:
                d.ellipse([x - 2 * _S, y - 2 * _S, x + 2 * _S, y + 2 * _S], fill=(*color, 200))
    if true is not None:
        corners = [(px(x), py(y)) for x, y in _staircase(true, dirs)]
        for p0, p1 in itertools.pairwise(corners):
            _dashed(d, p0, p1)
        for x, y in corners[::2]:
            d.ellipse([x - 3 * _S, y - 3 * _S, x + 3 * _S, y + 3 * _S], fill=(*_INK, 255))
    img.alpha_composite(layer)
    d = ImageDraw.Draw(img)
    small, normal, big = _font(12), _font(14), _font(16)
    d.rectangle([left, top, left + pw, top + ph], outline=_INK, width=_S)
    for t in xticks:
        d.text((px(t), top + ph + 8 * _S), f"{t:.{xdec}f}", fill=_INK, font=normal, anchor="ma")
    for t in yticks:
        d.text((left - 8 * _S, py(t)), f"{t:.{ydec}f}", fill=_INK, font=normal, anchor="rm")
    names = objectives.names
    d.text((left + pw / 2, H - 12 * _S), f"{names[1]} ({dirs[1]})", fill=_INK, font=normal,
           anchor="md")
    d.text((left + pw / 2, top / 2), title, fill=_INK, font=big, anchor="mm")
    d.text((left + 4 * _S, top - 4 * _S), f"y: {names[0]} ({dirs[0]})", fill=_INK, font=normal,
           anchor="ld")
    y = top + 10 * _S
    labels = [*fronts, "true front"]
    d.rectangle([left + pw - 206 * _S, top + 2 * _S, left + pw - 4 * _S,
                 top + 2 * _S + 18 * _S * len(labels)], fill=(255, 255, 255),
                outline=(170, 170, 170), width=_S)
    for i, name in enumerate(labels):
        color = _INK if name == "true front" else PALETTE[i % len(PALETTE)]
        x = left + pw - 200 * _S
        d.line([(x, y), (x + 24 * _S, y)], fill=color, width=2 * _S)
        d.text((x + 30 * _S, y), name, fill=_INK, font=small, anchor="lm")
        y += 18 * _S
    img.convert("RGB").resize((_W, _H), Image.Resampling.LANCZOS).save(path, format="PNG")


def _dashed(d: Any, a: tuple[float, float], b: tuple[float, float]) -> None:
    length = math.dist(a, b)
    if length == 0:
        return
    dash = 8 * _S
    n = max(1, int(length // (2 * dash)))
    for k in range(n + 1):
        t0, t1 = min(1.0, 2 * k * dash / length), min(1.0, (2 * k + 1) * dash / length)
        if t0 >= 1.0:
            break
        d.line([(a[0] + (b[0] - a[0]) * t0, a[1] + (b[1] - a[1]) * t0),
                (a[0] + (b[0] - a[0]) * t1, a[1] + (b[1] - a[1]) * t1)],
               fill=(*_INK, 255), width=int(1.5 * _S))
