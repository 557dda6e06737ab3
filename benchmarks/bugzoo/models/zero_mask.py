"""M7: a feature mask initialized with zeros instead of ones.

The model multiplies its input by a (non-trainable) feature-selection mask meant to
start as "keep everything", but the buffer was made with ``torch.zeros``: every input
is multiplied by 0, and the model can only learn the class frequencies.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class MaskedNet(nn.Module):
    def __init__(self, n_inputs: int, n_outputs: int) -> None:
        super().__init__()
        self.register_buffer("mask", torch.zeros(n_inputs))  # BUG: should be torch.ones
        self.net = nn.Sequential(nn.Linear(n_inputs, 32), nn.ReLU(), nn.Linear(32, n_outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x * self.mask)


def build(input_shape: tuple[int, ...], n_outputs: int) -> nn.Module:
    return MaskedNet(math.prod(input_shape), n_outputs)
