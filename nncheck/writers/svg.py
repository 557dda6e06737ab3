"""Tiny inline-SVG charts, so the HTML report needs no image files and no network.

matplotlib would do, but a loss curve is a polyline and a histogram a row of rectangles:
drawing them as SVG text keeps the report writer fast (milliseconds, no 1 s matplotlib
import), the report small (a few KB per chart) and the charts sharp at any zoom.
Every string that reaches the SVG goes through ``escape``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

COLORS = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#be185d", "#65a30d")
FONT = 'font-family="system-ui, sans-serif"'
MAX_POINTS = 400  # per curve: min/max per bucket keeps spikes and keeps the file small


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e5 or a < 1e-3:
        return f"{v:.0e}".replace("e-0", "e-").replace("e+0", "e")
    if a >= 1000:
        return f"{v:.0f}"
    return f"{v:.4g}"


def nice_ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    """Round tick values covering [lo, hi] (about n of them)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(1, n)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step - 1e-9) * step
    ticks = []
    t = start
    while t <= hi + 1e-9 * step:
        ticks.append(round(t, 12))
        t += step
    return ticks


def _open(width: float, height: float, title: str) -> list[str]:
    parts = [
        f'<svg viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
        f'role="img" aria-label="{escape(title)}" {FONT} class="chart">'
    ]
    if title:
        parts.append(
            f'<text x="6" y="15" font-size="12.5" font-weight="600" fill="#222">'
            f"{escape(_clip(title, int(width / 6.6)))}</text>"
        )
    return parts


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: max(1, n - 1)] + "…"


def _decimate(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    if len(points) <= 2 * MAX_POINTS:
        return points
    size = len(points) / MAX_POINTS
    out = []
    for b in range(MAX_POINTS):
        chunk = points[int(b * size) : int((b + 1) * size)]
        if not chunk:
            continue
        lo = min(chunk, key=lambda p: p[1])
        hi = max(chunk, key=lambda p: p[1])
        out.extend(sorted({lo, hi}))
    return out


def line_chart(
    series: dict[str, Sequence[float]],
    *,
    steps: Sequence[float] | dict[str, Sequence[float]] | None = None,
    title: str = "",
    width: int = 520,
    height: int = 230,
    log_y: bool | None = None,
    x_label: str = "step",
    legend: bool = True,
    dashed: bool = False,
) -> str:
    """An SVG with one line per series against ``steps`` (default: the index), which may
    also be given per series (a dict) when the series were recorded on different steps.

    Non-finite points break the line (a NaN shows as a gap, not as a zero). ``log_y=None``
    picks a log axis when every value is positive and they span more than 1.5 decades.
    ``dashed`` draws every other series dashed, so identical runs stay visible on top of
    each other.
    """
    vals = [float(v) for values in series.values() for v in values]
    finite = [v for v in vals if math.isfinite(v)]
    n_max = max((len(v) for v in series.values()), default=0)
    if not finite or n_max < 2:
        return ""
    if log_y is None:
        log_y = min(finite) > 0 and max(finite) / min(finite) > 10**1.5
    ty = (lambda v: math.log10(v)) if log_y else (lambda v: v)
    shown = [ty(v) for v in finite if v > 0 or not log_y]
    lo, hi = min(shown), max(shown)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    pad = (hi - lo) * 0.04
    lo, hi = lo - pad, hi + pad
    names = list(series)
    per_series: dict[str, list[float]] = {}
    for name in names:
        given = steps.get(name) if isinstance(steps, dict) else steps
        xs = [float(s) for s in given] if given is not None and len(given) else []
        per_series[name] = xs or [float(i) for i in range(len(series[name]))]
    all_x = [x for xs in per_series.values() for x in xs]
    x_lo, x_hi = min(all_x), max(all_x)
    if x_hi <= x_lo:
        x_hi = x_lo + 1.0

    legend_cols = 1 if len(names) <= 3 else 2
    legend_rows = math.ceil(len(names) / legend_cols) if (legend and len(names) > 1) else 0
    pad_l, pad_r, pad_t, pad_b = 54, 12, 26, 30 + 15 * legend_rows
    w, h = width - pad_l - pad_r, height - pad_t - pad_b + 15 * legend_rows
    height = pad_t + h + pad_b

    def px(x: float) -> float:
        return pad_l + w * (x - x_lo) / (x_hi - x_lo)

    def py(y: float) -> float:
        return pad_t + h * (1 - (y - lo) / (hi - lo))

    parts = _open(width, height, title)
    parts.append(
        f'<rect x="{pad_l}" y="{pad_t}" width="{w}" height="{h}" fill="#fcfcfc" stroke="#ccc"/>'
    )
    if log_y:
        ticks = [float(e) for e in range(math.ceil(lo), math.floor(hi) + 1)]
        if len(ticks) < 2:
            ticks = nice_ticks(lo, hi, 3)
        labels = [_fmt(10**t) for t in ticks]
    else:
        ticks = nice_ticks(lo, hi, 4)
        labels = [_fmt(t) for t in ticks]
    for t, label in zip(ticks, labels):
        y = py(t)
        parts.append(
            f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e5e5"/>'
        )
        parts.append(
            f'<text x="{pad_l - 4}" y="{y + 3.5:.1f}" font-size="10" text-anchor="end" '
            f'fill="#444">{label}</text>'
        )
    for t in nice_ticks(x_lo, x_hi, 5):
        x = px(t)
        parts.append(
            f'<text x="{x:.1f}" y="{pad_t + h + 13}" font-size="10" text-anchor="middle" '
            f'fill="#444">{_fmt(t)}</text>'
        )
    parts.append(
        f'<text x="{pad_l + w}" y="{pad_t + h + 25}" font-size="10" text-anchor="end" '
        f'fill="#666">{escape(x_label)}{" (log y)" if log_y else ""}</text>'
    )
    for k, name in enumerate(names):
        color = COLORS[k % len(COLORS)]
        values = list(series[name])
        segments: list[list[tuple[float, float]]] = [[]]
        xs = per_series[name]
        for i, v in enumerate(values):
            x = xs[i] if i < len(xs) else float(i)
            if math.isfinite(v) and (v > 0 or not log_y):
                segments[-1].append((x, ty(v)))
            elif segments[-1]:
                segments.append([])
        for seg in segments:
            seg = _decimate(seg)
            if len(seg) == 1:
                x, y = seg[0]
                parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2" fill="{color}"/>')
            elif seg:
                coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in seg)
                dash = ' stroke-dasharray="6,4"' if dashed and k % 2 else ""
                parts.append(
                    f'<polyline fill="none" stroke="{color}" stroke-width="1.6"{dash} '
                    f'stroke-linejoin="round" points="{coords}"/>'
                )
        if legend_rows:
            col, row = k % legend_cols, k // legend_cols
            lx = pad_l + col * (w / legend_cols)
            ly = pad_t + h + 38 + 15 * row
            parts.append(f'<rect x="{lx:.1f}" y="{ly - 8}" width="12" height="3" fill="{color}"/>')
            parts.append(
                f'<text x="{lx + 16:.1f}" y="{ly - 3}" font-size="10.5" fill="#333">'
                f"{escape(_clip(name, int(w / legend_cols / 6)))}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    labels: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    title: str = "",
    width: int = 520,
    log_x: bool | None = None,
) -> str:
    """Grouped horizontal bars, one row per label (up to ~60 labels).

    Beyond that the labels would not be readable: a compact vertical strip without labels
    is drawn instead. ``log_x=None`` picks a log axis when positive values span > 2 decades.
    """
    names = list(series)
    vals = [float(v) for s in series.values() for v in s if math.isfinite(float(v))]
    if not labels or not vals:
        return ""
    positive = [v for v in vals if v > 0]
    if log_x is None:
        log_x = bool(positive) and min(vals) >= 0 and max(positive) / min(positive) > 100
    if len(labels) > 60:
        return _bar_strip(labels, series, title=title, width=width, log_y=log_x)
    floor = min(positive) / 2 if (log_x and positive) else 0.0

    def tv(v: float) -> float:
        return math.log10(max(v, floor)) if log_x else v

    lo = tv(floor) if log_x else min(0.0, min(vals))
    hi = max(tv(v) for v in vals)
    if hi <= lo:
        hi = lo + 1.0
    label_w = min(170, 14 + 6.4 * max(len(str(x)) for x in labels))
    pad_l, pad_r, pad_t = label_w, 46, 26
    bar_h = 11 if len(names) == 1 else 8
    group_h = bar_h * len(names) + 5
    legend_h = 16 if len(names) > 1 else 0
    h = group_h * len(labels)
    height = pad_t + legend_h + h + 24
    w = width - pad_l - pad_r
    top = pad_t + legend_h

    def px(v: float) -> float:
        return pad_l + w * (tv(v) - lo) / (hi - lo)

    parts = _open(width, height, title)
    for k, name in enumerate(names if len(names) > 1 else []):
        lx, color = pad_l + k * 110, COLORS[k % len(COLORS)]
        parts.append(
            f'<rect x="{lx}" y="{pad_t - 2}" width="10" height="10" fill="{color}"/>'
            f'<text x="{lx + 14}" y="{pad_t + 7}" font-size="10.5" fill="#333">'
            f"{escape(_clip(name, 16))}</text>"
        )
    ticks = (
        [float(e) for e in range(math.ceil(lo), math.floor(hi) + 1)]
        if log_x
        else nice_ticks(lo, hi, 4)
    )
    for t in ticks:
        x = pad_l + w * (t - lo) / (hi - lo)
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + h}" stroke="#e5e5e5"/>'
        )
        parts.append(
            f'<text x="{x:.1f}" y="{top + h + 13}" font-size="10" text-anchor="middle" '
            f'fill="#444">{_fmt(10**t if log_x else t)}</text>'
        )
    if log_x:
        parts.append(
            f'<text x="{pad_l + w}" y="{top + h + 24}" font-size="10" text-anchor="end" '
            f'fill="#666">log scale</text>'
        )
    zero = px(0.0) if not log_x else pad_l
    for i, label in enumerate(labels):
        y0 = top + i * group_h
        parts.append(
            f'<text x="{pad_l - 5}" y="{y0 + group_h / 2 + 2:.1f}" font-size="10.5" '
            f'text-anchor="end" fill="#333">{escape(_clip(str(label), int(label_w / 6.4)))}</text>'
        )
        for k, name in enumerate(names):
            v = float(series[name][i]) if i < len(series[name]) else float("nan")
            if not math.isfinite(v):
                continue
            x1 = px(v)
            x, bw = (min(zero, x1), abs(x1 - zero))
            y = y0 + 2 + k * bar_h
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{max(bw, 0.5):.1f}" height="{bar_h - 1}" '
                f'fill="{COLORS[k % len(COLORS)]}"><title>{escape(str(label))} · '
                f"{escape(name)}: {_fmt(v)}</title></rect>"
            )
            if len(names) == 1 and len(labels) <= 40:
                parts.append(
                    f'<text x="{max(x1, zero) + 3:.1f}" y="{y + bar_h - 2}" font-size="9" '
                    f'fill="#555">{_fmt(v)}</text>'
                )
    parts.append(f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="{top}" y2="{top + h}" stroke="#888"/>')
    parts.append("</svg>")
    return "".join(parts)


def _bar_strip(
    labels: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    title: str,
    width: int,
    log_y: bool,
) -> str:
    """Many bars (e.g. 784 pixel features) as thin vertical bars, first series only plotted
    per name as its own band."""
    names = list(series)
    n = len(labels)
    band, pad_l, pad_t = 70, 54, 26
    height = pad_t + band * len(names) + 22
    w = width - pad_l - 10
    parts = _open(width, height, title)
    for k, name in enumerate(names):
        vals = [float(v) for v in series[name]]
        finite = [v for v in vals if math.isfinite(v) and (v > 0 or not log_y)]
        if not finite:
            continue
        tv = (lambda v: math.log10(v)) if log_y else (lambda v: v)
        lo = min(0.0, min(tv(v) for v in finite)) if not log_y else min(tv(v) for v in finite)
        hi = max(tv(v) for v in finite)
        if hi <= lo:
            hi = lo + 1.0
        y0 = pad_t + k * band
        parts.append(
            f'<text x="{pad_l - 4}" y="{y0 + 10}" font-size="9.5" text-anchor="end" fill="#444">'
            f"{_fmt(10**hi if log_y else hi)}</text>"
            f'<text x="{pad_l - 4}" y="{y0 + band - 8}" font-size="9.5" text-anchor="end" '
            f'fill="#444">{_fmt(10**lo if log_y else lo)}</text>'
            f'<text x="{pad_l + 2}" y="{y0 + 9}" font-size="10" fill="#333">{escape(name)}'
            f"{' (log)' if log_y else ''}</text>"
        )
        bw = w / n
        color = COLORS[k % len(COLORS)]
        path = []
        for i, v in enumerate(vals):
            if not (math.isfinite(v) and (v > 0 or not log_y)):
                continue
            top = y0 + 12 + (band - 16) * (1 - (tv(v) - lo) / (hi - lo))
            bottom = y0 + band - 4
            x = pad_l + i * bw
            path.append(f"M{x:.1f} {bottom:.1f}V{top:.1f}h{max(bw * 0.8, 0.4):.2f}V{bottom:.1f}z")
        parts.append(f'<path d="{"".join(path)}" fill="{color}"/>')
    parts.append(
        f'<text x="{pad_l}" y="{height - 6}" font-size="10" fill="#666">{escape(str(labels[0]))}'
        f'</text><text x="{pad_l + w}" y="{height - 6}" font-size="10" text-anchor="end" '
        f'fill="#666">{escape(str(labels[-1]))} ({n} in all)</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def histogram(
    edges: Sequence[float],
    counts: Sequence[float],
    *,
    title: str = "",
    width: int = 260,
    height: int = 140,
    color: str = "#2563eb",
) -> str:
    """A histogram from bin edges (n + 1) and counts (n), with min, 0 and max marked."""
    edges = [float(e) for e in edges]
    counts = [float(c) for c in counts]
    if len(edges) != len(counts) + 1 or not counts or not all(map(math.isfinite, edges)):
        return ""
    lo, hi = edges[0], edges[-1]
    if hi <= lo:
        hi = lo + 1.0
    top = max(counts) or 1.0
    pad_l, pad_r, pad_t, pad_b = 8, 8, 24, 18
    w, h = width - pad_l - pad_r, height - pad_t - pad_b

    def px(x: float) -> float:
        return pad_l + w * (x - lo) / (hi - lo)

    parts = _open(width, height, title)
    path = []
    for a, b, c in zip(edges[:-1], edges[1:], counts):
        if c <= 0:
            continue
        y = pad_t + h * (1 - c / top)
        path.append(f"M{px(a):.1f} {pad_t + h}V{y:.1f}H{px(b):.1f}V{pad_t + h}z")
    parts.append(f'<path d="{"".join(path)}" fill="{color}" fill-opacity="0.85"/>')
    parts.append(
        f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{pad_t + h}" y2="{pad_t + h}" stroke="#999"/>'
    )
    if lo < 0 < hi:
        parts.append(
            f'<line x1="{px(0):.1f}" x2="{px(0):.1f}" y1="{pad_t}" y2="{pad_t + h}" '
            f'stroke="#999" stroke-dasharray="2,2"/>'
        )
    parts.append(
        f'<text x="{pad_l}" y="{height - 5}" font-size="9.5" fill="#444">{_fmt(lo)}</text>'
        f'<text x="{pad_l + w}" y="{height - 5}" font-size="9.5" text-anchor="end" '
        f'fill="#444">{_fmt(hi)}</text>'
    )
    if lo < 0 < hi and pad_l + 40 < px(0) < pad_l + w - 40:
        parts.append(
            f'<text x="{px(0):.1f}" y="{height - 5}" font-size="9.5" text-anchor="middle" '
            f'fill="#444">0</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def heatmap(
    matrix: Sequence[Sequence[float]],
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    *,
    title: str = "",
    row_title: str = "",
    col_title: str = "",
    max_width: int = 560,
) -> str:
    """A confusion-matrix heatmap: cells shaded by their share of the row (so each class's
    recall reads along its row), the diagonal blue and the off-diagonal red, counts written
    in the cells when there is room."""
    m = [[float(v) for v in row] for row in matrix]
    k_r, k_c = len(m), len(m[0]) if m else 0
    if not k_r or not k_c:
        return ""
    label_w = min(120, 16 + 6.4 * max(len(str(x)) for x in row_labels))
    label_h = min(120, 16 + 6.4 * max(len(str(x)) for x in col_labels)) if k_c > 12 else 18
    cell = max(6.0, min(40.0, (max_width - label_w - 30) / k_c))
    pad_l, pad_t = label_w + 18, 30 + label_h
    width = max(pad_l + cell * k_c + 12, 6.6 * len(title) + 12)
    height = pad_t + cell * k_r + 10
    parts = _open(width, height, title)
    annotate = cell >= 22
    for i, row in enumerate(m):
        total = sum(v for v in row if math.isfinite(v)) or 1.0
        y = pad_t + i * cell
        parts.append(
            f'<text x="{pad_l - 4}" y="{y + cell / 2 + 3.5:.1f}" font-size="10" '
            f'text-anchor="end" fill="#333">{escape(_clip(str(row_labels[i]), 18))}</text>'
        )
        for j, v in enumerate(row):
            share = v / total if math.isfinite(v) else 0.0
            x = pad_l + j * cell
            if i == j:
                alpha = share
                fill = f"rgba(37,99,235,{0.08 + 0.92 * alpha:.3f})"
            else:
                alpha = math.sqrt(share)  # small error rates stay visible
                fill = f"rgba(220,38,38,{0.9 * alpha:.3f})" if v > 0 else "#fff"
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{cell:.1f}" height="{cell:.1f}" '
                f'fill="{fill}" stroke="#eee"><title>{escape(str(row_labels[i]))} → '
                f"{escape(str(col_labels[j]))}: {v:g} ({100 * share:.1f}% of row)</title></rect>"
            )
            if annotate and v:
                dark = (i == j and share > 0.55) or (i != j and alpha > 0.6)
                parts.append(
                    f'<text x="{x + cell / 2:.1f}" y="{y + cell / 2 + 3.5:.1f}" '
                    f'font-size="{9 if v >= 1000 else 10}" text-anchor="middle" '
                    f'fill="{"#fff" if dark else "#222"}">{v:g}</text>'
                )
    for j, label in enumerate(col_labels):
        x = pad_l + j * cell + cell / 2
        if k_c > 12:
            parts.append(
                f'<text transform="translate({x + 3:.1f},{pad_t - 4}) rotate(-60)" '
                f'font-size="10" fill="#333">{escape(_clip(str(label), 18))}</text>'
            )
        else:
            parts.append(
                f'<text x="{x:.1f}" y="{pad_t - 5}" font-size="10" text-anchor="middle" '
                f'fill="#333">{escape(_clip(str(label), int(cell / 5) + 1))}</text>'
            )
    if col_title:
        parts.append(
            f'<text x="{pad_l + cell * k_c / 2:.1f}" y="{pad_t - label_h - 2}" font-size="10.5" '
            f'text-anchor="middle" fill="#555">{escape(col_title)} →</text>'
        )
    if row_title:
        cy = pad_t + cell * k_r / 2
        parts.append(
            f'<text transform="translate(11,{cy:.1f}) rotate(-90)" font-size="10.5" '
            f'text-anchor="middle" fill="#555">{escape(row_title)} →</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def range_chart(
    labels: Sequence[str],
    low: Sequence[float],
    high: Sequence[float],
    *,
    title: str = "",
    width: int = 520,
    log_x: bool | None = None,
) -> str:
    """One floating bar per label from ``low`` to ``high`` (e.g. each feature's raw range),
    on a symmetric log axis when the values span more than 2 decades, so 0.5..1.7 and
    290..1680 both stay readable and the difference in scale jumps out."""
    pairs = [
        (str(lab), float(a), float(b))
        for lab, a, b in zip(labels, low, high)
        if math.isfinite(float(a)) and math.isfinite(float(b))
    ]
    if not pairs:
        return ""
    ends = [v for _, a, b in pairs for v in (a, b)]
    nonzero = [abs(v) for v in ends if v != 0]
    if log_x is None:
        log_x = bool(nonzero) and max(nonzero) / min(nonzero) > 100
    c = 10 ** math.floor(math.log10(min(nonzero))) if (log_x and nonzero) else 1.0

    def tv(v: float) -> float:
        return math.copysign(math.log10(1 + abs(v) / c), v) if log_x else v

    lo, hi = min(tv(v) for v in ends), max(tv(v) for v in ends)
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi <= lo:
        hi = lo + 1.0
    label_w = min(170, 14 + 6.4 * max(len(lab) for lab, _, _ in pairs))
    pad_l, pad_r, pad_t, row = label_w, 16, 26, 14
    w = width - pad_l - pad_r
    h = row * len(pairs)
    height = pad_t + h + 30

    def px(v: float) -> float:
        return pad_l + w * (tv(v) - lo) / (hi - lo)

    parts = _open(width, height, title)
    if log_x:
        top = max(abs(v) for v in ends)
        ticks = [0.0]
        k = c * 10
        while k <= top * 1.0001:
            ticks += [k] + ([-k] if min(ends) <= -k else [])
            k *= 100 if top / c > 1e6 else 10
    else:
        ticks = nice_ticks(lo, hi, 4)
    for t in ticks:
        x = px(t)
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{pad_t}" y2="{pad_t + h}" stroke="#e5e5e5"/>'
            f'<text x="{x:.1f}" y="{pad_t + h + 13}" font-size="10" text-anchor="middle" '
            f'fill="#444">{_fmt(t)}</text>'
        )
    if log_x:
        parts.append(
            f'<text x="{pad_l + w}" y="{pad_t + h + 25}" font-size="10" text-anchor="end" '
            f'fill="#666">symmetric log scale</text>'
        )
    for i, (label, a, b) in enumerate(pairs):
        y = pad_t + i * row
        x1, x2 = sorted((px(a), px(b)))
        parts.append(
            f'<text x="{pad_l - 5}" y="{y + row / 2 + 3.5:.1f}" font-size="10.5" '
            f'text-anchor="end" fill="#333">{escape(_clip(label, int(label_w / 6.4)))}</text>'
            f'<rect x="{x1:.1f}" y="{y + 3}" width="{max(x2 - x1, 1.5):.1f}" height="{row - 5}" '
            f'fill="{COLORS[0]}" fill-opacity="0.8"><title>{escape(label)}: {_fmt(a)} … '
            f"{_fmt(b)}</title></rect>"
        )
    parts.append("</svg>")
    return "".join(parts)


def scatter(
    x: Sequence[float],
    y: Sequence[float],
    *,
    title: str = "",
    x_label: str = "",
    y_label: str = "",
    diagonal: bool = False,
    width: int = 340,
    height: int = 300,
    max_points: int = 2000,
) -> str:
    """Points (e.g. predicted vs true target); ``diagonal`` draws y = x, the perfect fit.
    At most ``max_points`` are drawn (evenly spaced), which keeps the SVG small."""
    pts = [(float(a), float(b)) for a, b in zip(x, y)]
    pts = [(a, b) for a, b in pts if math.isfinite(a) and math.isfinite(b)]
    if not pts:
        return ""
    if len(pts) > max_points:
        pts = pts[:: math.ceil(len(pts) / max_points)]
    xs, ys = [a for a, _ in pts], [b for _, b in pts]
    x_lo, x_hi, y_lo, y_hi = min(xs), max(xs), min(ys), max(ys)
    if diagonal:
        x_lo = y_lo = min(x_lo, y_lo)
        x_hi = y_hi = max(x_hi, y_hi)
    if x_hi <= x_lo:
        x_hi = x_lo + 1.0
    if y_hi <= y_lo:
        y_hi = y_lo + 1.0
    pad_l, pad_r, pad_t, pad_b = 50, 12, 26, 34
    w, h = width - pad_l - pad_r, height - pad_t - pad_b

    def px(v: float) -> float:
        return pad_l + w * (v - x_lo) / (x_hi - x_lo)

    def py(v: float) -> float:
        return pad_t + h * (1 - (v - y_lo) / (y_hi - y_lo))

    parts = _open(width, height, title)
    parts.append(
        f'<rect x="{pad_l}" y="{pad_t}" width="{w}" height="{h}" fill="#fcfcfc" stroke="#ccc"/>'
    )
    for t in nice_ticks(x_lo, x_hi, 4):
        parts.append(
            f'<text x="{px(t):.1f}" y="{pad_t + h + 13}" font-size="10" text-anchor="middle" '
            f'fill="#444">{_fmt(t)}</text>'
        )
    for t in nice_ticks(y_lo, y_hi, 4):
        parts.append(
            f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{py(t):.1f}" y2="{py(t):.1f}" '
            f'stroke="#e5e5e5"/><text x="{pad_l - 4}" y="{py(t) + 3.5:.1f}" font-size="10" '
            f'text-anchor="end" fill="#444">{_fmt(t)}</text>'
        )
    if diagonal:
        parts.append(
            f'<line x1="{px(x_lo):.1f}" y1="{py(x_lo):.1f}" x2="{px(x_hi):.1f}" '
            f'y2="{py(x_hi):.1f}" stroke="#888" stroke-dasharray="4,3"/>'
        )
    dots = "".join(f"M{px(a):.1f} {py(b):.1f}h0" for a, b in pts)
    parts.append(
        f'<path d="{dots}" stroke="{COLORS[0]}" stroke-opacity="0.6" stroke-width="4" '
        f'stroke-linecap="round" fill="none"/>'
    )
    parts.append(
        f'<text x="{pad_l + w}" y="{height - 6}" font-size="10" text-anchor="end" '
        f'fill="#666">{escape(x_label)}</text>'
        f'<text transform="translate(11,{pad_t + h / 2:.1f}) rotate(-90)" font-size="10" '
        f'text-anchor="middle" fill="#666">{escape(y_label)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)
