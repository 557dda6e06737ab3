"""S1: lines of text padded to a fixed length with token 0, and a recipe that does not name
the padding (no data.pad_token): the loss counts the padding, the easiest tokens of all.

nncheck flags it in data.padding. The data file beside this module (padding_in_loss.npz:
x: (N, 48) ids, the lines of data/tinyshakespeare.txt padded with 0; targets are x shifted
by one) is written by ``python examples/bugs/padding_in_loss.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from targets_not_shifted import CharGRU
from torch import nn

HERE = Path(__file__).resolve().parent
LENGTH = 48


def build(input_shape: tuple[int, ...], n_outputs: int) -> nn.Module:
    return CharGRU(n_outputs)


if __name__ == "__main__":
    text = (HERE.parent.parent / "data" / "tinyshakespeare.txt").read_text()
    lines = [ln for ln in text.splitlines() if ln.strip()][:600]
    vocab = sorted(set("".join(lines)))
    index = {c: i + 1 for i, c in enumerate(vocab)}  # 0 is padding
    ids = np.zeros((len(lines), LENGTH), dtype=np.int16)
    for row, line in enumerate(lines):
        codes = [index[c] for c in line[:LENGTH]]
        ids[row, : len(codes)] = codes
    np.savez_compressed(HERE / "padding_in_loss.npz", x=ids)
