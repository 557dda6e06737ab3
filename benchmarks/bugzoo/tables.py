"""Table bugs of bug-classes.md (T1-T3), written into a real dataset's CSV files.

The D injectors change arrays; these change the files as exports come out of
spreadsheets, R and databases: extra columns (row names, ids, a patient), cells written as
`?` or left empty, a 0 where an instrument had no reading. Each takes the train and test
frames as the zoo writes them (features then the target, last) and a seeded generator,
and returns both frames; the docstring's first line is what the matrix calls the case.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

Rng = np.random.Generator
Frames = tuple[pd.DataFrame, pd.DataFrame]


def _by_class(train: pd.DataFrame, test: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each row's place (train rows first, then test) in the file sorted by class, as
    the original export was before someone split it at random."""
    target = train.columns[-1]
    labels = np.concatenate([train[target].to_numpy(), test[target].to_numpy()])
    order = np.argsort(labels, kind="stable")
    place = np.empty(len(labels), np.int64)
    place[order] = np.arange(len(labels))
    return place[: len(train)], place[len(train) :]


def row_names_sorted_by_class(train: pd.DataFrame, test: pd.DataFrame, rng: Rng) -> Frames:
    """R's write.csv row names of a file sorted by class, kept as a column"""
    a, b = _by_class(train, test)
    return train.assign(**{"": a + 1}), test.assign(**{"": b + 1})


def customer_ids(train: pd.DataFrame, test: pd.DataFrame, rng: Rng) -> Frames:
    """a unique id per row (C000123), numbered in class order, left in as a column"""
    a, b = _by_class(train, test)
    code = rng.permutation(10**6)[: len(a) + len(b)]
    code = np.sort(code)  # ids handed out in the class-sorted order of the export
    ids = np.char.add("C", np.char.zfill(code.astype(str), 6))
    return train.assign(customer=ids[a]), test.assign(customer=ids[b])


def _cells(rng: Rng, frame: pd.DataFrame, columns: list[str], share: float, value) -> pd.DataFrame:
    out = frame.astype({c: object for c in columns})
    for c in columns:
        rows = rng.choice(len(out), size=max(1, int(round(share * len(out)))), replace=False)
        out.iloc[rows, out.columns.get_loc(c)] = value
    return out


def question_marks(train: pd.DataFrame, test: pd.DataFrame, rng: Rng) -> Frames:
    """'?' written for 4% of the cells of three columns (a UCI-style export)"""
    cols = list(train.columns[[0, 3, 6]])
    return _cells(rng, train, cols, 0.04, "?"), _cells(rng, test, cols, 0.04, "?")


def empty_cells(train: pd.DataFrame, test: pd.DataFrame, rng: Rng) -> Frames:
    """3% of the cells of four columns left empty"""
    cols = list(train.columns[[10, 20, 30, 40]])
    return _cells(rng, train, cols, 0.03, ""), _cells(rng, test, cols, 0.03, "")


def zero_blood_pressure(train: pd.DataFrame, test: pd.DataFrame, rng: Rng) -> Frames:
    """a blood pressure of 0 (no reading) in 15% of the rows, as in the Pima table"""
    return _cells(rng, train, ["bp"], 0.15, 0.0), _cells(rng, test, ["bp"], 0.15, 0.0)


def patients_across_the_split(train: pd.DataFrame, test: pd.DataFrame, rng: Rng) -> Frames:
    """three visits per patient, rows split at random so patients sit on both sides"""
    a, b = _by_class(train, test)
    # consecutive rows of one class are one patient's visits (three per patient)
    return train.assign(patient=[f"P{p // 3:04d}" for p in a]), test.assign(
        patient=[f"P{p // 3:04d}" for p in b]
    )


def sorted_by_class(train: pd.DataFrame, test: pd.DataFrame, rng: Rng) -> Frames:
    """the training file's rows sorted by class (as many exports are)"""
    target = train.columns[-1]
    return train.sort_values(target, kind="stable", ignore_index=True), test
