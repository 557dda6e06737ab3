"""Conventions for what checks leave in ``CheckResult.artifacts`` for the writers.

Writers render these; checks never draw. Keeping the shapes in one place means a new check
gets thumbnails and curves in the report without touching any writer.

- ``artifacts["curves"]``: ``{name: {"step": [...], "loss": [...], ...}}`` — training curves;
  an optional ``"targets": {series: value}`` gives each series a reference level (a
  regression sample's true target, beside its predictions over training).
- ``artifacts["images"]``: ``{"title": str, "items": [{"image": uint8 (H, W), "caption": str}]}``
  — thumbnails of example samples (image data only).
- ``artifacts["tables"]``: ``{name: {"columns": [...], "rows": [[...], ...]}}`` — small tables.
- ``artifacts["histograms"]``: ``{name: {"edges": [...], "counts": [...], "note"?: str}}``
  — value distributions (activations, pre-activations, gradients per layer at init; a
  regression target, with a note on caps and pile-ups).
- ``artifacts["scatter"]``: ``{name: {"x", "y", "x_label", "y_label", "diagonal"?,
  "zero_line"?}}`` — e.g. predicted vs true target (y = x) and residuals (y = 0).
- ``artifacts["confusion"]``: ``{"labels": [...], "matrix": [[...]], "rows": "given label",
  "columns": "predicted"}`` — the test-set confusion matrix.
- ``artifacts["exports"]``: ``{file name: {"columns": [...], "rows": [[...], ...]}}`` — a
  table too long for the page (every label-error suspect), written beside the report as
  a CSV file of that name.
- ``artifacts["predictions"]``: ``{"steps", "rows", "targets", "outputs"}`` — raw outputs on a
  few fixed test samples over training (prediction dynamics).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nncheck.data.dataset import Split


def thumbnails(
    split: Split,
    rows: Sequence[int],
    captions: Sequence[str],
    *,
    title: str,
    limit: int = 24,
) -> dict[str, Any]:
    """Small uint8 images of ``split`` rows (positions in the split), as loaded from disk.

    Raw pixels, not normalized ones, so a person sees what the file holds; rescaled to
    0..255 when the stored range is different (e.g. digits' 0..16).
    """
    return image_thumbnails(split.x_raw, rows, captions, title=title, limit=limit)


def image_thumbnails(
    raw: np.ndarray,
    rows: Sequence[int],
    captions: Sequence[str],
    *,
    title: str,
    limit: int = 24,
) -> dict[str, Any]:
    """``thumbnails`` of rows of any array of images as stored (e.g. rows read back from
    files too large for memory)."""
    items = []
    for row, caption in list(zip(rows, captions))[:limit]:
        img = np.asarray(raw[int(row)], dtype=np.float64)
        if img.ndim == 1:
            side = int(round(np.sqrt(img.size)))
            if side * side != img.size:
                continue
            img = img.reshape(side, side)
        finite = img[np.isfinite(img)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if lo >= 0 and hi <= 255 and raw.dtype == np.uint8:
            scaled = img
        else:
            scaled = (img - lo) / (hi - lo) * 255 if hi > lo else np.zeros_like(img)
        scaled = np.nan_to_num(scaled, nan=0.0, posinf=255.0, neginf=0.0)
        items.append({"image": np.clip(scaled, 0, 255).astype(np.uint8), "caption": caption})
    return {"title": title, "items": items}


def curve(steps: Sequence[int], **series: Sequence[float]) -> dict[str, list[float]]:
    """A curve artifact: ``step`` plus named series of the same length."""
    out: dict[str, list[Any]] = {"step": [int(s) for s in steps]}
    for name, values in series.items():
        out[name] = [float(v) for v in values]
    return out


def target_histogram(y_train: np.ndarray, y_test: np.ndarray) -> dict[str, Any]:
    """A regression target's histogram (train and test together), with a note on caps and
    pile-ups: a value at the top or bottom of the range that many targets share (Boston
    housing's 50.0, where prices above 50k were recorded as 50) or any single value
    holding a large share of a continuous target (zeros for "no event", a default).

    Plain data for the writers, under ``artifacts["histograms"]``.
    """
    y = np.concatenate([np.asarray(y_train, np.float64), np.asarray(y_test, np.float64)])
    y = y[np.isfinite(y)]
    if not y.size:
        return {}
    values, counts = np.unique(y, return_counts=True)
    n = y.size
    typical = float(np.median(counts))
    notes = []
    for which, i in (("maximum", len(values) - 1), ("minimum", 0)):
        c = int(counts[i])
        if len(values) > 20 and c >= 5 and c / n >= 0.01 and c >= 3 * typical:
            notes.append(
                f"{c} of {n} targets ({100 * c / n:.1f}%) equal the {which} "
                f"{values[i]:.6g}: the target looks capped (censored), so the model cannot "
                "learn what lies beyond the cap and errors near it are understated"
            )
    top = int(np.argmax(counts))
    if not notes and len(values) > 20 and counts[top] / n >= 0.05:
        notes.append(
            f"{int(counts[top])} of {n} targets ({100 * counts[top] / n:.1f}%) equal "
            f"{values[top]:.6g}: a pile-up (a default, a sentinel or a censored value?)"
        )
    if not notes:
        notes.append(
            f"no cap or pile-up: the most frequent value, {values[top]:.6g}, holds "
            f"{100 * counts[top] / n:.1f}% of the {n} targets"
        )
    hist, edges = np.histogram(y, bins=min(40, max(5, len(values))))
    return {
        f"target ({n} train + test samples)": {
            "edges": edges.tolist(),
            "counts": hist.tolist(),
            "note": "; ".join(notes),
        }
    }
