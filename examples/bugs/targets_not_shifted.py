"""S1: next-token data whose targets are the inputs themselves (the shift by one token was
forgotten), so the model learns to copy its input. The model here is a healthy causal GRU.

nncheck flags it in data.sequence_targets. The data file beside this module
(targets_not_shifted.npz: x and y (N, 32) character ids from data/tinyshakespeare.txt, y
== x) is written by ``python examples/bugs/targets_not_shifted.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torch import nn

HERE = Path(__file__).resolve().parent


class CharGRU(nn.Module):
    """Embedding -> one unidirectional GRU layer -> linear head: causal by construction."""

    def __init__(self, vocab: int, width: int = 32) -> None:
        super().__init__()
        self.tokens = nn.Embedding(vocab, width)
        self.rnn = nn.GRU(width, width, batch_first=True)
        self.head = nn.Linear(width, vocab)
        nn.init.normal_(self.head.weight, std=0.02)

    def forward(self, ids):
        h, _ = self.rnn(self.tokens(ids))
        return self.head(h)


def build(input_shape: tuple[int, ...], n_outputs: int) -> nn.Module:
    return CharGRU(n_outputs)


def character_ids(n: int, length: int) -> np.ndarray:
    """(n, length) ids of consecutive passages of the bundled Shakespeare (0 = unused)."""
    text = (HERE.parent.parent / "data" / "tinyshakespeare.txt").read_text()[: n * length]
    codes = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
    _, ids = np.unique(codes, return_inverse=True)
    return (ids + 1).reshape(n, length).astype(np.int16)


if __name__ == "__main__":
    x = character_ids(400, 32)
    np.savez_compressed(HERE / "targets_not_shifted.npz", x=x, y=x)  # BUG: y is not shifted
