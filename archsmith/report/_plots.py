"""The best-so-far curves plot (``curves.png``) of the benchmark harness.

Uses matplotlib when it is installed (extra ``plot``); otherwise a small built-in line
chart renderer on Pillow (a core dependency) draws the same figure: axes with labelled
ticks, one line per strategy with a shaded ± standard-error band, the benchmark's
optimum as a dashed line, a legend and a title.

Example:
    >>> import tempfile, pathlib
    >>> curves = {"random": ([80.0, 85.0, 90.0], [1.0, 0.5, 0.2])}
    >>> with tempfile.TemporaryDirectory() as d:
    ...     plot_curves(pathlib.Path(d) / "c.png", curves, optimum=91.6, backend="pillow")
    'pillow'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from archsmith.errors import ConfigError

__all__ = ["nice_ticks", "plot_curves"]

Curves = Mapping[str, tuple[Sequence[float], Sequence[float]]]

#: matplotlib's "tab10" palette.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
)


def plot_curves(
    path: str | Path,
    curves: Curves,
    *,
    optimum: float | None = None,
    direction: str = "max",
    title: str = "",
    ylabel: str = "best so far",
    xlabel: str = "queries",
    backend: str | None = None,
    x: Sequence[float] | None = None,
    y_from: float = 0.1,
) -> str:
    """Draws mean best-so-far curves with ± standard-error bands to a PNG file.

    Args:
        path: Output PNG path.
        curves: Strategy name → (mean per query, standard error per query); query ``q``
            is index ``q-1``. NaN entries are left out (NaN errors draw no band).
        optimum: The benchmark's optimum, drawn as a dashed horizontal line.
        direction: ``"max"`` or ``"min"``: which way is better (sets the y range, which
            starts at the curves' level at 10 % of the budget, and the legend corner).
        title: Figure title.
        ylabel: y-axis label.
        xlabel: x-axis label.
        backend: ``"matplotlib"``, ``"pillow"`` or ``None`` (matplotlib if importable).
        x: x values shared by every curve (default: queries ``1 … n``).
        y_from: Fraction of the x range whose curve level starts the y axis.

    Returns:
        The backend that drew the figure: ``"matplotlib"`` or ``"pillow"``.
    """
    if backend not in (None, "matplotlib", "pillow"):
        raise ConfigError(f"plot backend must be 'matplotlib' or 'pillow', got {backend!r}.")
    limits = y_limits(curves, optimum, direction, y_from)
    if backend != "pillow":
        from archsmith._lazy import optional_import

        try:
            optional_import("matplotlib", "plot", "The matplotlib plot backend",
                            hint="Or use the Pillow renderer.")
        except ConfigError:
            if backend == "matplotlib":
                raise
        else:
            _plot_matplotlib(Path(path), curves, optimum, direction, title, ylabel, xlabel,
                             limits, x)
            return "matplotlib"
    _plot_pillow(Path(path), curves, optimum, direction, title, ylabel, xlabel, limits, x)
    return "pillow"


def y_limits(
    curves: Curves, optimum: float | None, direction: str, start: float = 0.1
) -> tuple[float, float]:
    """The y range: from the curves' level at ``start`` (10 %) of the x range to the best.

    Example:
        >>> y_limits({"a": ([1.0, 2.0, 3.0], [0.0, 0.0, 0.0])}, 4.0, "max")
        (0.85, 4.15)
    """
    n = max((len(m) for m, _ in curves.values()), default=1)
    q0 = max(1, math.ceil(start * n - 1e-9)) - 1
    worst: list[float] = []
    every: list[float] = []
    for mean, sem in curves.values():
        for i, (m, e) in enumerate(zip(mean, sem, strict=True)):
            if not math.isfinite(m):
                continue
            e = e if math.isfinite(e) else 0.0
            every += [m - e, m + e]
            if i == q0:
                worst.append(m - e if direction == "max" else m + e)
    if optimum is not None and math.isfinite(optimum):
        every.append(optimum)
    if not every:
        return 0.0, 1.0
    if direction == "max":
        lo, hi = (min(worst) if worst else min(every)), max(every)
    else:
        lo, hi = min(every), (max(worst) if worst else max(every))
    pad = 0.05 * (hi - lo) if hi > lo else max(1.0, abs(hi) * 0.05)
    return round(lo - pad, 12), round(hi + pad, 12)


def nice_ticks(
    lo: float, hi: float, target: int = 6, integer: bool = False
) -> tuple[list[float], int]:
    """Round tick values covering ``[lo, hi]`` and the decimals their labels need.

    Args:
        lo: Lower end of the axis.
        hi: Upper end of the axis.
        target: Wanted number of ticks (the closest round step wins).
        integer: Whole-number steps only (query counts).

    Example:
        >>> nice_ticks(0, 100)
        ([0.0, 20.0, 40.0, 60.0, 80.0, 100.0], 0)
        >>> nice_ticks(88.3, 91.9)
        ([88.5, 89.0, 89.5, 90.0, 90.5, 91.0, 91.5], 1)
        >>> nice_ticks(89.9, 91.1, 6)[1]
        1
    """
    span = hi - lo if hi > lo else 1.0
    mag = 10.0 ** math.floor(math.log10(span / target))
    steps = [m * mag for m in (1.0, 2.0, 2.5, 5.0, 10.0, 20.0)]
    if integer:
        steps = [st for st in steps if st >= 1 and st == int(st)] or [1.0]
    # the round step whose tick count is closest to ``target`` (fewer ticks on a tie)
    step = min(steps, key=lambda st: (abs(span / st - target), -st))
    first = math.ceil(lo / step - 1e-9)
    last = math.floor(hi / step + 1e-9)
    ticks = [round(i * step, 12) for i in range(first, last + 1)]
    decimals = 0
    while decimals < 12 and abs(step * 10**decimals - round(step * 10**decimals)) > 1e-6:
        decimals += 1
    return ticks, decimals


def _plot_matplotlib(
    path: Path, curves: Curves, optimum: float | None, direction: str, title: str,
    ylabel: str, xlabel: str, limits: tuple[float, float],
    xs: Sequence[float] | None = None,
) -> None:
    import numpy as np
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 6), dpi=100)
    ax: Any = fig.add_subplot()
    n = 1.0
    for i, (name, (mean, sem)) in enumerate(curves.items()):
        m = np.asarray(mean, dtype=float)
        e = np.nan_to_num(np.asarray(sem, dtype=float), nan=0.0)
        x = np.arange(1, len(m) + 1) if xs is None else np.asarray(xs, dtype=float)[:len(m)]
        n = max(n, float(x[-1]) if len(x) else 1.0)
        color = "#{:02x}{:02x}{:02x}".format(*PALETTE[i % len(PALETTE)])
        ax.fill_between(x, m - e, m + e, color=color, alpha=0.22, linewidth=0)
        ax.plot(x, m, color=color, linewidth=2, label=name)
    if optimum is not None:
        ax.axhline(optimum, linestyle="--", color="0.25", linewidth=1.3,
                   label=f"optimum {optimum:.4g}")
    ax.set_xlim(0, n)
    ax.set_ylim(*limits)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right" if direction == "max" else "upper right",
              title="shaded: ± 1 s.e.", title_fontsize="small")
    fig.tight_layout()
    fig.savefig(str(path))


# -- the Pillow renderer -------------------------------------------------------------------
_W, _H = 1000, 600  # output size in pixels
_S = 2  # supersampling factor (drawn at _S× and downsampled: anti-aliased lines)
_MARGIN = (84, 24, 52, 66)  # left, right, top, bottom (output pixels)
_INK, _GRID, _OPT = (30, 30, 30), (228, 228, 228), (70, 70, 70)


def _font(size: int) -> Any:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size * _S)
    except TypeError:  # Pillow < 10.1: fixed-size bitmap font
        return ImageFont.load_default()


def _segments(xs: list[float], ys: list[float]) -> list[list[tuple[float, float]]]:
    """Splits a polyline at NaN values."""
    runs: list[list[tuple[float, float]]] = [[]]
    for x, y in zip(xs, ys, strict=True):
        if math.isfinite(y):
            runs[-1].append((x, y))
        elif runs[-1]:
            runs.append([])
    return [r for r in runs if r]


def _dashed_hline(draw: Any, y: float, x0: float, x1: float, width: int) -> None:
    dash, gap = 10 * _S, 6 * _S
    x = x0
    while x < x1:
        draw.line([(x, y), (min(x + dash, x1), y)], fill=_OPT, width=width)
        x += dash + gap


def _plot_pillow(
    path: Path, curves: Curves, optimum: float | None, direction: str, title: str,
    ylabel: str, xlabel: str, limits: tuple[float, float],
    xvals: Sequence[float] | None = None,
) -> None:
    from PIL import Image, ImageDraw

    W, H = _W * _S, _H * _S
    left, right, top, bottom = (m * _S for m in _MARGIN)
    pw, ph = W - left - right, H - top - bottom
    ylo, yhi = limits
    n = max((len(m) for m, _ in curves.values()), default=1)
    xat = list(range(1, n + 1)) if xvals is None else [float(v) for v in xvals]
    xlo, xhi = 0.0, float(max(xat[-1] if xat else 1.0, 1e-12 if xvals is not None else 1.0))
    small, normal, big = _font(12), _font(14), _font(16)

    def px(x: float) -> float:
        return (x - xlo) / (xhi - xlo) * pw

    def py(y: float) -> float:
        return ph - (y - ylo) / (yhi - ylo) * ph

    img = Image.new("RGBA", (W, H), (255, 255, 255, 255))
    plot = Image.new("RGBA", (pw, ph), (255, 255, 255, 255))
    pd = ImageDraw.Draw(plot)
    xticks, xdec = nice_ticks(xlo, xhi, 8, integer=xvals is None)
    yticks, ydec = nice_ticks(ylo, yhi, 7)
    for t in xticks:
        pd.line([(px(t), 0), (px(t), ph)], fill=_GRID, width=_S)
    for t in yticks:
        pd.line([(0, py(t)), (pw, py(t))], fill=_GRID, width=_S)
    colors = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(curves)}
    for name, (mean, sem) in curves.items():  # bands first, lines on top
        xs = [px(q) for q in xat[:len(mean)]]
        hi = [py(m + e) if math.isfinite(e) else math.nan for m, e in zip(mean, sem, strict=True)]
        lo = [py(m - e) if math.isfinite(e) else math.nan for m, e in zip(mean, sem, strict=True)]
        band = Image.new("RGBA", (pw, ph), (0, 0, 0, 0))
        bd = ImageDraw.Draw(band)
        for up, down in zip(_segments(xs, hi), _segments(xs, lo), strict=False):
            if len(up) > 1:
                bd.polygon(up + down[::-1], fill=(*colors[name], 60))
        plot.alpha_composite(band)
    pd = ImageDraw.Draw(plot)
    if optimum is not None and math.isfinite(optimum):
        _dashed_hline(pd, py(optimum), 0, pw, 2 * _S)
        label = f"optimum {optimum:.4g}"
        h = pd.textbbox((0, 0), label, font=small)[3]
        ty = py(optimum) - h - 6 * _S if direction == "max" else py(optimum) + 5 * _S
        pd.text((8 * _S, ty), label, fill=_OPT, font=small)
    for name, (mean, _sem) in curves.items():
        xs = [px(q) for q in xat[:len(mean)]]
        for seg in _segments(xs, [py(m) for m in mean]):
            if len(seg) == 1:
                x, y = seg[0]
                pd.ellipse([x - 3 * _S, y - 3 * _S, x + 3 * _S, y + 3 * _S], fill=colors[name])
            else:
                pd.line(seg, fill=colors[name], width=int(2.5 * _S), joint="curve")
    _legend(plot, curves, colors, optimum, direction, small)
    img.alpha_composite(plot, (left, top))
    d = ImageDraw.Draw(img)
    d.rectangle([left, top, left + pw, top + ph], outline=_INK, width=_S)
    for t in xticks:
        x = left + px(t)
        d.line([(x, top + ph), (x, top + ph + 5 * _S)], fill=_INK, width=_S)
        d.text((x, top + ph + 8 * _S), f"{t:.{xdec}f}", fill=_INK, font=normal, anchor="ma")
    for t in yticks:
        y = top + py(t)
        d.line([(left - 5 * _S, y), (left, y)], fill=_INK, width=_S)
        d.text((left - 8 * _S, y), f"{t:.{ydec}f}", fill=_INK, font=normal, anchor="rm")
    d.text((left + pw / 2, H - 12 * _S), xlabel, fill=_INK, font=normal, anchor="md")
    d.text((left + pw / 2, top / 2), title, fill=_INK, font=big, anchor="mm")
    box = d.textbbox((0, 0), ylabel, font=normal)
    lab = Image.new("RGBA", (int(box[2]) + 4 * _S, int(box[3]) + 4 * _S), (255, 255, 255, 0))
    ImageDraw.Draw(lab).text((2 * _S, 2 * _S), ylabel, fill=_INK, font=normal)
    lab = lab.rotate(90, expand=True)
    img.alpha_composite(lab, (8 * _S, max(0, top + ph // 2 - lab.height // 2)))
    img.convert("RGB").resize((_W, _H), Image.Resampling.LANCZOS).save(path, format="PNG")


def _legend(
    plot: Any, curves: Curves, colors: dict[str, tuple[int, int, int]],
    optimum: float | None, direction: str, font: Any,
) -> None:
    from PIL import Image, ImageDraw

    entries: list[tuple[str, str, tuple[int, int, int]]] = [
        ("line", name, colors[name]) for name in curves
    ]
    if optimum is not None and math.isfinite(optimum):
        entries.append(("dash", "optimum", _OPT))
    entries.append(("band", "shaded: ± 1 s.e.", (150, 150, 150)))
    measure = ImageDraw.Draw(plot)
    row = max(measure.textbbox((0, 0), "Ag", font=font)[3], 10 * _S) + 6 * _S
    sample, pad = 30 * _S, 8 * _S
    width = sample + 3 * pad + max(measure.textbbox((0, 0), t, font=font)[2] for _, t, _ in
                                   entries)
    height = row * len(entries) + pad
    x0 = plot.width - width - 10 * _S
    y0 = plot.height - height - 10 * _S if direction == "max" else 10 * _S
    layer = Image.new("RGBA", plot.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    d.rectangle([x0, y0, x0 + width, y0 + height], fill=(255, 255, 255, 225),
                outline=(170, 170, 170, 255), width=_S)
    for i, (kind, text, color) in enumerate(entries):
        cy = y0 + pad // 2 + row * i + row // 2
        sx = x0 + pad
        if kind == "line":
            d.line([(sx, cy), (sx + sample, cy)], fill=color, width=int(2.5 * _S))
        elif kind == "dash":
            _dashed_hline(d, cy, sx, sx + sample, 2 * _S)
        else:
            d.rectangle([sx, cy - 5 * _S, sx + sample, cy + 5 * _S], fill=(*color, 90))
        d.text((sx + sample + pad, cy), text, fill=_INK, font=font, anchor="lm")
    plot.alpha_composite(layer)
