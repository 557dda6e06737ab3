"""M3: weights drawn with ``nn.init.normal_(w, std=1.0)``: no fan-in scaling.

A custom init loop meant to reproduce a paper's "N(0, 1) weights" forgets the 1/sqrt(fan_in)
factor: with 64 inputs and 128 hidden units every layer multiplies the signal's scale by
about 8-11, the logits at init are in the hundreds and the loss starts far above log K.
"""

from __future__ import annotations

import math

from torch import nn


def build(input_shape: tuple[int, ...], n_outputs: int) -> nn.Module:
    model = nn.Sequential(
        nn.Linear(math.prod(input_shape), 128),
        nn.ReLU(),
        nn.Linear(128, 128),
        nn.ReLU(),
        nn.Linear(128, n_outputs),
    )
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=1.0)  # BUG: should be std=sqrt(2 / fan_in)
            nn.init.zeros_(m.bias)
    return model
