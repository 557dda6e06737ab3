"""P3: a training DataLoader over data sorted by class, without shuffling.

The CSV is stored class by class and the loader was built with ``shuffle=False`` (copied
from the evaluation loader): every batch holds one class, each step pulls the model
towards that class only. Flagged by data.loader_batches.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

WINE = Path(__file__).resolve().parents[2] / "data" / "wine.csv"


def make_data(path: str | Path = WINE) -> tuple[DataLoader, TensorDataset]:
    values = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32)
    x, y = values[:, :-1], values[:, -1].astype(np.int64)
    x = (x - x.mean(axis=0)) / np.maximum(x.std(axis=0), 1e-6)  # digits: blank pixels
    test = np.arange(len(y)) % 4 == 0
    train = TensorDataset(torch.from_numpy(x[~test]), torch.from_numpy(y[~test]))
    loader = DataLoader(train, batch_size=16, shuffle=False)  # BUG: the rows are sorted
    return loader, TensorDataset(torch.from_numpy(x[test]), torch.from_numpy(y[test]))


def build(input_shape: tuple[int, ...], n_outputs: int) -> nn.Module:
    return nn.Sequential(nn.Linear(math.prod(input_shape), 32), nn.ReLU(), nn.Linear(32, n_outputs))
