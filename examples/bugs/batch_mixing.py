"""M6: a reshape that mixes samples across the batch dimension.

The hidden features are transposed to (features, batch) for a feature-wise operation and
then *reshaped* back instead of transposed back: every "sample" row now holds features of
several samples. The net still trains — on a scrambled problem — and its predictions
depend on which samples share its batch. Flagged by skeleton.batch_independence.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class MixingNet(nn.Module):
    def __init__(self, n_inputs: int, n_outputs: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(n_inputs, 8)
        self.fc2 = nn.Linear(8, 5)
        self.out = nn.Linear(5, n_outputs)
        self.scale = nn.Parameter(torch.ones(8))  # a learned per-feature scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.fc1(x))  # (n, 8)
        h = h.t() * self.scale[:, None]  # (8, n): features first, scaled per feature
        h = h.reshape(-1, 8)  # BUG: should be h.t(); reshape interleaves the samples
        return self.out(torch.tanh(self.fc2(h)))


def build(input_shape: tuple[int, ...], n_outputs: int) -> nn.Module:
    return MixingNet(math.prod(input_shape), n_outputs)
