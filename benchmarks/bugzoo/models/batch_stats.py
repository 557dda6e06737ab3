"""M6: a hand-rolled normalization over the batch dimension, also at inference.

The hidden features are standardized with their mean and std over dimension 0 (the
batch) in every forward pass — BatchNorm without running statistics. Each sample's
output now depends on which other samples share its batch, in training and in eval mode.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class BatchStatNet(nn.Module):
    def __init__(self, n_inputs: int, n_outputs: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(n_inputs, 32)
        self.out = nn.Linear(32, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc1(x)
        h = (h - h.mean(dim=0)) / (h.std(dim=0) + 1e-5)  # BUG: statistics over the batch
        return self.out(torch.relu(h))


def build(input_shape: tuple[int, ...], n_outputs: int) -> nn.Module:
    return BatchStatNet(math.prod(input_shape), n_outputs)
