"""Helpers for the checks that read the user's data pipeline again (torch Datasets).

Each read goes through the user's own transforms under a seed of its own (see
``nncheck.data.torch_data``), so two reads of one item differ exactly when the pipeline
draws something random, and every run reads the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nncheck.checks.context import Context


def probe_positions(ctx: Context, split: str, count: int, salt: int) -> np.ndarray:
    """A seeded choice of ``count`` item indices among those the checks read."""
    assert ctx.pipeline is not None
    src = ctx.pipeline.split(split)
    assert src is not None and src.positions is not None
    pos = np.asarray(src.positions)
    if len(pos) <= count:
        return pos
    rng = np.random.default_rng([ctx.seed, salt])
    return np.sort(rng.choice(pos, size=count, replace=False))


def read_twice(
    ctx: Context, split: str, positions: np.ndarray, salt: int
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Two reads of the same items, each under its own seed."""
    from nncheck.data.torch_data import reread

    assert ctx.pipeline is not None
    return (
        reread(ctx.pipeline, split, positions, salt),
        reread(ctx.pipeline, split, positions, salt + 1),
    )


def as_image(x: np.ndarray) -> np.ndarray | None:
    """One input as a uint8 picture (H, W), or None when it is not an image."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 3 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 2:
        return None
    lo, hi = float(a.min()), float(a.max())
    scaled = (a - lo) / (hi - lo) * 255 if hi > lo else np.zeros_like(a)
    return np.clip(scaled, 0, 255).astype(np.uint8)


def image_pairs(
    pairs: list[tuple[np.ndarray, np.ndarray, str]], title: str
) -> dict[str, Any] | None:
    """An images artifact of (first read, second read, caption) pairs, side by side."""
    items = []
    for a, b, caption in pairs:
        ia, ib = as_image(a), as_image(b)
        if ia is None or ib is None:
            return None
        items.append({"image": ia, "caption": f"{caption}, read 1"})
        items.append({"image": ib, "caption": f"{caption}, read 2"})
    return {"title": title, "items": items} if items else None
