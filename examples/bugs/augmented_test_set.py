"""P2: the test set goes through the training augmentation.

One ``transform`` is built and handed to both splits, so the test features get the same
random noise as training: every evaluation is a different draw and the test metric is
noisier and biased low. Flagged by data.test_augmentation.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

WINE = Path(__file__).resolve().parents[2] / "data" / "wine.csv"


class Wine(Dataset):
    def __init__(self, x: np.ndarray, y: np.ndarray, transform=None):
        self.x, self.targets, self.transform = torch.from_numpy(x), torch.from_numpy(y), transform

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int):
        x = self.x[i] if self.transform is None else self.transform(self.x[i])
        return x, self.targets[i]


def jitter(x: torch.Tensor) -> torch.Tensor:
    return x + 0.05 * torch.randn_like(x)


def make_data(path: str | Path = WINE) -> tuple[Wine, Wine]:
    values = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32)
    x, y = values[:, :-1], values[:, -1].astype(np.int64)
    x = (x - x.mean(axis=0)) / np.maximum(x.std(axis=0), 1e-6)  # digits: blank pixels
    test = np.arange(len(y)) % 4 == 0
    return (
        Wine(x[~test], y[~test], transform=jitter),
        Wine(x[test], y[test], transform=jitter),  # BUG: the training transform
    )


def build(input_shape: tuple[int, ...], n_outputs: int) -> nn.Module:
    return nn.Sequential(nn.Linear(math.prod(input_shape), 32), nn.ReLU(), nn.Linear(32, n_outputs))
