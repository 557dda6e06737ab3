"""Public bug: softmax over a single output unit for a binary problem.

The Keras classic ``Dense(1, activation="softmax")`` with binary cross-entropy, here in
torch: the head has one unit, softmax over one value is always exactly 1, so p(class 1)
is 1 for every input, the head gets no gradient (d softmax / d z = 0 for one unit) and
nothing ever learns. The two-class log-probabilities [log(1 - p), log p] go to the loss.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class SingleUnitSoftmax(nn.Module):
    def __init__(self, n_inputs: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(n_inputs, 16), nn.ReLU())
        self.head = nn.Linear(16, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = torch.softmax(self.head(self.body(x)), dim=1)  # BUG: softmax over 1 unit == 1
        probs = torch.cat([1 - p, p], dim=1).clamp_min(1e-7)
        return torch.log(probs)


def build(input_shape: tuple[int, ...], n_outputs: int) -> nn.Module:
    if n_outputs != 2:
        raise ValueError(f"a binary model; the data has {n_outputs} classes")
    return SingleUnitSoftmax(math.prod(input_shape))
