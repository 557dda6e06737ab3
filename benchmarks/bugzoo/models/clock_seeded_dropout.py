"""M5: dropout drawn from a private ``torch.Generator`` seeded from OS entropy.

The model keeps its own generator so that its dropout "does not disturb" the global one,
and seeds it with ``Generator.seed()`` (a non-deterministic seed): every run draws other
masks, so two trainings with the same seed differ.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class ClockDropoutNet(nn.Module):
    def __init__(self, n_inputs: int, n_outputs: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(n_inputs, 32)
        self.out = nn.Linear(32, n_outputs)
        self.gen = torch.Generator()
        self.gen.seed()  # BUG: a fresh non-deterministic seed, not the run's seed

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.fc1(x))
        if self.training:
            keep = torch.rand(h.shape, generator=self.gen) > 0.2
            h = h * keep / 0.8
        return self.out(h)


def build(input_shape: tuple[int, ...], n_outputs: int) -> nn.Module:
    return ClockDropoutNet(math.prod(input_shape), n_outputs)
