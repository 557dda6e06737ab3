"""P3: DataLoader workers that all draw the same augmentation.

The Dataset makes its random generator once, in ``__init__``; every worker process gets a
copy of it in the same state, so with two workers both draw the very same noise, batch
after batch, and the augmentation is half as diverse as it looks. Flagged by
data.worker_seeds.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

WINE = Path(__file__).resolve().parents[2] / "data" / "wine.csv"


class NoisyWine(Dataset):
    def __init__(self, x: np.ndarray, y: np.ndarray, noise: float):
        self.x, self.targets, self.noise = x, y, noise
        self.rng = np.random.default_rng(0)  # BUG: one stream, copied into every worker

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int):
        x = self.x[i]
        if self.noise:
            x = x + self.noise * self.rng.standard_normal(x.shape).astype(np.float32)
        return torch.from_numpy(x), int(self.targets[i])


def make_data(path: str | Path = WINE) -> tuple[DataLoader, NoisyWine]:
    values = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32)
    x, y = values[:, :-1], values[:, -1].astype(np.int64)
    x = (x - x.mean(axis=0)) / np.maximum(x.std(axis=0), 1e-6)  # digits: blank pixels
    test = np.arange(len(y)) % 4 == 0
    train = NoisyWine(x[~test], y[~test], noise=0.05)
    loader = DataLoader(train, batch_size=16, shuffle=True, num_workers=2)
    return loader, NoisyWine(x[test], y[test], noise=0.0)


def build(input_shape: tuple[int, ...], n_outputs: int) -> nn.Module:
    return nn.Sequential(nn.Linear(math.prod(input_shape), 32), nn.ReLU(), nn.Linear(32, n_outputs))
