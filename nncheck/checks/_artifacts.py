"""Conventions for what checks leave in ``CheckResult.artifacts`` for the writers.

Writers render these; checks never draw. Keeping the shapes in one place means a new check
gets thumbnails and curves in the report without touching any writer.

- ``artifacts["curves"]``: ``{name: {"step": [...], "loss": [...], ...}}`` — training curves.
- ``artifacts["images"]``: ``{"title": str, "items": [{"image": uint8 (H, W), "caption": str}]}``
  — thumbnails of example samples (image data only).
- ``artifacts["tables"]``: ``{name: {"columns": [...], "rows": [[...], ...]}}`` — small tables.
- ``artifacts["histograms"]``: ``{name: {"edges": [...], "counts": [...]}}`` — value
  distributions (activations, pre-activations, gradients per layer at init).
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
    items = []
    raw = split.x_raw
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
