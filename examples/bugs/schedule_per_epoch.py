"""P1: a schedule written for epochs, stepped once per batch.

``StepLR(step_size=30, gamma=0.1)`` means "divide the lr by 10 every 30 epochs"; stepped
after every batch (as the training loop does) it divides it every 30 batches: after 90
steps the lr is a thousandth of where it started and nothing learns for the rest of the
run. Flagged by skeleton.lr_schedule.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def build(input_shape: tuple[int, ...], n_outputs: int) -> nn.Module:
    return nn.Sequential(nn.Linear(math.prod(input_shape), 32), nn.ReLU(), nn.Linear(32, n_outputs))


def make_scheduler(optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LRScheduler:
    return torch.optim.lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.1)  # BUG: epochs
