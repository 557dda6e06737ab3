"""Which columns are identifiers, and which column is the target when none is named.

Identifier columns carry one value per row: row numbers (0..n-1, 1..n, pandas' and R's
row-name column ``Unnamed: 0``), ids, names, tickets, and numbers that grow with the row
order. As features they leak the file's order into the model (an export sorted by class
makes the row number a perfect predictor: iris from R reaches 100% with it) and make every
row unique, which hides exact duplicates. They are found here from the values in file
order, before any split or training, so that ``table_plan`` can leave them out.

Rules (value rules need ``MIN_ROWS`` rows, so a 5-row example table is not all ids):
- a row-name column (an empty header, ``Unnamed: N``, ``rownames``), whatever it holds;
- integers stepping by one in file order (row numbers), or a shuffle of a contiguous range;
- integers, nearly all distinct, whose rank correlation with the row order is >= 0.99;
- integers unique per row under an id-like name (``id``, ``PassengerId``, ``user_id``...);
- text unique per row (names, ids), or with more distinct values than half its present
  cells and more than ``MANY_LEVELS`` of them (tickets, cabin numbers, free text).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nncheck.data.tables import Column

MIN_ROWS = 20
ORDER_CORRELATION = 0.99
NEAR_UNIQUE_SHARE = 0.5
MANY_LEVELS = 20
_ROW_NAMES = re.compile(r"^(unnamed: ?\d+|rownames|row\.names|row_names|\.\.\.1|index|)$", re.I)
_ID_NAME = re.compile(r"(^|[_\s.-])(id|uuid|guid|key)$|^(id|idx)([_\s.-]|$)", re.I)
_CAMEL_ID = re.compile(r"[a-z](Id|ID)$")

# Column names taken as the target when the recipe names none (case-insensitive).
TARGET_NAMES: tuple[str, ...] = (
    "label", "labels", "target", "class", "y", "outcome", "response",
    "survived", "species", "diagnosis", "churn",
)  # fmt: skip
# A target guessed by position must have at most this many distinct values.
MAX_GUESSED_CLASSES = 20


@dataclass(frozen=True)
class Identifier:
    column: str
    why: str  # in words, with the numbers: "row numbers 1..891 in file order"
    # Positional identifiers (row numbers, row names, numbers growing with the row order)
    # describe where a row sits in the file; the others (names, ids, tickets) describe the
    # record, so that two rows with the same features and different names are two records,
    # not a copy (table_plan's record keys).
    positional: bool = True


def find_identifiers(columns: Sequence[Column]) -> list[Identifier]:
    """Identifier columns among ``columns`` (all of one file, in file order)."""
    found = []
    for col in columns:
        evidence = _evidence(col)
        if evidence is not None:
            found.append(Identifier(col.name, *evidence))
    return found


def identifier_evidence(col: Column) -> str | None:
    """Why ``col`` is an identifier, or None."""
    evidence = _evidence(col)
    return None if evidence is None else evidence[0]


def _evidence(col: Column) -> tuple[str, bool] | None:
    """(why, positional) when ``col`` is an identifier."""
    n = len(col)
    present = ~col.missing
    n_present = int(present.sum())
    if _ROW_NAMES.match(col.name.strip()) and n_present:
        return "row names, as pandas' to_csv and R's write.csv write them", True
    if n < MIN_ROWS or n_present < MIN_ROWS:
        return None
    if col.number is not None:
        return _numeric_evidence(col.name, col.number, present, n_present)
    assert col.text is not None
    values = col.text[present]
    distinct = len(set(values.tolist()))
    if distinct == n_present and n_present >= 0.5 * n:
        return f"unique per row: {distinct} distinct values in {n_present} rows", False
    if distinct > MANY_LEVELS and distinct >= NEAR_UNIQUE_SHARE * n_present:
        why = f"{distinct} distinct values in {n_present} rows: an id, a name or free text"
        return why + " rather than a category", False
    return None


def _numeric_evidence(
    name: str, number: np.ndarray, present: np.ndarray, n_present: int
) -> tuple[str, bool] | None:
    v = number[present]
    if not np.all(np.isfinite(v)) or not np.all(v == np.round(v)):
        return None
    distinct = np.unique(v)
    n = len(number)
    if n_present == n and distinct.size == n:
        steps = np.diff(v)
        lo, hi = int(v.min()), int(v.max())
        if np.all(steps == 1):
            return f"row numbers {int(v[0])}..{int(v[-1])} in file order", True
        if hi - lo == n - 1:
            return f"a shuffle of {lo}..{hi}: one number per row", True
        if _ID_NAME.search(name) or _CAMEL_ID.search(name):
            return f"named like an id and unique per row ({n} distinct integers)", False
    if distinct.size >= 0.95 * n_present:
        rows = np.flatnonzero(present).astype(np.float64)
        rho = _rank_correlation(v, rows)
        if abs(rho) >= ORDER_CORRELATION:
            direction = "grows" if rho > 0 else "falls"
            return f"{direction} with the row order (rank correlation {rho:.3f})", True
    return None


def _rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    ra = np.argsort(np.argsort(a, kind="stable"), kind="stable").astype(np.float64)
    rb = np.argsort(np.argsort(b, kind="stable"), kind="stable").astype(np.float64)
    if ra.std() == 0 or rb.std() == 0:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])


def guess_target(columns: Sequence[Column]) -> tuple[str, str]:
    """(column, why) for a table whose recipe names no target.

    A conventional name first; else the last column when it is a category (text with few
    values), the first column when that is one (species-first tables such as penguins),
    the last column when it holds few integers (class indices), and finally the last
    column that is not an identifier (a regression target).
    """
    by_lower = {c.name.lower(): c for c in reversed(columns)}
    for name in TARGET_NAMES:
        if name in by_lower:
            return by_lower[name].name, "a conventional target name"
    last, first = columns[-1], columns[0]
    k = _levels(last)
    if last.text is not None and _class_like(last, k):
        return last.name, f"the last column, a category with {k} values"
    k_first = _levels(first)
    if (
        first.text is not None
        and _class_like(first, k_first)
        and identifier_evidence(first) is None
    ):
        return first.name, f"the first column, a category with {k_first} values"
    if last.number is not None and _class_like(last, k) and _integral(last):
        return last.name, f"the last column, {k} distinct integers"
    for col in reversed(columns):
        if identifier_evidence(col) is None:
            return col.name, "the last column that is not an identifier"
    return last.name, "the last column"


def _class_like(col: Column, k: int) -> bool:
    """Few values, each held by two rows on average: a column with one value per row (the
    state names of a 17-row table) names the rows, it cannot be a class to learn."""
    return 2 <= k <= MAX_GUESSED_CLASSES and 2 * k <= int((~col.missing).sum())


def _levels(col: Column) -> int:
    present = ~col.missing
    values = col.text[present] if col.text is not None else col.number[present]  # type: ignore[index]
    return len(set(values.tolist()))


def _integral(col: Column) -> bool:
    assert col.number is not None
    v = col.number[~col.missing]
    return bool(v.size) and bool(np.all(np.isfinite(v) & (v == np.round(v))))
