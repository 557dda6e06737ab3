"""M2: the forward pass runs under ``torch.no_grad()``, detached from the loss.

A bookkeeping block (counting the samples seen) was wrapped in ``torch.no_grad()`` and the
forward computation slipped into it: the output carries no graph, no parameter gets a
gradient and nothing learns. Flagged by overfit.one_batch and overfit.loss_decreases (and
skeleton.gradient_check: backprop gives 0 where the loss clearly depends on the weights).
"""

from __future__ import annotations

import math

import torch
from torch import nn


class DetachedNet(nn.Module):
    def __init__(self, n_inputs: int, n_outputs: int) -> None:
        super().__init__()
        self.register_buffer("samples_seen", torch.zeros((), dtype=torch.int64))
        self.net = nn.Sequential(
            nn.Linear(n_inputs, 8), nn.Tanh(), nn.Linear(8, 5), nn.Tanh(), nn.Linear(5, n_outputs)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            self.samples_seen += x.shape[0]
            out = self.net(x)  # BUG: belongs outside the no_grad block
        return out


def build(input_shape: tuple[int, ...], n_outputs: int) -> nn.Module:
    return DetachedNet(math.prod(input_shape), n_outputs)
