"""S2: a softmax over independent labels.

A multilabel target (one 0/1 column per label) asks one yes/no question per label; this
model ends with a softmax across the labels, as if they were classes of one question. The
outputs then sum to 1, so a sample can never be confidently "yes" for two labels: a digit
that is even and has a closed loop (0, 6, 8) is pulled towards one of them, and the
binary cross-entropy on top cannot fall far. Flagged by skeleton.multilabel_init (every
output row is a probability vector summing to 1).

The same bug written as the loss, ``train.loss: "torch.nn:CrossEntropyLoss"`` on multi-hot
targets (torch accepts them as class probabilities), is flagged too: that loss does not
change when all of a row's logits rise together, which no per-label loss does.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class SoftmaxTagger(nn.Module):
    def __init__(self, n_inputs: int, n_outputs: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_inputs, 32), nn.ReLU(), nn.Linear(32, n_outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(x), dim=1)  # BUG: the labels are not exclusive


def build(input_shape: tuple[int, ...], n_outputs: int) -> nn.Module:
    return SoftmaxTagger(math.prod(input_shape), n_outputs)
