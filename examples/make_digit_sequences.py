"""Write data/digits_sequences.npz: each 8 x 8 digit of data/digits.csv as a sequence.

Sequential digits, the small sibling of "sequential MNIST" (a standard test of sequence
models): the 64 pixels of a digit, row by row, are 64 tokens whose ids are the grey levels
0..16 (a vocabulary of 17), and the label is the digit. ``x`` is int64 (1797, 64), ``y``
the labels; ``python examples/make_digit_sequences.py`` rewrites the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    table = np.loadtxt(ROOT / "data" / "digits.csv", delimiter=",", skiprows=1, dtype=np.int64)
    x, y = table[:, :-1], table[:, -1]
    path = ROOT / "data" / "digits_sequences.npz"
    np.savez_compressed(path, x=x, y=y)
    print(f"wrote {path}: {x.shape[0]} sequences of {x.shape[1]} tokens, ids 0..{x.max()}")


if __name__ == "__main__":
    main()
