"""M5: randomness outside the seeded generators.

Input-noise "augmentation" drawn from a numpy generator created without a seed: every
run, and every forward pass, gets different noise, so two trainings with the same seed
differ and no result can be reproduced. Flagged by skeleton.determinism.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

_RNG = np.random.default_rng()  # BUG: no seed, so fresh OS entropy on every import


class NoisyNet(nn.Module):
    def __init__(self, n_inputs: int, n_outputs: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(n_inputs, 8), nn.Tanh(), nn.Linear(8, 5), nn.Tanh(), nn.Linear(5, n_outputs)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        noise = torch.from_numpy(_RNG.normal(0.0, 0.1, size=tuple(x.shape)))
        return self.net(x + noise.to(x.dtype))


def build(input_shape: tuple[int, ...], n_outputs: int) -> nn.Module:
    return NoisyNet(math.prod(input_shape), n_outputs)
