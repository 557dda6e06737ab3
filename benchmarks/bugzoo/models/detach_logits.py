"""M2: the logits detached from the graph (``.detach()`` left in from logging).

``out.detach()`` was meant for the copy sent to a metrics logger but ended up on the
returned tensor: the loss has no path back to any parameter and nothing learns.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class DetachedLogits(nn.Module):
    def __init__(self, n_inputs: int, n_outputs: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_inputs, 32), nn.ReLU(), nn.Linear(32, n_outputs))
        self.last_logits: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x).detach()  # BUG: detach only the copy kept for logging
        self.last_logits = out
        return out


def build(input_shape: tuple[int, ...], n_outputs: int) -> nn.Module:
    return DetachedLogits(math.prod(input_shape), n_outputs)
