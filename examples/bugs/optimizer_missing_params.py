"""P1: the optimizer leaves the output layer out of its param groups.

The param groups are written by hand (a smaller lr for the "backbone") and the head is
forgotten: its weights receive gradients but are never updated, so they stay at their
random init while the rest trains. Flagged by skeleton.optimizer_params.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def build(input_shape: tuple[int, ...], n_outputs: int) -> nn.Module:
    return nn.Sequential(nn.Linear(math.prod(input_shape), 32), nn.ReLU(), nn.Linear(32, n_outputs))


def make_optimizer(model: nn.Module) -> torch.optim.Optimizer:
    backbone = model[0]
    return torch.optim.Adam([{"params": backbone.parameters(), "lr": 1e-3}])  # BUG: no head
