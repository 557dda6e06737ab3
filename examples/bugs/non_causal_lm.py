"""S1: a character language model whose attention has no causal mask, so position t sees
the tokens after it (the targets) and learns to copy them.

nncheck flags it in skeleton.causal: changing a later token changes earlier outputs.
"""

from __future__ import annotations

import torch
from torch import nn


class Unmasked(nn.Module):
    def __init__(self, seq_len: int, vocab: int, width: int = 32) -> None:
        super().__init__()
        self.tokens = nn.Embedding(vocab, width)
        self.positions = nn.Embedding(seq_len, width)
        self.attention = nn.MultiheadAttention(width, 2, batch_first=True)
        self.head = nn.Linear(width, vocab)
        nn.init.normal_(self.head.weight, std=0.02)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        h = self.tokens(ids) + self.positions(torch.arange(ids.shape[1], device=ids.device))
        mixed, _ = self.attention(h, h, h, need_weights=False)  # BUG: no attn_mask
        return self.head(h + mixed)


def build(input_shape: tuple[int, ...], n_outputs: int) -> nn.Module:
    return Unmasked(int(input_shape[0]), n_outputs)
