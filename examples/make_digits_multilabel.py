"""Write data/digits_multilabel.csv: the 1797 digits as 64 pixels and four 0/1 labels.

A multilabel table derived from a real dataset: each 8 x 8 digit of ``data/digits.csv``
keeps its 64 pixel columns; its class becomes four yes/no properties of the digit, and
the class column itself is dropped (it would give every label away):

- ``even``: 0, 2, 4, 6, 8
- ``prime``: 2, 3, 5, 7
- ``above_4``: 5, 6, 7, 8, 9
- ``closed_loop``: 0, 6, 8, 9 (a stroke that encloses a hole)

A digit carries 0 to 3 of them (1 carries none, 8 carries three), the labels are
correlated and all four are learnable from the pixels: the shape of a multilabel problem
such as tagging. ``python examples/make_digits_multilabel.py`` rewrites the file.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
LABELS = {
    "even": {0, 2, 4, 6, 8},
    "prime": {2, 3, 5, 7},
    "above_4": {5, 6, 7, 8, 9},
    "closed_loop": {0, 6, 8, 9},
}


def main() -> None:
    digits = pd.read_csv(ROOT / "data" / "digits.csv")
    out = digits.drop(columns=["label"])
    for name, members in LABELS.items():
        out[name] = digits["label"].isin(members).astype(int)
    path = ROOT / "data" / "digits_multilabel.csv"
    out.to_csv(path, index=False)
    n_pixels = out.shape[1] - len(LABELS)
    print(f"wrote {path}: {len(out)} rows, {n_pixels} pixels + {len(LABELS)} labels")


if __name__ == "__main__":
    main()
