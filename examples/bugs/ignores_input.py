"""M7: a forward pass that ignores its input.

The model keeps an example input in a buffer (for tracing/export) and its forward pass
uses that buffer instead of ``x``: every sample gets the same prediction, and training can
only learn the class frequencies. Flagged by skeleton.input_independent.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class BufferNet(nn.Module):
    def __init__(self, n_inputs: int, n_outputs: int) -> None:
        super().__init__()
        self.register_buffer("example_input", torch.zeros(1, n_inputs))
        self.net = nn.Sequential(
            nn.Linear(n_inputs, 8), nn.Tanh(), nn.Linear(8, 5), nn.Tanh(), nn.Linear(5, n_outputs)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch = self.example_input.expand(x.shape[0], -1)  # BUG: should be x
        return self.net(batch)


def build(input_shape: tuple[int, ...], n_outputs: int) -> nn.Module:
    return BufferNet(math.prod(input_shape), n_outputs)
