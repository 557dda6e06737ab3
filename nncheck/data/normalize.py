"""Input normalizations, fitted on the training split only and applied to both.

Fitting on train alone is the point: statistics taken over train+test leak test
information into training. Stats ignore NaN and inf (``nanmean``-style) so that one bad
cell does not turn a whole feature into NaN; the bad cell itself stays NaN/inf in the
output for ``data.integrity`` to report. Constant features get a scale of 1 (they become
0, not NaN). Images use one global mean/std (or min/max) over all pixels: per-pixel stats
would divide by ~0 on the always-black border pixels of MNIST and blow them up.

Statistics are accumulated in float64 over chunks of rows, so memory stays bounded and
MNIST's 47 million training pixels are summarized in well under a second.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

METHODS = ("none", "standardize", "minmax", "scale255")
_CHUNK_ELEMENTS = 1 << 22


@dataclass(frozen=True)
class Normalizer:
    """A fitted normalization: ``(x - shift) / scale``, result float32."""

    method: str
    shift: np.ndarray  # scalar (images, global) or one value per feature
    scale: np.ndarray

    @classmethod
    def fit(cls, x_train: np.ndarray, method: str, is_image: bool) -> Normalizer:
        """Fit ``method`` on the training inputs (``x_train`` shape (n, *input_shape))."""
        if method not in METHODS:
            raise ValueError(f"unknown normalization {method!r}; expected one of {METHODS}")
        per_feature = not is_image
        if method == "none":
            return cls(method, np.float64(0.0), np.float64(1.0))
        if method == "scale255":
            return cls(method, np.float64(0.0), np.float64(255.0))
        if method == "standardize":
            shift, scale = _mean_std(x_train, per_feature)
        else:
            lo, hi = _min_max(x_train, per_feature)
            shift, scale = lo, hi - lo
        shift = np.where(np.isfinite(shift), shift, 0.0)
        scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
        if per_feature:
            shape = x_train.shape[1:]
            shift, scale = shift.reshape(shape), scale.reshape(shape)
        return cls(method, shift, scale)

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Apply to any split; float64 inputs are computed in float64 before the cast so
        that large-valued features (e.g. 1000s) keep their precision."""
        work = np.float64 if x.dtype == np.float64 else np.float32
        out = x.astype(work, copy=True)
        if self.method == "none":
            return out.astype(np.float32, copy=False)
        out -= np.asarray(self.shift, dtype=work)
        out /= np.asarray(self.scale, dtype=work)
        # values beyond float32 become inf here; data.integrity reports them by name
        with np.errstate(over="ignore"):
            return out.astype(np.float32, copy=False)


def normalize(
    x_train: np.ndarray, x_test: np.ndarray, method: str, is_image: bool
) -> tuple[np.ndarray, np.ndarray, Normalizer]:
    """Fit on ``x_train``, apply to both splits; returns (train, test, fitted normalizer)."""
    norm = Normalizer.fit(x_train, method, is_image)
    return norm.transform(x_train), norm.transform(x_test), norm


def _flat(x: np.ndarray) -> np.ndarray:
    return x.reshape(x.shape[0], int(np.prod(x.shape[1:], dtype=np.int64)))


def _chunks(flat: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """Row chunks as float64, with non-finite cells zeroed and masked out (``ok``)."""
    rows = max(1, _CHUNK_ELEMENTS // max(1, flat.shape[1]))
    for i in range(0, flat.shape[0], rows):
        chunk = flat[i : i + rows].astype(np.float64, copy=True)
        if flat.dtype.kind == "f":
            ok = np.isfinite(chunk)
            if not ok.all():
                yield np.where(ok, chunk, 0.0), ok
                continue
        yield chunk, None


def _mean_std(x: np.ndarray, per_feature: bool) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (population) std over finite values, per feature or global."""
    flat = _flat(x)
    if flat.dtype.kind in "iub" and flat.dtype.itemsize <= 2:
        return _mean_std_small_int(flat, per_feature)
    # Floats (and wide ints): two passes in float64, mean then squared deviations, which
    # avoids the cancellation of E[x^2] - E[x]^2 on features with a large offset.
    axis = 0 if per_feature else None
    shape = (flat.shape[1],) if per_feature else ()
    count = np.zeros(shape)
    total = np.zeros(shape)
    for chunk, ok in _chunks(flat):
        total += chunk.sum(axis=axis)
        if ok is None:
            count += chunk.shape[0] if per_feature else chunk.size
        else:
            count += ok.sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
    safe_mean = np.where(np.isfinite(mean), mean, 0.0)
    sq = np.zeros(shape)
    for chunk, ok in _chunks(flat):
        dev = chunk - safe_mean
        if ok is not None:
            dev[~ok] = 0.0
        with np.errstate(over="ignore", invalid="ignore"):
            dev *= dev
            sq += dev.sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        std = np.sqrt(sq / count)
    return np.asarray(mean), np.asarray(std)


def _mean_std_small_int(flat: np.ndarray, per_feature: bool) -> tuple[np.ndarray, np.ndarray]:
    """Exact integer sums for (u)int8/16 data such as pixels: no NaN is possible, and
    int64 sums of squares cannot overflow below 2**31 elements, so one cheap pass does."""
    axis = 0 if per_feature else None
    n = flat.shape[0] if per_feature else flat.size
    total = flat.sum(axis=axis, dtype=np.int64)
    sq = np.zeros((flat.shape[1],) if per_feature else (), dtype=np.int64)
    rows = max(1, _CHUNK_ELEMENTS // max(1, flat.shape[1]))
    for i in range(0, flat.shape[0], rows):
        c = flat[i : i + rows].astype(np.int32)
        sq += (
            np.einsum("ij,ij->j", c, c, dtype=np.int64)
            if per_feature
            else np.einsum("ij,ij->", c, c, dtype=np.int64)
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / n
        var = np.maximum(sq / n - mean * mean, 0.0)
    return np.asarray(mean, dtype=np.float64), np.sqrt(var)


def _min_max(x: np.ndarray, per_feature: bool) -> tuple[np.ndarray, np.ndarray]:
    """Min and max over finite values, per feature or global (NaN where none is finite)."""
    flat = _flat(x)
    axis = 0 if per_feature else None
    shape = (flat.shape[1],) if per_feature else ()
    lo = np.full(shape, np.inf)
    hi = np.full(shape, -np.inf)
    for chunk, ok in _chunks(flat):
        if ok is None:
            lo = np.minimum(lo, chunk.min(axis=axis, initial=np.inf))
            hi = np.maximum(hi, chunk.max(axis=axis, initial=-np.inf))
        else:
            lo = np.minimum(lo, np.where(ok, chunk, np.inf).min(axis=axis))
            hi = np.maximum(hi, np.where(ok, chunk, -np.inf).max(axis=axis))
    lo = np.where(np.isfinite(lo), lo, np.nan)
    hi = np.where(np.isfinite(hi), hi, np.nan)
    return lo, hi
