"""M9: a hand-written tanh whose backward pass has a sign error.

A custom ``autograd.Function`` (written to save memory) returns ``-grad * (1 - y^2)``
instead of ``grad * (1 - y^2)``: the forward pass is right, every gradient through the
activation points the wrong way, and the net trains badly for no visible reason.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class _Tanh(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):  # type: ignore[override]
        y = torch.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        (y,) = ctx.saved_tensors
        return -grad * (1 - y * y)  # BUG: the sign


class Tanh(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _Tanh.apply(x)


def build(input_shape: tuple[int, ...], n_outputs: int) -> nn.Module:
    n = math.prod(input_shape)
    return nn.Sequential(nn.Linear(n, 8), Tanh(), nn.Linear(8, 5), Tanh(), nn.Linear(5, n_outputs))
