"""M2: every parameter frozen, so nothing learns.

The factory means to freeze a pretrained feature extractor but loops over the whole
model's parameters: all of them get ``requires_grad=False``, the optimizer has nothing to
update and the loss never moves. Flagged by overfit.one_batch and overfit.loss_decreases.
"""

from __future__ import annotations

import math

from torch import nn


def build(input_shape: tuple[int, ...], n_outputs: int) -> nn.Module:
    features = nn.Sequential(nn.Linear(math.prod(input_shape), 8), nn.Tanh(), nn.Linear(8, 5))
    model = nn.Sequential(features, nn.Tanh(), nn.Linear(5, n_outputs))
    for p in model.parameters():  # BUG: meant features.parameters()
        p.requires_grad_(False)
    return model
