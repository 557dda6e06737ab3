"""Multi-label targets: one 0/1 column per label, each sample may carry any number of them.

A multi-label table (tags, findings, genres) is not a classification with many classes:
its labels are independent yes/no questions, trained with a sigmoid and binary
cross-entropy per label, not a softmax that makes them compete. Loading only turns the
label cells into a float32 (n, L) matrix of 0/1; a cell that is not a 0/1 value (a 2, a
word, a blank) becomes NaN so that ``data.integrity`` can name the column and rows rather
than loading failing on the first one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Text cells read as a label's "yes" / "no" (case-insensitive, stripped).
_YES = {"1", "1.0", "true", "yes", "y", "t"}
_NO = {"0", "0.0", "false", "no", "n", "f"}


def label_names(target: object, n_labels: int) -> tuple[str, ...]:
    """The labels' names: the table's target columns, else ``label_0`` .. for an npz."""
    if isinstance(target, (tuple, list)) and len(target) == n_labels:
        return tuple(str(t) for t in target)
    return tuple(f"label_{j}" for j in range(n_labels))


def encode_multilabel(y_raw: np.ndarray) -> np.ndarray:
    """float32 (n, L): 1 for yes, 0 for no, NaN for a cell that is neither."""
    y = np.asarray(y_raw)
    if y.ndim != 2:
        raise ValueError(f"a multilabel target is an (n, L) matrix, got shape {y.shape}")
    if y.dtype.kind == "b":
        return y.astype(np.float32)
    if y.dtype.kind in "iuf":
        out = y.astype(np.float32)
        out[~np.isin(out, (0.0, 1.0))] = np.nan
        return out
    out = np.full(y.shape, np.nan, dtype=np.float32)
    for j in range(y.shape[1]):
        out[:, j] = _encode_column(y[:, j])
    return out


def _encode_column(values: np.ndarray) -> np.ndarray:
    import pandas as pd

    s = pd.Series(values, dtype=object)
    is_bool = s.map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy(bool)
    text = s.map(lambda v: str(v).strip().lower() if v is not None else "").to_numpy(object)
    out = np.full(len(values), np.nan, dtype=np.float32)
    yes = np.isin(text, list(_YES))
    no = np.isin(text, list(_NO))
    out[yes] = 1.0
    out[no] = 0.0
    out[is_bool] = s[is_bool].astype(bool).to_numpy(np.float32)
    return out


def bad_cells(y: np.ndarray, names: Sequence[str]) -> list[tuple[str, int, np.ndarray]]:
    """(label, count, first rows) for every label column with cells that are not 0/1."""
    out = []
    bad = np.isnan(y)
    for j, name in enumerate(names):
        rows = np.flatnonzero(bad[:, j])
        if rows.size:
            out.append((name, int(rows.size), rows[:5]))
    return out
