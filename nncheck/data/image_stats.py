"""Per-image statistics that tell a corrupted image from a real one, chunk by chunk.

data.outliers counts all-zero, constant, pure-noise and spiked images. The statistics are
per image and need only the image itself, so the same function serves a split in memory
(in chunks) and the streaming stage (per chunk of a file too large for memory, on Dask
workers too); the thresholds are applied afterwards (``image_problems``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

IMAGE_PROBLEMS = ("all-zero", "constant", "noise", "spike")


BLOCK = 4096  # images at a time: the padded copies and maxima stay in cache


def image_row_stats(
    x: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Per image of ``x`` (n, h, w) or (n, h, w, c) / (n, c, h, w), as stored: the lowest
    and highest value, the neighbouring-pixel correlation and the spike strength (in the
    stored units). None when ``x`` is not a stack of images."""
    if x.ndim not in (3, 4):
        return None
    if len(x) > BLOCK:
        parts = [_block_stats(x[s : s + BLOCK]) for s in range(0, len(x), BLOCK)]
        return tuple(np.concatenate(v) for v in zip(*parts))  # type: ignore[return-value]
    return _block_stats(x)


def _block_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    shape = x.shape[1:]
    if x.ndim == 4:
        channels_first = shape[0] in (1, 3, 4) and shape[1] > 4
        x = x.mean(axis=1 if channels_first else -1)  # channels -> one grey image
    if x.dtype.kind == "f":
        x = np.where(np.isfinite(x), x, 0.0).astype(np.float32)
    elif x.dtype.kind != "u":
        x = x.astype(np.float32)
    flat = x.reshape(len(x), -1)
    lo, hi = flat.min(axis=1).astype(np.float64), flat.max(axis=1).astype(np.float64)
    corr = neighbour_corr(x.astype(np.float32, copy=False))
    return lo, hi, corr, spike_strength(x)


def image_problems(
    lo: np.ndarray,
    hi: np.ndarray,
    corr: np.ndarray,
    spike: np.ndarray,
    *,
    unit: float,
    t: dict[str, Any],
) -> dict[str, np.ndarray]:
    """Rows of each kind in ``IMAGE_PROBLEMS``, from ``image_row_stats`` and the check's
    thresholds (`noise_corr`; `spike_strength` as a fraction of ``unit``, the image scale)."""
    zero = (lo == 0) & (hi == 0)
    const = (lo == hi) & ~zero
    noise = ~zero & ~const & (corr < t["noise_corr"])
    spiked = (spike / unit >= t["spike_strength"]) & ~noise & ~const & ~zero
    masks = (zero, const, noise, spiked)
    return {kind: np.flatnonzero(m) for kind, m in zip(IMAGE_PROBLEMS, masks)}


def neighbour_corr(x: np.ndarray) -> np.ndarray:
    """Mean of the horizontal and vertical lag-1 pixel correlations of each image.

    From per-image sums (the pairs' sums are the image's minus one edge row or column),
    so the image is read four times instead of building centred copies.
    """
    n, h, w = x.shape
    flat = x.reshape(n, -1)
    total = flat.sum(axis=1, dtype=np.float64)
    squares = np.einsum("ij,ij->i", flat, flat, dtype=np.float64)

    def corr(ab: np.ndarray, a_out: np.ndarray, b_out: np.ndarray, m: int) -> np.ndarray:
        # a = image without edge a_out, b = image without edge b_out
        sa = total - a_out.sum(axis=1, dtype=np.float64)
        sb = total - b_out.sum(axis=1, dtype=np.float64)
        qa = squares - np.einsum("ij,ij->i", a_out, a_out, dtype=np.float64)
        qb = squares - np.einsum("ij,ij->i", b_out, b_out, dtype=np.float64)
        cov = ab - sa * sb / m
        va, vb = np.maximum(qa - sa * sa / m, 0.0), np.maximum(qb - sb * sb / m, 0.0)
        den = np.sqrt(va * vb)
        ok = den > 1e-12 * (qa + qb + 1.0)
        return np.where(ok, cov / np.where(ok, den, 1.0), 1.0)

    across = np.einsum("nij,nij->n", x[:, :, :-1], x[:, :, 1:], dtype=np.float64)
    down = np.einsum("nij,nij->n", x[:, :-1, :], x[:, 1:, :], dtype=np.float64)
    ch = corr(across, x[:, :, -1], x[:, :, 0], h * (w - 1))
    cv = corr(down, x[:, -1, :], x[:, 0, :], (h - 1) * w)
    return 0.5 * (ch + cv)


def spike_strength(x: np.ndarray) -> np.ndarray:
    """Per image: the most any pixel exceeds the largest of its 8 neighbours.

    The 8-neighbour maximum is built from a 3-wide horizontal maximum of the rows above
    and below plus the left and right pixels (5 maxima instead of 8); unsigned images stay
    in their own dtype (a quarter of float32's memory traffic).
    """
    n, h, w = x.shape
    unsigned = x.dtype.kind == "u"
    if unsigned:
        padded = np.zeros((n, h + 2, w + 2), x.dtype)
    else:
        x = x.astype(np.float32)
        padded = np.full((n, h + 2, w + 2), -np.inf, np.float32)
    padded[:, 1:-1, 1:-1] = x
    across = np.maximum(np.maximum(padded[:, :, :-2], padded[:, :, 1:-1]), padded[:, :, 2:])
    nb = np.maximum(
        np.maximum(across[:, :-2, :], across[:, 2:, :]),
        np.maximum(padded[:, 1:-1, :-2], padded[:, 1:-1, 2:]),
    )
    if unsigned:
        excess = np.where(x > nb, x - nb, 0)
    else:
        excess = np.where(np.isfinite(nb), x - nb, 0.0)
    return excess.reshape(n, -1).max(axis=1).astype(np.float64)
