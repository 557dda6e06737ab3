"""Public bug: a sigmoid on the outputs before cross-entropy ("probabilities" as logits).

The net ends in ``nn.Sigmoid()`` because the author thought of the outputs as per-class
probabilities, then trains with softmax cross-entropy: the logits are squeezed into
[0, 1], so the correct class can never be more than e times as likely as another and the
loss has a floor far above zero.
"""

from __future__ import annotations

import math

from torch import nn


def build(input_shape: tuple[int, ...], n_outputs: int) -> nn.Module:
    return nn.Sequential(
        nn.Linear(math.prod(input_shape), 32),
        nn.Tanh(),
        nn.Linear(32, n_outputs),
        nn.Sigmoid(),  # BUG: cross-entropy wants unbounded logits
    )
