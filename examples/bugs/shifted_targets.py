"""P2: a target transform that shifts every label by one.

The CSV's classes are 1, 2, 3 in the original file; a ``target_transform`` meant to make
them 0-based was applied to data that already were, so labels come out as 1..3 for three
classes and the Dataset's own ``.targets`` disagree with what it yields. Flagged by
data.pipeline_targets.
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
    def __init__(self, x: np.ndarray, y: np.ndarray, target_transform=None):
        self.x, self.targets = torch.from_numpy(x), torch.from_numpy(y)
        self.target_transform = target_transform

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int):
        y = self.targets[i]
        return self.x[i], y if self.target_transform is None else self.target_transform(y)


def make_data(path: str | Path = WINE) -> tuple[Wine, Wine]:
    values = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32)
    x, y = values[:, :-1], values[:, -1].astype(np.int64)
    x = (x - x.mean(axis=0)) / np.maximum(x.std(axis=0), 1e-6)  # digits: blank pixels
    test = np.arange(len(y)) % 4 == 0
    shift = lambda t: t + 1  # noqa: E731 - BUG: the labels are already 0-based
    return Wine(x[~test], y[~test], shift), Wine(x[test], y[test], shift)


def build(input_shape: tuple[int, ...], n_outputs: int) -> nn.Module:
    return nn.Sequential(nn.Linear(math.prod(input_shape), 32), nn.ReLU(), nn.Linear(32, n_outputs))
