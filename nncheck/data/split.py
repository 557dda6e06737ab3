"""Seeded train/test splits: stratified for classification, a plain shuffle for regression.

Stratification keeps every class's share of the test set within one sample of the
requested fraction, so that ``data.class_balance`` does not report a label shift the
split itself created. Each class keeps at least one sample in train where it can, so no
class is present only in test. Everything is vectorized (one permutation, one stable
sort); there is no loop over samples, so MNIST-sized labels split in milliseconds.
Indices come back sorted so that both splits keep the file's order.
"""

from __future__ import annotations

import numpy as np


def n_test_for(n: int, fraction: float) -> int:
    """Test-set size for ``n`` samples: round(n * fraction), but never leave either side
    empty when there are at least two samples."""
    k = int(round(n * fraction))
    if n >= 2:
        k = min(max(k, 1), n - 1)
    return max(k, 0)


def random_split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded shuffle split of ``n`` samples into (train, test) index arrays (int64)."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    k = n_test_for(n, fraction)
    return np.sort(perm[k:]).astype(np.int64), np.sort(perm[:k]).astype(np.int64)


def stratified_split(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded stratified split of labels ``y`` (any hashable-sortable values; -1 for
    invalid labels is simply one more stratum) into (train, test) index arrays.

    Per class, floor(count * fraction) samples go to test, and the leftover samples needed
    to reach round(n * fraction) go to the classes with the largest fractional remainders
    (largest-remainder allocation), so each class is within one sample of its share.
    """
    y = np.asarray(y)
    n = y.shape[0]
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy()
    _, inv, counts = np.unique(y, return_inverse=True, return_counts=True)
    inv = inv.reshape(-1)
    ideal = counts * fraction
    per_class = np.floor(ideal).astype(np.int64)
    remainder = n_test_for(n, fraction) - int(per_class.sum())
    if remainder > 0:
        by_fraction = np.argsort(-(ideal - per_class), kind="stable")
        per_class[by_fraction[:remainder]] += 1
    per_class = np.minimum(per_class, np.maximum(counts - 1, 0))

    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    grouped = perm[np.argsort(inv[perm], kind="stable")]  # by class, random within class
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    cls = inv[grouped]
    rank = np.arange(n) - starts[cls]
    is_test = rank < per_class[cls]
    return (
        np.sort(grouped[~is_test]).astype(np.int64),
        np.sort(grouped[is_test]).astype(np.int64),
    )
