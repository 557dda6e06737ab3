"""The real datasets the bug zoo injects its bugs into, read from the repository's data/.

Every dataset is returned already split into train and test (seeded, stratified for
classes, 75/25) so that a bug can be injected into one split only (leakage, label shift)
and the healthy recipe of a dataset sees exactly the split its buggy cases start from.
MNIST is cut to a subset (the first 6000 training and 1000 test images of the official
files) so that the whole zoo runs in minutes.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
# The bundled datasets (data/, see data/README.md); NNCHECK_DATASETS points elsewhere.
DATA_DIR = Path(os.environ.get("NNCHECK_DATASETS", ROOT / "data"))

TABLES = {
    # name: (file, target column, task)
    "wine": ("wine.csv", "label", "classification"),
    "breast_cancer": ("breast_cancer.csv", "label", "classification"),
    "digits": ("digits.csv", "label", "classification"),
    "diabetes": ("diabetes.csv", "target", "regression"),
}
IMAGES = ("mnist", "digits8x8")
NAMES = (*TABLES, *IMAGES)
MNIST_TRAIN, MNIST_TEST = 6000, 1000
TEST_FRACTION = 0.25


@dataclass(frozen=True)
class Data:
    """One dataset, split: features as loaded (float64 tables, uint8 images) and targets.

    ``x_*`` keep the dtype a user's file would have (image bytes stay uint8), so that a bug
    like integer division behaves as it does in the wild. ``y_*`` hold class indices
    (int64) or regression targets (float64), or strings where a bug wrote a sentinel.
    """

    name: str
    task: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    feature_names: tuple[str, ...] | None  # None for images
    target: str

    @property
    def is_image(self) -> bool:
        return self.x_train.ndim >= 3

    @property
    def n_classes(self) -> int:
        return int(np.max(self.y_train)) + 1 if self.task == "classification" else 1

    def with_(self, **changes: object) -> Data:
        return replace(self, **changes)


def available(root: Path = DATA_DIR) -> bool:
    """True when every dataset the zoo reads is in ``root``."""
    return (
        all((root / f).is_file() for f, _, _ in TABLES.values())
        and (root / "mnist" / "train-images-idx3-ubyte.gz").is_file()
    )


def load(name: str, root: Path = DATA_DIR, seed: int = 0) -> Data:
    """One dataset by name, split into train and test (the same split for every case)."""
    if name == "mnist":
        return _mnist(root)
    if name == "digits8x8":
        d = load("digits", root, seed)
        return d.with_(
            name="digits8x8",
            x_train=d.x_train.reshape(-1, 8, 8).astype(np.uint8),
            x_test=d.x_test.reshape(-1, 8, 8).astype(np.uint8),
            feature_names=None,
        )
    import pandas as pd

    file, target, task = TABLES[name]
    df = pd.read_csv(root / file)
    features = [c for c in df.columns if c != target]
    x = df[features].to_numpy(dtype=np.float64)
    y = df[target].to_numpy()
    y = y.astype(np.int64) if task == "classification" else y.astype(np.float64)
    tr, te = split_indices(y, task, seed)
    return Data(name, task, x[tr], y[tr], x[te], y[te], tuple(features), target)


def split_indices(y: np.ndarray, task: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded 75/25 split, stratified per class for classification; sorted indices."""
    rng = np.random.default_rng(seed)
    if task != "classification":
        perm = rng.permutation(len(y))
        n_test = int(round(TEST_FRACTION * len(y)))
        return np.sort(perm[n_test:]), np.sort(perm[:n_test])
    test = []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        test.append(idx[: int(round(TEST_FRACTION * len(idx)))])
    te = np.sort(np.concatenate(test))
    tr = np.setdiff1d(np.arange(len(y)), te)
    return tr, te


def _idx(path: Path) -> np.ndarray:
    raw = gzip.decompress(path.read_bytes())
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _mnist(root: Path) -> Data:
    d = root / "mnist"
    return Data(
        "mnist",
        "classification",
        _idx(d / "train-images-idx3-ubyte.gz")[:MNIST_TRAIN].copy(),
        _idx(d / "train-labels-idx1-ubyte.gz")[:MNIST_TRAIN].astype(np.int64),
        _idx(d / "t10k-images-idx3-ubyte.gz")[:MNIST_TEST].copy(),
        _idx(d / "t10k-labels-idx1-ubyte.gz")[:MNIST_TEST].astype(np.int64),
        None,
        "label",
    )
