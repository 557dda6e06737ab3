"""M9: a hand-written ReLU whose backward pass masks with the output (>= 0: always true).

The custom backward computes the mask from the saved output, ``y >= 0``, which holds for
every unit (ReLU outputs are never negative), so the gradient flows through units that
were off as if they were linear. The forward pass is right.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class _ReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):  # type: ignore[override]
        y = x.clamp_min(0)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        (y,) = ctx.saved_tensors
        return grad * (y >= 0).to(grad.dtype)  # BUG: should be x > 0 (or y > 0)


class ReLU(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ReLU.apply(x)


def build(input_shape: tuple[int, ...], n_outputs: int) -> nn.Module:
    return nn.Sequential(nn.Linear(math.prod(input_shape), 32), ReLU(), nn.Linear(32, n_outputs))
