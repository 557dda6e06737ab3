"""The report's chart types, drawn with matplotlib on its Agg backend.

Each function takes plain numbers and returns a ``matplotlib.figure.Figure``; ``render``
turns one into PNG bytes. Figures are made with ``Figure`` itself, never through pyplot:
nothing registers them, so nothing can leak (pyplot's registry is what ``plt.close`` is
for), a user's notebook backend and rcParams stay as they were (the style applies inside
``rc_context`` only), and rendering goes through ``FigureCanvasAgg`` explicitly.

Readability rules every chart follows: at most ~6 labelled ticks per axis; log axes label
decades only, thinned so labels never overlap (a probability falling to 1e-21 gets ticks
1e-20, 1e-15 ... 1, not 21 labels), written as plain text ("1e-05", no mathtext: ~20 ms a
figure saved); colour bars say what the colour means; long titles wrap.

matplotlib is imported inside the functions: ``import nncheck`` stays light, and a run
pays the ~0.5 s import only when it writes a report.
"""

from __future__ import annotations

import importlib
import io
import math
import sys
import textwrap
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

CSS_DPI = 100  # figure inches x 100 = its size on the page, in CSS pixels
SCALE = 1.5  # PNG pixels per CSS pixel: sharp on high-density screens, still small files
PALETTE = 128  # colours per PNG (see render)
COLORS = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#be185d", "#65a30d")
KIND_COLORS = {"gradient": "#dc2626", "weight": "#16a34a", "other": "#2563eb"}
WIDTH = 5.4  # inches: two charts side by side in the report's 1180 px column
MANY = 40  # beyond this many labels, bar and range charts become strips without labels

STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.titlesize": 9,
    "axes.labelsize": 8.5,
    "axes.labelcolor": "#444",
    "axes.edgecolor": "#aaa",
    "axes.linewidth": 0.8,
    "axes.grid": True,
    "axes.axisbelow": True,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.formatter.useoffset": False,
    "axes.formatter.limits": (-4, 5),
    "grid.color": "#e7e5e4",
    "grid.linewidth": 0.7,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "xtick.color": "#444",
    "ytick.color": "#444",
    "legend.fontsize": 8,
    "legend.frameon": False,
    "lines.linewidth": 1.4,
    "image.interpolation": "nearest",
}


# The report's imports, started in the background while the checks run (see prefetch).
_prefetch: threading.Thread | None = None
_PREFETCHED = (
    "matplotlib.figure",
    "matplotlib.backends.backend_agg",
    "matplotlib.ticker",
    "matplotlib.colors",
    "PIL.Image",
)


def prefetch() -> None:
    """Import matplotlib and Pillow on a background thread, once per process.

    Importing them (and loading matplotlib's font list) takes ~1.2 s on 2 cores, a fifth
    of writing a report. A run that will write one starts this before its checks, which
    mostly run in NumPy and torch with the GIL released, so the imports are done by the
    time the charts are drawn. Drawing waits for the thread first (``prefetched``), so a
    module is never imported from two threads at once.
    """
    global _prefetch
    if _prefetch is not None or all(m in sys.modules for m in _PREFETCHED):
        return

    def run() -> None:
        for name in _PREFETCHED:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - drawing will import it again and say why
                return

    _prefetch = threading.Thread(target=run, name="nncheck-prefetch", daemon=True)
    _prefetch.start()


def prefetched() -> None:
    """Wait until the background imports, if any were started, are done."""
    if _prefetch is not None:
        _prefetch.join()


@contextmanager
def style() -> Iterator[None]:
    prefetched()
    import matplotlib

    with matplotlib.rc_context(STYLE):
        yield


def new_figure(width: float, height: float) -> Figure:
    prefetched()
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=CSS_DPI)


def render(fig: Figure) -> tuple[bytes, int, int]:
    """PNG bytes and the figure's size on the page (CSS pixels).

    Drawn at ``SCALE`` times the page size, then stored with a palette of ``PALETTE``
    colours (Pillow's fast octree): charts are flat colours plus anti-aliasing, which a
    palette keeps, and the file is a quarter of the RGBA one (the MNIST report's 13 charts
    fit in ~150 KB), at no extra time (a palette PNG encodes faster than an RGB one).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # new_figure waited
    from PIL import Image

    fig.set_dpi(CSS_DPI * SCALE)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    rgb = Image.fromarray(np.asarray(canvas.buffer_rgba())).convert("RGB")
    picture = rgb.quantize(PALETTE, method=Image.Quantize.FASTOCTREE)
    palette = np.array(picture.getpalette(), dtype=np.uint8).reshape(-1, 3)
    palette[(palette >= 246).all(axis=1)] = 255  # octree buckets tint white a little
    picture.putpalette(palette.ravel().tolist())
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    width, height = fig.get_size_inches() * CSS_DPI
    return buffer.getvalue(), int(round(width)), int(round(height))


# ---- layout and axes ------------------------------------------------------------------------


def _title_lines(title: str, width: float, size: float = 9.0) -> list[str]:
    chars = max(20, int(width * 72 / (size * 0.58)))
    return textwrap.wrap(title, chars)[:3] if title else []


def _axes(
    fig: Figure, *, left: float, right: float, top: float, bottom: float, title: str = ""
) -> Axes:
    """One axes placed by margins in inches (fixed layout: no layout engine to run),
    with the title wrapped above it, left-aligned with the figure."""
    width, height = fig.get_size_inches()
    ax = fig.add_axes(
        (left / width, bottom / height, 1 - (left + right) / width, 1 - (top + bottom) / height)
    )
    lines = _title_lines(title, width)
    if lines:
        fig.text(
            0.08 / width,
            1 - 0.06 / height,
            "\n".join(lines),
            ha="left",
            va="top",
            fontsize=9,
            fontweight="bold",
            color="#222",
        )
    return ax


def title_height(title: str, width: float) -> float:
    return 0.12 + 0.16 * len(_title_lines(title, width))


def tick_label(value: float, _pos: Any = None) -> str:
    """A tick as plain text: 0.001, 1e-05, 2.5e+06 -> '2.5e6', never mathtext."""
    if value == 0:
        return "0"
    text = f"{value:.3g}"
    if "e" in text:
        mantissa, exp = text.split("e")
        text = f"{mantissa}e{int(exp)}"
    return text


def log_axis(axis: Any, lo: float, hi: float, symmetric: bool = False) -> None:
    """Decade ticks thinned to at most ~6 labels, plain-text labels; labelled minor ticks
    (2, 5) only where two decades or fewer show and decades alone would say too little
    (unlabelled ones would cost a Tick object each and say nothing)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator, SymmetricalLogLocator

    decades = math.log10(hi / lo) if lo > 0 and hi > lo else 1.0
    if symmetric:
        axis.set_major_locator(SymmetricalLogLocator(axis.get_transform(), subs=[1.0]))
        locator = axis.get_major_locator()
        locator.numticks = 7
        axis.set_minor_locator(NullLocator())
    else:
        axis.set_major_locator(LogLocator(base=10, numticks=7))
        if decades <= 2.2:
            axis.set_minor_locator(LogLocator(base=10, subs=(2.0, 5.0), numticks=12))
            axis.set_minor_formatter(FuncFormatter(tick_label))
        else:
            axis.set_minor_locator(NullLocator())
    axis.set_major_formatter(FuncFormatter(tick_label))


def linear_axis(axis: Any, n: int = 5, integer: bool = False) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    axis.set_major_locator(MaxNLocator(n, integer=integer))
    axis.set_major_formatter(FuncFormatter(tick_label))


def finite(values: Sequence[float] | np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64).ravel()
    return v[np.isfinite(v)]


def wants_log(values: np.ndarray, span: float) -> bool:
    """A log axis when every value is positive and they span more than ``span`` times."""
    return bool(values.size) and values.min() > 0 and values.max() / values.min() > span


def _legend(fig: Figure, ax: Axes, labels: Sequence[str], left: float) -> None:
    width = fig.get_size_inches()[0]
    fig.legend(
        *ax.get_legend_handles_labels(),
        loc="lower left",
        bbox_to_anchor=(left / width, 0.0),
        ncol=legend_columns(labels, width - left),
        handlelength=2.2,
        columnspacing=1.4,
        borderaxespad=0.2,
    )


def legend_columns(labels: Sequence[str], width: float) -> int:
    """As many legend columns as the longest label allows in ``width`` inches (8 pt text)."""
    longest = max((len(str(x)) for x in labels), default=1)
    return max(1, min(len(labels), int(width / ((longest + 6) * 0.066))))


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


# ---- charts ---------------------------------------------------------------------------------


def line_chart(
    title: str,
    series: dict[str, tuple[Sequence[float], Sequence[float]]],
    *,
    log_y: bool | None = None,
    targets: dict[str, float] | None = None,
    dashed: bool = False,
    x_label: str = "step",
) -> Figure:
    """One line per series ``name: (steps, values)``; NaN breaks a line, never reads as 0.

    ``log_y=None`` picks a log axis when all values are positive and span more than 1.5
    decades. ``targets`` draws each series' reference value as a dotted line in its colour
    (a regression sample's true target). ``dashed`` dashes every other series, so runs that
    are identical stay visible on top of each other.
    """
    values = np.concatenate([finite(v) for _, v in series.values()] or [np.zeros(0)])
    levels = finite(list((targets or {}).values()))
    if log_y is None:
        log_y = wants_log(values, 10**1.5)
    n = len(series)
    legend_rows = math.ceil(n / legend_columns(list(series), WIDTH - 0.62)) if n > 1 else 0
    top = title_height(title, WIDTH)
    bottom = 0.42 + 0.17 * legend_rows
    fig = new_figure(WIDTH, top + 1.95 + bottom)
    ax = _axes(fig, left=0.62, right=0.15, top=top, bottom=bottom, title=title)
    for k, (name, (steps, vals)) in enumerate(series.items()):
        y = np.asarray(vals, dtype=np.float64)
        x = np.asarray(steps, dtype=np.float64) if len(steps) == len(y) else np.arange(len(y))
        color = COLORS[k % len(COLORS)]
        style = (0, (5, 3)) if dashed and k % 2 else "-"
        marker = "o" if len(y) <= 30 else None
        ax.plot(x, y, color=color, linestyle=style, marker=marker, markersize=2.5, label=name)
        if targets and name in targets and math.isfinite(targets[name]):
            ax.axhline(targets[name], color=color, linestyle=":", linewidth=1.1)
    if log_y:
        ax.set_yscale("log", nonpositive="mask")
        shown = np.concatenate([values[values > 0], levels[levels > 0]])
        if shown.size:
            log_axis(ax.yaxis, float(shown.min()), float(shown.max()))
    else:
        linear_axis(ax.yaxis)
    linear_axis(ax.xaxis, integer=True)
    ax.set_xlabel(x_label + ("  (log y)" if log_y else ""), loc="right")
    if n > 1:
        _legend(fig, ax, list(series), 0.62)
    return fig


def bar_chart(
    title: str, labels: Sequence[str], series: dict[str, Sequence[float]], *, log: bool | None
) -> Figure:
    """Grouped horizontal bars, one row per label, values written beside single bars;
    past ``MANY`` labels a strip of vertical bars (784 pixel features stay one chart)."""
    vals = np.concatenate([finite(v) for v in series.values()] or [np.zeros(0)])
    positive = vals[vals > 0]
    if log is None:
        log = bool(positive.size) and vals.min() >= 0 and positive.max() / positive.min() > 100
    floor = float(positive.min()) / 2 if (log and positive.size) else 0.0
    names = list(series)
    if len(labels) > MANY:
        return _strip(title, labels, series, log=log, floor=floor)
    top = title_height(title, WIDTH) + (0.22 if len(names) > 1 else 0.0)
    label_w = min(1.8, 0.15 + 0.065 * max(len(str(x)) for x in labels))
    row = 0.13 * len(names) + 0.07
    fig = new_figure(WIDTH, top + row * len(labels) + 0.45)
    ax = _axes(fig, left=label_w, right=0.5, top=top, bottom=0.4, title=title)
    height = 0.8 / len(names)
    y = np.arange(len(labels))
    for k, name in enumerate(names):
        v = np.asarray(series[name], dtype=np.float64)
        shown = np.where(np.isfinite(v), np.maximum(v, floor) if log else v, np.nan)
        offset = (k - (len(names) - 1) / 2) * height
        base = floor if log else 0.0
        ax.barh(
            y + offset,
            shown - base,
            left=base,
            height=height,
            color=COLORS[k % len(COLORS)],
            label=name,
        )
        if len(names) == 1:
            for i, value in enumerate(v):
                if math.isfinite(value):
                    ax.text(
                        max(value, floor) if log else max(value, 0.0),
                        i,
                        " " + tick_label(value),
                        va="center",
                        ha="left",
                        fontsize=7.5,
                        color="#444",
                    )
    ax.set_yticks(y, [_short(str(x), 28) for x in labels])
    ax.invert_yaxis()
    ax.grid(axis="y", visible=False)
    if log:
        ax.set_xscale("log")
        log_axis(ax.xaxis, floor, float(positive.max()) if positive.size else 1.0)
    else:
        linear_axis(ax.xaxis, 5)
    if len(names) > 1:
        width = fig.get_size_inches()[0]
        fig.legend(
            loc="upper left",
            bbox_to_anchor=(label_w / width, 1 - (top - 0.2) / fig.get_size_inches()[1]),
            ncol=len(names),
        )
    return fig


def _strip(
    title: str,
    labels: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    log: bool,
    floor: float,
) -> Figure:
    """Many bars as a band per series, against the label's position (first and last named)."""
    names = list(series)
    top = title_height(title, WIDTH)
    band = 1.0
    fig = new_figure(WIDTH, top + band * len(names) + 0.5)
    width, height = fig.get_size_inches()
    x = np.arange(len(labels))
    for k, name in enumerate(names):
        bottom = 0.45 + band * (len(names) - 1 - k)
        ax = fig.add_axes(
            (0.62 / width, (bottom + 0.1) / height, 1 - 0.77 / width, (band - 0.25) / height)
        )
        v = np.asarray(series[name], dtype=np.float64)
        shown = np.where(np.isfinite(v), np.maximum(v, floor) if log else v, np.nan)
        base = floor if log else 0.0
        ax.bar(x, shown - base, bottom=base, width=1.0, color=COLORS[k % len(COLORS)])
        ax.set_xlim(-0.5, len(labels) - 0.5)
        ax.set_title(name, loc="left", fontsize=8)
        if log:
            ax.set_yscale("log")
            pos = v[np.isfinite(v) & (v > 0)]
            log_axis(ax.yaxis, floor, float(pos.max()) if pos.size else 1.0)
        else:
            linear_axis(ax.yaxis, 3)
        linear_axis(ax.xaxis, 6, integer=True)
        if k < len(names) - 1:
            ax.tick_params(labelbottom=False)
    fig.text(
        0.08 / width,
        1 - 0.06 / height,
        "\n".join(_title_lines(title, width)),
        ha="left",
        va="top",
        fontsize=9,
        fontweight="bold",
        color="#222",
    )
    fig.text(
        0.62 / width,
        0.06 / height,
        f"{len(labels)} in all: {_short(str(labels[0]), 30)}"
        f" … {_short(str(labels[-1]), 30)} (by position)",
        fontsize=7.5,
        color="#555",
    )
    return fig


def range_chart(
    title: str,
    labels: Sequence[str],
    low: Sequence[float],
    high: Sequence[float],
    *,
    log: bool | None,
) -> Figure:
    """One floating bar per label from low to high (each feature's raw range), on a
    symmetric log axis when values span more than two decades, so 0.5 … 1.7 and
    290 … 1680 both stay readable and the difference in scale jumps out; past ``MANY``
    labels, ranges against the label's position."""
    lo_v, hi_v = np.asarray(low, np.float64), np.asarray(high, np.float64)
    ok = np.isfinite(lo_v) & np.isfinite(hi_v)
    ends = np.abs(np.concatenate([lo_v[ok], hi_v[ok]]))
    nonzero = ends[ends > 0]
    if log is None:
        log = bool(nonzero.size) and nonzero.max() / nonzero.min() > 100
    linthresh = 10 ** math.floor(math.log10(nonzero.min())) if (log and nonzero.size) else 1.0
    many = len(labels) > MANY
    top = title_height(title, WIDTH)
    label_w = 0.62 if many else min(1.8, 0.15 + 0.065 * max(len(str(x)) for x in labels))
    height = top + (1.9 if many else 0.16 * len(labels)) + 0.5
    fig = new_figure(WIDTH, height)
    ax = _axes(fig, left=label_w, right=0.2, top=top, bottom=0.45, title=title)
    pos = np.arange(len(labels))
    value_axis = ax.yaxis if many else ax.xaxis
    if many:
        ax.vlines(pos[ok], lo_v[ok], hi_v[ok], color=COLORS[0], linewidth=1.2)
        ax.set_xlim(-0.5, len(labels) - 0.5)
        linear_axis(ax.xaxis, 6, integer=True)
        ax.set_xlabel(
            f"position ({_short(str(labels[0]), 24)} … {_short(str(labels[-1]), 24)})", loc="right"
        )
        if log:
            ax.set_yscale("symlog", linthresh=linthresh)
    else:
        ax.barh(pos[ok], (hi_v - lo_v)[ok], left=lo_v[ok], height=0.65, color=COLORS[0], alpha=0.85)
        ax.set_yticks(pos, [_short(str(x), 28) for x in labels])
        ax.set_ylim(len(labels) - 0.5, -0.5)
        ax.grid(axis="y", visible=False)
        if log:
            ax.set_xscale("symlog", linthresh=linthresh)
        ax.set_xlabel("raw value" + ("  (symmetric log scale)" if log else ""), loc="right")
    if log:
        log_axis(value_axis, linthresh, float(nonzero.max()), symmetric=True)
    else:
        linear_axis(value_axis, 5)
    return fig


def histograms(
    title: str, panels: Sequence[tuple[str, Sequence[float], Sequence[float]]]
) -> Figure:
    """Small multiples: ``(name, edges, counts)`` per panel, coloured by what it shows
    (activations blue, gradients red, weights green), each on its own x range (min, 0 and
    max written under it) and its own height. All panels share one axes: an axes with ticks
    costs ~10 ms to draw, so 9 layers' histograms would otherwise cost 0.1 s."""
    n = len(panels)
    cols = min(4, n)
    rows = math.ceil(n / cols)
    cell = 1.35 if n > 1 else 3.4  # one histogram alone (a target) gets room to show its shape
    top = title_height(title, cols * cell)
    fig = new_figure(cols * cell + 0.1, top + rows * 1.15 * (1 if n > 1 else 1.4) + 0.05)
    ax = _axes(fig, left=0.05, right=0.05, top=top, bottom=0.05, title=title)
    ax.set_axis_off()
    ax.set_xlim(0, cols)
    ax.set_ylim(0, rows)
    for i, (name, edges, counts) in enumerate(panels):
        r, c = divmod(i, cols)
        e, h = np.asarray(edges, np.float64), np.asarray(counts, np.float64)
        lo, hi = float(e[0]), float(e[-1]) if e[-1] > e[0] else float(e[0]) + 1.0
        base, y0 = rows - 1 - r + 0.2, rows - 1 - r

        def at(v: Any, c: int = c, lo: float = lo, hi: float = hi) -> Any:
            return c + 0.06 + 0.88 * (np.asarray(v) - lo) / (hi - lo)

        peak = h.max() if h.size and h.max() > 0 else 1.0
        ax.stairs(
            base + 0.5 * h / peak, at(e), baseline=base, fill=True, color=KIND_COLORS[kind_of(name)]
        )
        ax.plot([at(lo), at(hi)], [base, base], color="#999", linewidth=0.6)
        marks = [(lo, "left"), (hi, "right")]
        if lo < 0 < hi:
            ax.plot(
                [at(0.0)] * 2,
                [base, base + 0.55],
                color="#555",
                linewidth=0.7,
                linestyle=(0, (2, 2)),
            )
            if 0.3 < (0 - lo) / (hi - lo) < 0.7:
                marks.append((0.0, "center"))
        for value, align in marks:
            ax.text(
                float(at(value)),
                base - 0.03,
                tick_label(value),
                ha=align,
                va="top",
                fontsize=7,
                color="#444",
            )
        ax.text(
            c + 0.04,
            y0 + 0.98,
            "\n".join(textwrap.wrap(name, 26 if n > 1 else 60)[:2]),
            ha="left",
            va="top",
            fontsize=7.5,
            color="#222",
        )
    return fig


def _formatter() -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(tick_label)


def kind_of(name: str) -> str:
    low = name.lower()
    if "grad" in low:
        return "gradient"
    if "weight" in low or "param" in low:
        return "weight"
    return "other"


ANNOTATE = 6  # up to this many classes the counts are written in the cells


def heatmap(
    title: str,
    matrix: np.ndarray,
    labels: Sequence[str],
    *,
    row_title: str,
    col_title: str,
) -> Figure:
    """A confusion matrix: cells coloured by their share of the row (so a class's recall
    reads on the diagonal and its confusions along the row), on a square-root scale that
    keeps small error rates visible. Up to ``ANNOTATE`` classes the counts are written in
    the cells; beyond, 100 texts would double the figure's cost (index.html lists the
    counts in a table under it, TensorBoard as text)."""
    from matplotlib.colors import PowerNorm

    m = np.asarray(matrix, dtype=np.float64)
    k = len(m)
    totals = m.sum(axis=1, keepdims=True)
    share = np.divide(m, totals, out=np.zeros_like(m), where=totals > 0)
    named = k <= 30
    short = [_short(str(x), 16) for x in labels]
    longest = max(map(len, short)) if named else 3
    rotate = named and (longest > 3 or k > 12)
    cell = min(0.5, 4.0 / k)
    side = cell * k
    left = (0.45 + 0.065 * longest) if named else 0.6
    bottom = 0.2 + (0.065 * longest if rotate else 0.2)
    top = title_height(title, left + side + 1.2) + 0.2
    fig = new_figure(max(3.0, left + side + 1.2), top + side + bottom)
    ax = _axes(
        fig,
        left=left,
        right=fig.get_size_inches()[0] - left - side,
        top=top,
        bottom=bottom,
        title=title,
    )
    image = ax.imshow(share, cmap="Blues", norm=PowerNorm(0.5, vmin=0.0, vmax=1.0), aspect="auto")
    ax.grid(False)
    if named:
        ticks = np.arange(k)
        ax.set_xticks(ticks, short, rotation=90 if rotate else 0)
        ax.set_yticks(ticks, short)
    else:
        linear_axis(ax.xaxis, 5, integer=True)
        linear_axis(ax.yaxis, 5, integer=True)
    ax.tick_params(length=0)
    ax.xaxis.set_label_position("top")
    ax.set_xlabel(col_title + " →", loc="left")
    ax.set_ylabel("← " + row_title, loc="top")
    if k <= ANNOTATE:
        for i in range(k):
            for j in range(k):
                if m[i, j]:
                    color = "white" if share[i, j] > 0.45 else "#222"
                    ax.text(j, i, f"{m[i, j]:g}", ha="center", va="center", color=color)
    bar = fig.colorbar(image, ax=ax, fraction=0.08, pad=0.04, ticks=[0, 0.01, 0.1, 0.25, 0.5, 1])
    bar.ax.yaxis.set_major_formatter(_formatter())
    bar.set_label("share of the row (√ scale)")
    return fig


def scatter(
    title: str,
    x: Sequence[float],
    y: Sequence[float],
    *,
    x_label: str,
    y_label: str,
    diagonal: bool = False,
    zero_line: bool = False,
) -> Figure:
    """Points; ``diagonal`` draws y = x (a perfect prediction) on equal axes, ``zero_line``
    y = 0 (no residual)."""
    xs, ys = np.asarray(x, np.float64), np.asarray(y, np.float64)
    ok = np.isfinite(xs) & np.isfinite(ys)
    xs, ys = xs[ok], ys[ok]
    top = title_height(title, 3.6)
    fig = new_figure(3.6, top + 2.75 + 0.5)
    ax = _axes(fig, left=0.62, right=0.15, top=top, bottom=0.5, title=title)
    ax.scatter(xs, ys, s=7, alpha=0.55, color=COLORS[0], linewidths=0)
    if diagonal and xs.size:
        lo, hi = float(min(xs.min(), ys.min())), float(max(xs.max(), ys.max()))
        pad = (hi - lo) * 0.04 or 1.0
        ax.plot(
            [lo - pad, hi + pad],
            [lo - pad, hi + pad],
            color="#777",
            linestyle="--",
            linewidth=1,
            label="y = x",
        )
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(lo - pad, hi + pad)
    if zero_line:
        ax.axhline(0, color="#777", linestyle="--", linewidth=1)
    linear_axis(ax.xaxis, 5)
    linear_axis(ax.yaxis, 5)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    return fig


def batch_heatmap(
    title: str, values: np.ndarray, row_labels: Sequence[str], col_labels: Sequence[str]
) -> Figure:
    """A tabular batch as fed: rows samples, columns features, on a diverging scale
    centred at 0 and clipped at the 99th percentile of |x| (said on the colour bar)."""
    v = np.asarray(values, np.float64)
    finite_abs = np.abs(v[np.isfinite(v)])
    limit = float(np.percentile(finite_abs, 99)) if finite_abs.size else 1.0
    limit = limit or 1.0
    rows, cols = v.shape
    named = bool(col_labels) and cols <= 30
    top = title_height(title, WIDTH)
    label_h = min(1.3, 0.2 + 0.06 * max(len(str(c)) for c in col_labels)) if named else 0.45
    fig = new_figure(WIDTH, top + min(3.2, 0.16 * rows + 0.3) + label_h)
    ax = _axes(fig, left=0.75, right=1.15, top=top, bottom=label_h, title=title)
    image = ax.imshow(v, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    ax.grid(False)
    if named:
        ax.set_xticks(np.arange(cols), [_short(str(c), 18) for c in col_labels], rotation=90)
    else:
        linear_axis(ax.xaxis, 6, integer=True)
        ax.set_xlabel("feature", loc="right")
    if row_labels and rows <= 40:
        ax.set_yticks(np.arange(rows), [_short(str(r), 10) for r in row_labels])
        ax.set_ylabel("label")
    else:
        linear_axis(ax.yaxis, 5, integer=True)
        ax.set_ylabel("sample")
    ax.tick_params(length=0)
    bar = fig.colorbar(image, ax=ax, fraction=0.05, pad=0.02)
    bar.ax.yaxis.set_major_formatter(_formatter())
    bar.set_label(f"value as fed (clipped at ±{tick_label(limit)})")
    return fig


def image_batch(title: str, images: np.ndarray, labels: Sequence[str], columns: int = 8) -> Figure:
    """A batch of images as fed, tiled on one shared scale (relative intensities as the
    network sees them), each with its label; the colour bar gives the scale."""
    imgs = np.asarray(images, np.float64)
    if imgs.ndim == 4 and imgs.shape[1] in (1, 3):
        imgs = np.moveaxis(imgs, 1, -1)
    if imgs.ndim == 4 and imgs.shape[-1] == 1:
        imgs = imgs[..., 0]
    n, h, w = imgs.shape[:3]
    rgb = imgs.ndim == 4
    columns = max(1, min(columns, n))
    rows = math.ceil(n / columns)
    pad = max(1, h // 14)
    gap = max(pad, int(round(h * 0.45)))  # room for the label under each tile
    grid = np.full((rows * (h + gap) + pad, columns * (w + pad) + pad, *imgs.shape[3:]), np.nan)
    for i in range(n):
        r, c = divmod(i, columns)
        y, x = pad + r * (h + gap), pad + c * (w + pad)
        grid[y : y + h, x : x + w] = imgs[i]
    ok = imgs[np.isfinite(imgs)]
    lo, hi = (float(ok.min()), float(ok.max())) if ok.size else (0.0, 1.0)
    top = title_height(title, WIDTH)
    cell = min(0.62, 4.0 / columns)
    fig = new_figure(WIDTH, top + rows * cell * (h + gap) / w + 0.1)
    ax = _axes(fig, left=0.1, right=1.0, top=top, bottom=0.05, title=title)
    ax.set_facecolor("#d6d3d1")  # the padding between tiles (NaN)
    if rgb:
        scaled = (grid - lo) / (hi - lo) if hi > lo else np.zeros_like(grid)
        image = ax.imshow(np.clip(np.nan_to_num(scaled, nan=0.8), 0, 1), aspect="equal")
    else:
        image = ax.imshow(
            grid, cmap="gray", vmin=lo, vmax=hi if hi > lo else lo + 1, aspect="equal"
        )
    ax.axis("off")
    for i, label in enumerate(labels[:n]):
        r, c = divmod(i, columns)
        ax.text(
            pad + c * (w + pad) + w / 2,
            pad + r * (h + gap) + h + pad,
            _short(str(label), 12),
            ha="center",
            va="top",
            fontsize=7,
            color="#222",
            clip_on=False,
        )
    if not rgb:
        bar = fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
        bar.ax.yaxis.set_major_formatter(_formatter())
        bar.set_label("value as fed (one scale for the batch)")
    return fig
