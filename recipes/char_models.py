"""A character-level language model for recipes/shakespeare_char.yaml.

nncheck calls ``causal_transformer(input_shape, n_outputs, **kwargs)`` with
``input_shape = (T,)`` (tokens per sequence) and ``n_outputs`` the vocabulary size; the
model maps int64 token ids ``(N, T)`` to next-token logits ``(N, T, vocab)``.
"""

from __future__ import annotations

import torch
from torch import nn


class CausalTransformer(nn.Module):
    """Token + position embeddings, one pre-norm self-attention block masked so that
    position t attends to positions <= t only, and a linear head to the vocabulary."""

    def __init__(self, seq_len: int, vocab: int, width: int, heads: int, causal: bool) -> None:
        super().__init__()
        self.tokens = nn.Embedding(vocab, width)
        self.positions = nn.Embedding(seq_len, width)
        self.block = nn.TransformerEncoderLayer(
            width, heads, dim_feedforward=2 * width, dropout=0.0, batch_first=True, norm_first=True
        )
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab)
        # Small output weights (GPT-2's 0.02): the loss at init is then the unigram entropy
        # that nncheck's prior bias gives, not an over-confident guess.
        nn.init.normal_(self.head.weight, std=0.02)
        mask = torch.triu(torch.full((seq_len, seq_len), float("-inf")), diagonal=1)
        self.register_buffer("mask", mask if causal else torch.zeros(seq_len, seq_len))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        t = ids.shape[1]
        h = self.tokens(ids) + self.positions(torch.arange(t, device=ids.device))
        h = self.block(h, src_mask=self.mask[:t, :t])
        return self.head(self.norm(h))


def causal_transformer(
    input_shape: tuple[int, ...], n_outputs: int, width: int = 32, heads: int = 2
) -> nn.Module:
    """The healthy model: attention masked to the past."""
    return CausalTransformer(int(input_shape[0]), n_outputs, width, heads, causal=True)


class GRUClassifier(nn.Module):
    """Token ids (N, T) -> class logits (N, K): an embedding, a one-layer GRU read left to
    right (batch first), a linear layer on its last hidden state."""

    def __init__(self, vocab_size: int, n_outputs: int, width: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, width)
        self.gru = nn.GRU(width, width, batch_first=True)
        self.head = nn.Linear(width, n_outputs)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        _, last = self.gru(self.embed(ids))  # last: (1, N, width)
        return self.head(last[0])


def gru_classifier(
    input_shape: tuple[int, ...], n_outputs: int, vocab_size: int, width: int = 32
) -> nn.Module:
    """For ``task: sequence_classification``: nncheck passes ``vocab_size``."""
    return GRUClassifier(vocab_size, n_outputs, width)
