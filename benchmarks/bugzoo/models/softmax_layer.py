"""M4: an ``nn.Softmax`` as the last layer of a Sequential, fed to cross-entropy.

Ported from a Keras model whose last Dense layer had ``activation="softmax"``: the torch
loss (like nncheck's) applies softmax itself, so the network's outputs go through softmax
twice. The loss cannot fall below log(1 + (K - 1) / e) and the gradients are squashed.
"""

from __future__ import annotations

import math

from torch import nn


def build(input_shape: tuple[int, ...], n_outputs: int) -> nn.Module:
    return nn.Sequential(
        nn.Linear(math.prod(input_shape), 32),
        nn.ReLU(),
        nn.Linear(32, n_outputs),
        nn.Softmax(dim=1),  # BUG: nn.CrossEntropyLoss expects logits
    )
