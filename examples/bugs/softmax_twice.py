"""M4: softmax applied before a loss that applies it again.

The model returns probabilities, and nncheck's cross-entropy (like
``nn.CrossEntropyLoss``) applies softmax itself: the loss can never fall much below
log(1 + (K - 1) / e), the gradients are squashed, and the net learns slowly or not at all.
Flagged by skeleton.init_loss (the outputs are already probabilities) and
overfit.one_batch (the loss plateaus far above zero).
"""

from __future__ import annotations

import math

import torch
from torch import nn


class SoftmaxNet(nn.Module):
    def __init__(self, n_inputs: int, n_outputs: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(n_inputs, 8), nn.Tanh(), nn.Linear(8, 5), nn.Tanh(), nn.Linear(5, n_outputs)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(x), dim=1)  # BUG: the loss applies softmax again


def build(input_shape: tuple[int, ...], n_outputs: int) -> nn.Module:
    return SoftmaxNet(math.prod(input_shape), n_outputs)
