"""Test rows whose group (``data.groups``: a patient, a ticket) also occurs in train.

With a fraction split the groups are kept apart (data/split.py ``group_split``), so this
finds nothing there by construction; it is a test file drawn from the same groups as the
training file that leaks: the model is evaluated on people it has already seen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nncheck.data.dataset import Dataset


@dataclass(frozen=True)
class GroupLeaks:
    column: str
    test_rows: np.ndarray  # positions in the test split whose group is also in train
    train_rows: np.ndarray  # for each, the first train position of that group
    groups: int  # distinct groups on both sides


def group_leaks(ds: Dataset) -> GroupLeaks | None:
    """None when the recipe names no ``data.groups``."""
    gtr, gte = ds.train.groups, ds.test.groups
    if gtr is None or gte is None or ds.table is None or ds.table.group_column is None:
        return None
    size = int(max(gtr.max(initial=-1), gte.max(initial=-1))) + 1
    first = np.full(size + 1, -1, dtype=np.int64)  # first[-1]: rows without a group
    valid = np.flatnonzero(gtr >= 0)
    first[gtr[valid][::-1]] = valid[::-1]
    match = np.where(gte >= 0, first[gte], -1)
    rows = np.flatnonzero(match >= 0)
    return GroupLeaks(ds.table.group_column, rows, match[rows], int(np.unique(gte[rows]).size))
