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


GROUP_SPLIT_TRIES = 32


def group_split(
    groups: np.ndarray, y: np.ndarray | None, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded split that keeps every group (``groups``: an int code per row) on one side.

    Whole groups go to test in a random order until the test rows reach round(n *
    fraction). Of ``GROUP_SPLIT_TRIES`` seeded orders, the one whose test set is closest
    to the requested size and, for classification (``y`` given), to train's class shares
    is kept: a plain group shuffle can put most of one class in test by chance, which
    data.class_balance would then report as a label shift the split made.
    """
    groups = np.asarray(groups)
    n = groups.shape[0]
    if n < 2:
        return np.arange(n, dtype=np.int64), np.zeros(0, dtype=np.int64)
    _, inv, sizes = np.unique(groups, return_inverse=True, return_counts=True)
    inv = inv.reshape(-1)
    k = len(sizes)
    target = n_test_for(n, fraction)
    if y is not None:
        _, y_inv = np.unique(np.asarray(y), return_inverse=True)
        y_inv = y_inv.reshape(-1)
        per_group = np.zeros((k, int(y_inv.max()) + 1))
        np.add.at(per_group, (inv, y_inv), 1.0)
        overall = per_group.sum(axis=0) / n
    rng = np.random.default_rng(seed)
    best: tuple[float, np.ndarray] | None = None
    for _ in range(GROUP_SPLIT_TRIES):
        order = rng.permutation(k)
        cum = np.cumsum(sizes[order])
        # the prefix of groups whose total is closest to the target (at least one group)
        cut = int(np.argmin(np.abs(cum - target))) + 1
        cut = min(cut, k - 1) if k > 1 else cut
        chosen = np.zeros(k, dtype=bool)
        chosen[order[:cut]] = True
        n_test = int(sizes[chosen].sum())
        score = abs(n_test - target) / max(target, 1)
        if y is not None and n_test:
            shares = per_group[chosen].sum(axis=0) / n_test
            score += 0.5 * float(np.abs(shares - overall).sum())
        if best is None or score < best[0]:
            best = (score, chosen)
    assert best is not None
    is_test = best[1][inv]
    return np.flatnonzero(~is_test).astype(np.int64), np.flatnonzero(is_test).astype(np.int64)
