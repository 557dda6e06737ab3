"""Public bug: a ReLU after the output layer, before cross-entropy.

"My classifier's loss is stuck": the last ``nn.Linear`` is followed by the same ReLU as
every hidden layer (a loop that appends an activation after each Linear). The logits can
never be negative, every output unit whose pre-activation starts below zero is dead (no
gradient), and the classes of the dead units can never be predicted confidently.
"""

from __future__ import annotations

import math

from torch import nn


def build(input_shape: tuple[int, ...], n_outputs: int) -> nn.Module:
    layers: list[nn.Module] = []
    fan_in = math.prod(input_shape)
    for width in (32, n_outputs):
        layers += [nn.Linear(fan_in, width), nn.ReLU()]  # BUG: no ReLU after the last layer
        fan_in = width
    return nn.Sequential(*layers)
