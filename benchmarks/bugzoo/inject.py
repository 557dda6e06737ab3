"""Data bugs of bug-classes.md (D1-D9), injected into a real dataset's train/test split.

Each function takes the healthy split and a seeded generator and returns the split as the
bug leaves it, the way it happens in a real pipeline (a file concatenated twice, labels
sorted on their own, pixels divided as integers...). The docstring's first line is what
the matrix calls the case.
"""

from __future__ import annotations

import numpy as np

from benchmarks.bugzoo.datasets import Data

Rng = np.random.Generator


def _take(rng: Rng, n: int, share: float, at_least: int = 1) -> np.ndarray:
    return rng.choice(n, size=max(at_least, int(round(share * n))), replace=False)


# ------------------------------------------------------------------------------ D1


def concat_twice(d: Data, rng: Rng) -> Data:
    """the training file concatenated twice"""
    return d.with_(
        x_train=np.concatenate([d.x_train, d.x_train]),
        y_train=np.concatenate([d.y_train, d.y_train]),
    )


def oversample(share: float):
    def f(d: Data, rng: Rng) -> Data:
        idx = rng.choice(len(d.y_train), size=int(round(share * len(d.y_train))), replace=True)
        return d.with_(
            x_train=np.concatenate([d.x_train, d.x_train[idx]]),
            y_train=np.concatenate([d.y_train, d.y_train[idx]]),
        )

    f.__doc__ = f"an over-sampling step left on: {share:.0%} of train repeated"
    return f


# ------------------------------------------------------------------------------ D2


def _leak(d: Data, rng: Rng, share: float, transform) -> Data:
    idx = _take(rng, len(d.y_test), share, 3)
    copies = transform(d.x_test[idx], rng)
    return d.with_(
        x_train=np.concatenate([d.x_train, copies.astype(d.x_train.dtype)]),
        y_train=np.concatenate([d.y_train, d.y_test[idx]]),
    )


def leak_exact(share: float):
    def f(d: Data, rng: Rng) -> Data:
        return _leak(d, rng, share, lambda x, r: x.copy())

    f.__doc__ = f"{share:.0%} of the test rows copied into train exactly"
    return f


def leak_reencoded(share: float, digits: int = 3):
    def f(d: Data, rng: Rng) -> Data:
        def reencode(x: np.ndarray, r: Rng) -> np.ndarray:
            # re-exported with `%.{digits}g`: every value rounded to `digits` significant
            return np.array([[float(f"{v:.{digits}g}") for v in row] for row in x])

        return _leak(d, rng, share, reencode)

    f.__doc__ = f"{share:.0%} of the test rows copied into train, re-exported with %.{digits}g"
    return f


def leak_noised_table(share: float, levels: float):
    def f(d: Data, rng: Rng) -> Data:
        hi = float(d.x_train.max())

        def noise(x: np.ndarray, r: Rng) -> np.ndarray:
            step = r.integers(-1, 2, size=x.shape) * (r.random(x.shape) < 0.2)
            return np.clip(x + levels * step, 0, hi)

        return _leak(d, rng, share, noise)

    f.__doc__ = f"{share:.0%} of the test rows copied into train with ±{levels:g} grey-level noise"
    return f


def leak_images(share: float):
    """5% of the test images copied into train: re-encoded, noised or shifted by a pixel"""

    def f(d: Data, rng: Rng) -> Data:
        def mixed(x: np.ndarray, r: Rng) -> np.ndarray:
            x = x.astype(np.float64)
            third = len(x) // 3
            x[:third] = np.floor(x[:third] / 8) * 8  # re-encoded to 32 grey levels
            noisy = x[third : 2 * third] + r.normal(0, 4, size=x[third : 2 * third].shape)
            x[third : 2 * third] = noisy
            x[2 * third :] = np.roll(x[2 * third :], 1, axis=-1)  # shifted one pixel right
            return np.clip(np.round(x), 0, 255)

        return _leak(d, rng, share, mixed)

    f.__doc__ = (
        f"{share:.0%} of the test images copied into train: re-encoded, noised or shifted"
        " by a pixel"
    )
    return f


# ------------------------------------------------------------------------------ D3


def conflicting_copies(share: float):
    def f(d: Data, rng: Rng) -> Data:
        idx = _take(rng, len(d.y_train), share, 3)
        k = d.n_classes
        flipped = (d.y_train[idx] + rng.integers(1, k, size=len(idx))) % k
        return d.with_(
            x_train=np.concatenate([d.x_train, d.x_train[idx]]),
            y_train=np.concatenate([d.y_train, flipped]),
        )

    f.__doc__ = f"{share:.0%} of train duplicated with a different label (merged label sets)"
    return f


# ------------------------------------------------------------------------------ D4


def shuffle_labels_everywhere(d: Data, rng: Rng) -> Data:
    """labels shuffled before the split (a join on the wrong key)"""
    return d.with_(y_train=rng.permutation(d.y_train), y_test=rng.permutation(d.y_test))


def shuffle_train_labels(d: Data, rng: Rng) -> Data:
    """X_train and y_train shuffled with two different permutations"""
    return d.with_(
        x_train=d.x_train[rng.permutation(len(d.x_train))],
        y_train=d.y_train[rng.permutation(len(d.y_train))],
    )


def off_by_one(d: Data, rng: Rng) -> Data:
    """labels shifted by one row (a header line read as data in the labels file only)"""
    return d.with_(y_train=np.roll(d.y_train, 1), y_test=np.roll(d.y_test, 1))


def sorted_labels(d: Data, rng: Rng) -> Data:
    """labels sorted on their own (`y.sort()` applied to the label array only)"""
    return d.with_(y_train=np.sort(d.y_train), y_test=np.sort(d.y_test))


# ------------------------------------------------------------------------------ D6


def _cells(rng: Rng, x: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.choice(x.shape[0], size=n, replace=False), rng.choice(x.shape[1], size=n)


def nan_cells(d: Data, rng: Rng) -> Data:
    """3 NaN cells in train (empty fields parsed as NaN)"""
    x = d.x_train.copy()
    x[_cells(rng, x, 3)] = np.nan
    return d.with_(x_train=x)


def inf_cells(d: Data, rng: Rng) -> Data:
    """2 inf cells in train and 1 in test (a division by zero upstream)"""
    xtr, xte = d.x_train.copy(), d.x_test.copy()
    xtr[_cells(rng, xtr, 2)] = np.inf
    xte[_cells(rng, xte, 1)] = -np.inf
    return d.with_(x_train=xtr, x_test=xte)


def labels_one_based(d: Data, rng: Rng) -> Data:
    """labels 1..K instead of 0..K-1"""
    return d.with_(y_train=d.y_train + 1, y_test=d.y_test + 1)


def target_sentinel(d: Data, rng: Rng) -> Data:
    """a regression target with '?' for missing values (3 train rows)"""
    y = d.y_train.astype(object)
    y[rng.choice(len(y), size=3, replace=False)] = "?"
    return d.with_(y_train=y)


# ------------------------------------------------------------------------------ D7


def unit_error_rows(n: int, factor: float = 1000.0, column: int | None = None):
    def f(d: Data, rng: Rng) -> Data:
        x = d.x_train.copy()
        rows = rng.choice(len(x), size=n, replace=False)
        col = column if column is not None else int(rng.integers(x.shape[1]))
        x[rows, col] *= factor
        return d.with_(x_train=x)

    rows = "row" if n == 1 else "rows"
    f.__doc__ = f"{n} train {rows} with a unit error (one feature x{factor:g})"
    return f


def sensor_spikes(n: int, factor: float = 50.0):
    def f(d: Data, rng: Rng) -> Data:
        x = d.x_train.copy()
        rows, cols = _cells(rng, x, n)
        x[rows, cols] = factor * np.abs(x[:, cols]).max(axis=0)
        return d.with_(x_train=x)

    f.__doc__ = f"{n} sensor spikes in train ({factor:g}x the column's maximum)"
    return f


def broken_images(share: float):
    def f(d: Data, rng: Rng) -> Data:
        x = d.x_train.copy()
        idx = _take(rng, len(x), share, 2)
        half = len(idx) // 2
        x[idx[:half]] = 0  # a decoder that gave up
        hi = int(x.max())
        x[idx[half:]] = rng.integers(0, hi + 1, size=x[idx[half:]].shape)  # pure noise
        return d.with_(x_train=x)

    f.__doc__ = f"{share:.0%} of train images broken: half all-zero, half uniform noise"
    return f


# ------------------------------------------------------------------------------ D8


def integer_division_255(d: Data, rng: Rng) -> Data:
    """pixels scaled with integer division (uint8 // 255: almost all zeros)"""
    return d.with_(x_train=d.x_train // 255, x_test=d.x_test // 255)


def minmax_integer_division(d: Data, rng: Rng) -> Data:
    """min-max scaling with // instead of / (every feature 0 except its maximum)"""
    lo, hi = d.x_train.min(axis=0), d.x_train.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    return d.with_(
        x_train=(d.x_train - lo) // span,
        x_test=np.clip((d.x_test - lo) // span, 0, None),
    )


# ------------------------------------------------------------------------------ D9


def imbalance(minority_over_majority: float, keep_class: int | None = None):
    """Keep the largest class whole; every other class cut to ratio x its size."""

    def f(d: Data, rng: Rng) -> Data:
        counts = np.bincount(d.y_train)
        major = int(np.argmax(counts)) if keep_class is None else keep_class

        def cut(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            keep_n = max(2, int(round(minority_over_majority * np.sum(y == major))))
            keep = [np.flatnonzero(y == major)]
            for c in np.unique(y):
                if c != major:
                    keep.append(rng.permutation(np.flatnonzero(y == c))[:keep_n])
            idx = np.sort(np.concatenate(keep))
            return x[idx], y[idx]

        xtr, ytr = cut(d.x_train, d.y_train)
        xte, yte = cut(d.x_test, d.y_test)
        return d.with_(x_train=xtr, y_train=ytr, x_test=xte, y_test=yte)

    ratio = round(1 / minority_over_majority)
    f.__doc__ = f"classes 1:{ratio} (every class cut to 1/{ratio} of the largest), zero output bias"
    return f


def label_shift(drop: float):
    def f(d: Data, rng: Rng) -> Data:
        k = d.n_classes
        upper = d.y_test >= k // 2
        gone = upper & (rng.random(len(d.y_test)) < drop)
        return d.with_(x_test=d.x_test[~gone], y_test=d.y_test[~gone])

    f.__doc__ = f"train/test label shift: {drop:.0%} of the test samples of the upper classes gone"
    return f


# ------------------------------------------------------------------------------ more


def leak_shifted_images(share: float):
    def f(d: Data, rng: Rng) -> Data:
        return _leak(d, rng, share, lambda x, r: np.roll(x, 1, axis=-1))

    f.__doc__ = f"{share:.0%} of the test images copied into train shifted by one pixel"
    return f


def near_conflicts(share: float, sigma: float):
    def f(d: Data, rng: Rng) -> Data:
        idx = _take(rng, len(d.y_train), share, 3)
        k = d.n_classes
        flipped = (d.y_train[idx] + rng.integers(1, k, size=len(idx))) % k
        hi = float(d.x_train.max())
        copies = np.clip(
            np.round(d.x_train[idx] + rng.normal(0, sigma, d.x_train[idx].shape)), 0, hi
        )
        return d.with_(
            x_train=np.concatenate([d.x_train, copies.astype(d.x_train.dtype)]),
            y_train=np.concatenate([d.y_train, flipped]),
        )

    f.__doc__ = (
        f"{share:.0%} of train re-added with noise σ {sigma:g} and a different label"
        " (near-identical conflicts)"
    )
    return f


def prescaled(divisor: float):
    def f(d: Data, rng: Rng) -> Data:
        return d.with_(x_train=d.x_train / divisor, x_test=d.x_test / divisor)

    f.__doc__ = f"pixels divided by {divisor:g} in preprocessing, then by 255 again (scale255)"
    return f


def test_not_normalized(d: Data, rng: Rng) -> Data:
    """train standardized by hand, the test set left raw (normalize: none)"""
    mu, sd = d.x_train.mean(axis=0), d.x_train.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return d.with_(x_train=(d.x_train - mu) / sd)
