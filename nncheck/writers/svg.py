"""Tiny inline-SVG line charts, so the HTML report needs no image files and no network.

matplotlib would do, but a loss curve is a polyline: this keeps the report writer fast
and the report small (a few KB per curve).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape


def line_chart(
    series: dict[str, Sequence[float]],
    *,
    title: str = "",
    width: int = 520,
    height: int = 220,
    log_y: bool = False,
) -> str:
    """An SVG with one polyline per series (x = index); non-finite points are dropped."""
    colors = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c"]
    pad_l, pad_r, pad_t, pad_b = 56, 12, 24, 28
    finite = [
        (v if not log_y else math.log10(v))
        for vals in series.values()
        for v in vals
        if math.isfinite(v) and (v > 0 or not log_y)
    ]
    n_max = max((len(v) for v in series.values()), default=0)
    if not finite or n_max < 2:
        return ""
    lo, hi = min(finite), max(finite)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    w, h = width - pad_l - pad_r, height - pad_t - pad_b

    def xy(i: int, v: float) -> tuple[float, float]:
        y = math.log10(v) if log_y else v
        return pad_l + w * i / (n_max - 1), pad_t + h * (1 - (y - lo) / (hi - lo))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
        f'<rect x="{pad_l}" y="{pad_t}" width="{w}" height="{h}" fill="#fafafa" stroke="#ddd"/>',
    ]
    if title:
        parts.append(f'<text x="{pad_l}" y="15" font-size="12">{escape(title)}</text>')
    for frac in (0.0, 0.5, 1.0):
        val = lo + (hi - lo) * (1 - frac)
        label = f"{10**val:.3g}" if log_y else f"{val:.3g}"
        y = pad_t + h * frac
        parts.append(
            f'<text x="{pad_l - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{label}</text>'
        )
    parts.append(
        f'<text x="{pad_l + w}" y="{height - 8}" font-size="10" text-anchor="end">'
        f"step {n_max - 1}</text>"
    )
    for k, (name, vals) in enumerate(series.items()):
        pts = [xy(i, v) for i, v in enumerate(vals) if math.isfinite(v) and (v > 0 or not log_y)]
        step = max(1, len(pts) // 400)  # at most ~400 points per curve keeps the file small
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts[::step])
        color = colors[k % len(colors)]
        parts.append(
            f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{coords}"/>'
        )
        parts.append(
            f'<text x="{pad_l + w - 4}" y="{pad_t + 14 + 13 * k}" font-size="11" '
            f'text-anchor="end" fill="{color}">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
