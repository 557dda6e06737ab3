"""M8: an output layer whose size does not match the number of classes.

The number of classes is hard-coded from an older version of the data instead of taken
from ``n_outputs``: the model outputs 2 values per sample for 3 classes. nncheck stops
before any check (exit 2) with "model outputs 2 values per sample, the data has 3 classes".
"""

from __future__ import annotations

import math

from torch import nn

N_CLASSES = 2  # BUG: config drift; the factory receives n_outputs and should use it


def build(input_shape: tuple[int, ...], n_outputs: int) -> nn.Module:
    return nn.Sequential(
        nn.Linear(math.prod(input_shape), 8),
        nn.Tanh(),
        nn.Linear(8, 5),
        nn.Tanh(),
        nn.Linear(5, N_CLASSES),
    )
