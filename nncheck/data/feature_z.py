"""Robust per-feature z-scores: how far each value sits from its feature's median, in
robust standard deviations, beyond the feature's own long tail (data.outliers' feature
spikes: a unit error, a sentinel, a value 50x the column's maximum).

Fitted once on train rows (``FeatureZ.fit``), then applied to any rows (``FeatureZ.apply``):
to the splits in memory, or chunk by chunk to every row of a split larger than memory,
fitted on its seeded sample (the median, the MAD and the tail's quantile are what a sample
of 10,000s of rows estimates well).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

# A feature value is far out only this many times beyond the z of the feature's k-th
# farthest train row, k = max(5, TAIL_SHARE of the rows) (see usual_tail).
TAIL_FACTOR = 10.0
TAIL_SHARE = 0.005


@dataclass(frozen=True)
class FeatureZ:
    """Per feature: median, robust scale, lowest and highest value, whether it is
    two-valued (a flag, a one-hot column), and the z a value must reach to be far out."""

    median: np.ndarray  # float64 (d,)
    scale: np.ndarray
    low: np.ndarray
    high: np.ndarray
    two_valued: np.ndarray  # bool (d,)
    usual: np.ndarray  # float32 (d,); inf: a feature not judged

    @classmethod
    def fit(cls, train: np.ndarray) -> FeatureZ:
        """From train rows (2-D); NaN and inf are ignored (data.integrity reports them)."""
        x = train.reshape(len(train), -1).astype(np.float64)
        clean = np.where(np.isfinite(x), x, np.nan)
        with np.errstate(all="ignore"):
            med = np.nanmedian(clean, axis=0)
            mad = 1.4826 * np.nanmedian(np.abs(clean - med), axis=0)
            std = np.nanstd(clean, axis=0)
            lo, hi = np.nanmin(clean, axis=0), np.nanmax(clean, axis=0)
        scale = np.where(mad > 0, mad, np.where(std > 0, std, 1.0))
        med = np.where(np.isfinite(med), med, 0.0)
        # Two-valued features (one-hot columns, flags) have no far values: a 1 in a column
        # of rare 1s is a category, not a spike, however many SDs it sits from the median 0.
        two_valued = np.all((clean == lo) | (clean == hi) | np.isnan(clean), axis=0)
        untailed = cls(med, scale, lo, hi, two_valued, np.zeros(x.shape[1], np.float32))
        return replace(untailed, usual=usual_tail(untailed.z(x)))

    def z(self, x: np.ndarray) -> np.ndarray:
        """|x - median| / scale (float32, 2-D), 0 for categories of two-valued features,
        NaN and inf."""
        x = x.reshape(len(x), -1).astype(np.float64, copy=False)
        with np.errstate(all="ignore"):
            z = (np.abs(x - self.median) / self.scale).astype(np.float32)
        category = self.two_valued & ((x == self.low) | (x == self.high))
        return np.where(np.isfinite(z) & ~category, z, np.float32(0.0))

    def apply(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per row: the largest z beyond its feature's usual tail (0 when none), and which
        feature."""
        z = self.z(x)
        z = np.where(z >= self.usual, z, np.float32(0.0))  # within the feature's own tail
        return z.max(axis=1), z.argmax(axis=1)


def feature_label(names: Sequence[str] | None, j: int) -> str:
    """How a message names feature ``j``: by its column name when there is one."""
    return f"feature {names[j]!r}" if names and j < len(names) else f"feature {j}"


def usual_tail(z: np.ndarray) -> np.ndarray:
    """Per feature, the z a value must reach to stand apart from the feature's own tail.

    Outliers are few: a robust z of 170 that a thousand rows share (a pixel column of
    flattened images, where strokes cross a mostly-blank border; a skewed count whose
    median absolute deviation is tiny) is the feature's distribution, not a spike. The
    reference is the z of the k-th farthest train row, k = max(5, 0.5% of the rows): a
    value counts as far out only ``TAIL_FACTOR`` times beyond it. A handful of unit errors
    (the rows above rank k) do not move it, so they are still flagged. A feature with
    fewer than k train rows off its median is not judged (infinite threshold).
    """
    n = len(z)
    k = max(5, int(np.ceil(TAIL_SHARE * n)))
    if n <= k:
        return np.zeros(z.shape[1], np.float32)
    ref = np.partition(z, n - k - 1, axis=0)[n - k - 1]
    # A feature at its median in all but a handful of train rows has no spread to measure
    # a spike against (a border pixel that one stroke in a thousand crosses): skipped
    # here; a row that is far out as a whole is still data.outliers' kNN finding.
    return np.where(ref > 0, TAIL_FACTOR * ref, np.inf).astype(np.float32)
