"""A small image project: MNIST digits with random-crop augmentation and a CNN.

What a torch user would write: a ``Dataset`` over a subset of MNIST (read from the repo's
``data/mnist`` IDX files with nncheck's reader) that applies a random 2-pixel shift to the
training images only, a CNN with BatchNorm and dropout, a shuffling DataLoader, and a train
step of its own (zero_grad, forward, loss, backward, gradient clipping, step). The project's
own tests (``test_mnist_audit.py``), ``pytest --nncheck`` and the recipe (``mnist.yaml``)
audit the very same code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

MNIST = Path(__file__).resolve().parents[3] / "data" / "mnist"
STEPS = 200
MEAN, STD = 0.1307, 0.3081


def read_mnist(split: str = "t10k") -> tuple[np.ndarray, np.ndarray]:
    from nncheck.data.idx import read_idx

    images = read_idx(str(MNIST / f"{split}-images-idx3-ubyte.gz"), "images")
    labels = read_idx(str(MNIST / f"{split}-labels-idx1-ubyte.gz"), "labels")
    return images, labels.astype(np.int64)


class MnistSubset(Dataset):
    """(1, 28, 28) float images and class labels; ``augment`` shifts each image by up to
    ``pad`` pixels (a random crop of the padded image), drawn from torch's generator."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, augment: bool, pad: int = 2):
        self.images = torch.from_numpy(images).float().div(255.0).unsqueeze(1)
        self.targets = torch.from_numpy(labels)
        self.augment, self.pad = augment, pad

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.images[i]
        if self.augment:
            padded = nn.functional.pad(x, (self.pad,) * 4)
            dy, dx = torch.randint(0, 2 * self.pad + 1, (2,)).tolist()
            x = padded[:, dy : dy + 28, dx : dx + 28]
        return (x - MEAN) / STD, self.targets[i]


def make_data(
    n_train: int = 3000, n_test: int = 500, batch_size: int = 32, seed: int = 0
) -> tuple[DataLoader, MnistSubset]:
    """A shuffling train DataLoader over an augmented subset, and a plain test Dataset."""
    images, labels = read_mnist()
    order = np.random.default_rng(seed).permutation(len(labels))
    tr, te = order[:n_train], order[n_train : n_train + n_test]
    train = MnistSubset(images[tr], labels[tr], augment=True)
    test = MnistSubset(images[te], labels[te], augment=False)
    loader = DataLoader(
        train, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed)
    )
    return loader, test


def build_model(input_shape: tuple[int, ...], n_outputs: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.2),
        nn.Linear(16 * 7 * 7, n_outputs),
    )


def make_optimizer(model: nn.Module) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)


def train_step(
    model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor], optimizer, loss
) -> torch.Tensor:
    """One optimizer step on one batch, as the project's training loop runs it."""
    x, y = batch
    optimizer.zero_grad()
    value = loss(model(x), y)
    value.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    optimizer.step()
    return value
