"""P3: a hand-written train step that never zeroes the gradients.

``optimizer.zero_grad()`` went missing in a refactor: every ``backward()`` adds to the
gradients of all the steps before, so each update is the sum of every gradient so far and
the effective learning rate grows with every step. Flagged by skeleton.grad_accumulation.
"""

from __future__ import annotations

import math

from torch import nn


def build(input_shape: tuple[int, ...], n_outputs: int) -> nn.Module:
    return nn.Sequential(nn.Linear(math.prod(input_shape), 32), nn.ReLU(), nn.Linear(32, n_outputs))


def train_step(model, batch, optimizer, loss):
    x, y = batch
    value = loss(model(x), y)  # BUG: no optimizer.zero_grad() before backward()
    value.backward()
    optimizer.step()
    return value
