"""A small tabular project: wine cultivars from 13 chemical measurements.

What a torch user would write: a ``Dataset`` over the bundled CSV (standardized with the
training split's statistics), an MLP, cross-entropy with label smoothing, AdamW with the
usual no-weight-decay group for biases and norms, and a cosine schedule sized in optimizer
steps. Each piece is a plain function, so the project's own tests (``test_wine_audit.py``),
``pytest --nncheck`` and the recipe (``wine.yaml``) audit the very same code.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

HERE = Path(__file__).resolve().parent
CSV = HERE / "data" / "wine.csv"
STEPS = 300  # optimizer steps of one training run (the audit trains as many)


def read_csv(path: Path = CSV) -> tuple[np.ndarray, np.ndarray]:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    values = np.asarray(rows[1:], dtype=np.float64)
    return values[:, :-1].astype(np.float32), values[:, -1].astype(np.int64)


class WineCSV(Dataset):
    """Rows of the wine CSV as (features, label), standardized with given statistics."""

    def __init__(self, x: np.ndarray, y: np.ndarray, mean: np.ndarray, std: np.ndarray):
        self.x = torch.from_numpy((x - mean) / std).float()
        self.targets = torch.from_numpy(y)

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[i], self.targets[i]


def make_data(test_fraction: float = 0.25, seed: int = 0) -> tuple[WineCSV, WineCSV]:
    """(train, test) Datasets: a seeded split, stratified by class."""
    x, y = read_csv()
    rng = np.random.default_rng(seed)
    test_idx = np.concatenate(
        [
            rng.permutation(np.flatnonzero(y == c))[: int(round(test_fraction * (y == c).sum()))]
            for c in np.unique(y)
        ]
    )
    is_test = np.zeros(len(y), dtype=bool)
    is_test[test_idx] = True
    mean, std = x[~is_test].mean(axis=0), x[~is_test].std(axis=0) + 1e-8
    return (
        WineCSV(x[~is_test], y[~is_test], mean, std),
        WineCSV(x[is_test], y[is_test], mean, std),
    )


def build_model(input_shape: tuple[int, ...], n_outputs: int, hidden: int = 64) -> nn.Module:
    return nn.Sequential(
        nn.Linear(input_shape[0], hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, n_outputs),
    )


def make_loss() -> nn.Module:
    return nn.CrossEntropyLoss(label_smoothing=0.1)


def make_optimizer(model: nn.Module) -> torch.optim.Optimizer:
    """AdamW; biases go in a group without weight decay."""
    decay = [p for n, p in model.named_parameters() if not n.endswith("bias")]
    no_decay = [p for n, p in model.named_parameters() if n.endswith("bias")]
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": 1e-2}, {"params": no_decay, "weight_decay": 0.0}],
        lr=3e-3,
    )


def make_scheduler(optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LRScheduler:
    """Cosine decay over the run's optimizer steps (stepped once per batch)."""
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=STEPS)
