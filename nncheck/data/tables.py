"""A table's columns as read: what each cell holds, before any role or encoding is decided.

Every cell is read as text first (``dtype=str``), so that nothing is lost before we look:
pandas' own inference turns a column with one ``?`` into strings and a column of ``NA`` into
floats, and then neither the marker nor its count can be reported. Here each column becomes
a ``Column``: the cells that mean "no value" (``MISSING_MARKERS``, counted by how they were
written), and either numbers (float64, NaN where missing) or stripped text. A column that
is numbers apart from a few odd words (``"unknown"``, ``"n.a."``) stays numeric and counts
the words as missing (``odd``), since one word must not turn a measurement into a category.

Roles (feature, identifier, group...) and encodings are decided later, in ``roles.py`` and
``table_plan.py``, because they need the recipe and, for the encoding, the split.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nncheck.data.dialect import Dialect, line_of_row

# Cells that mean "no value", compared case-insensitively after stripping spaces.
MISSING_MARKERS = frozenset({"", "nan", "na", "n/a", "null", "?", "-", "#n/a", "<na>"})
# A column whose present cells are at least this share of numbers, with at most
# ODD_VALUES distinct other words, is numeric and the words are missing values.
NUMERIC_SHARE = 0.9
ODD_VALUES = 3
# What pandas reads as NaN by default: the target keeps pandas' reading (a "?" in a
# regression target stays visible to data.integrity, as before tables were parsed here).
_PANDAS_NA = frozenset(
    {
        "",
        "#N/A",
        "#N/A N/A",
        "#NA",
        "-1.#IND",
        "-1.#QNAN",
        "-NaN",
        "-nan",
        "1.#IND",
        "1.#QNAN",
        "<NA>",
        "N/A",
        "NA",
        "NULL",
        "NaN",
        "None",
        "n/a",
        "nan",
        "null",
    }
)
# float64 holds every integer up to this magnitude exactly, and not all beyond it.
EXACT_INTEGERS = 2**53
_THOUSANDS_DOT = r"(?<=\d)\.(?=\d{3}(?:[.,]|$))"


@dataclass(frozen=True)
class Column:
    """One column of a table file, as found."""

    name: str
    number: np.ndarray | None  # float64 (n,) when numeric: NaN where missing
    text: np.ndarray | None  # object (n,) stripped cells when text: None where missing
    missing: np.ndarray  # bool (n,)
    markers: dict[str, int] = field(default_factory=dict)  # "NA" -> 12, "" -> 3 (as written)
    odd: dict[str, int] = field(default_factory=dict)  # words among numbers, counted as missing
    # integers written beyond 2**53 that float64 cannot tell apart: (distinct as written,
    # distinct as floats, largest magnitude); None when every number is exact
    inexact: tuple[int, int, float] | None = None

    @property
    def numeric(self) -> bool:
        return self.number is not None

    def __len__(self) -> int:
        return int(self.missing.shape[0])

    def labels(self) -> np.ndarray:
        """Cell values as text (None where missing): the text, or numbers named like
        labels ("1", not "1.0"), for numeric columns used as categories."""
        if self.text is not None:
            return self.text
        assert self.number is not None
        return number_names(self.number)

    def with_missing(self, extra: np.ndarray, marker_counts: dict[str, int]) -> Column:
        """This column with more cells missing (declared ``na_values``)."""
        if not extra.any():
            return self
        missing = self.missing | extra
        number = None if self.number is None else np.where(extra, np.nan, self.number)
        text = None
        if self.text is not None:
            text = self.text.copy()
            text[extra] = None
        markers = dict(self.markers)
        for k, v in marker_counts.items():
            markers[k] = markers.get(k, 0) + v
        return Column(self.name, number, text, missing, markers, self.odd, self.inexact)


@dataclass(frozen=True)
class RawTable:
    """The candidate feature columns of one table file, in file order."""

    columns: tuple[Column, ...]
    n_rows: int
    source: str = ""
    dialect: Dialect | None = None  # CSVs: how the file was read

    def where(self, row: int) -> str:
        """Where data row ``row`` is, for messages: a CSV line, or a parquet data row."""
        if self.dialect is None:
            return f"data row {row + 1}"
        return f"line {line_of_row(self.source, row, self.dialect)}"

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def parse_column(name: str, values: Any, decimal: str = ".") -> Column:
    """Read one column (a pandas Series of any dtype) into a ``Column``."""
    import pandas as pd
    from pandas.api import types as pdt

    dtype = values.dtype
    if pdt.is_numeric_dtype(dtype) and not pdt.is_bool_dtype(dtype):
        number = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        missing = np.isnan(number)
        markers = {"NaN": int(missing.sum())} if missing.any() else {}
        inexact = None
        if dtype.kind in "iu" and dtype.itemsize == 8 and _beyond_exact(number):
            inexact = _lost_integers(values.to_numpy(dtype=dtype.type, na_value=0), number)
        return Column(name, number, None, missing, markers, inexact=inexact)
    s = _as_text(values)
    missing = s.isna().to_numpy() | s.str.lower().isin(MISSING_MARKERS).to_numpy(dtype=bool)
    markers = _counts(s[missing].fillna("<null>"))
    present = ~missing
    n_present = int(present.sum())
    if n_present == 0:
        return Column(name, np.full(len(s), np.nan), None, missing, markers)
    number = _numbers_via_uniques(s.where(present), decimal)
    is_num = ~np.isnan(number) & present
    n_num = int(is_num.sum())
    if n_num == n_present:
        return Column(name, number, None, missing, markers, inexact=_inexact_text(s, number))
    odd_mask = present & ~is_num
    if n_num >= NUMERIC_SHARE * n_present:
        odd = _counts(s[odd_mask])
        if len(odd) <= ODD_VALUES:
            inexact = _inexact_text(s, number)
            return Column(name, number, None, missing | odd_mask, markers, odd, inexact)
    text = s.to_numpy(dtype=object, na_value=None)
    text[missing] = None
    return Column(name, None, text, missing, markers)


def precision_note(label: str, exact: int, as_float: int, peak: float) -> str:
    """Why the network sees fewer distinct values than the file holds (a note, not a
    failure: the values are valid, only not exact once the engines make them floats)."""
    return (
        f"feature {label}: integers up to {peak:.3g} are not exact as floats"
        f" (exact only up to 2**53): its {exact} distinct values become {as_float}"
    )


def _beyond_exact(number: np.ndarray) -> bool:
    finite = number[np.isfinite(number)]
    return bool(finite.size) and float(np.abs(finite).max()) > EXACT_INTEGERS


def _lost_integers(ints: np.ndarray, number: np.ndarray) -> tuple[int, int, float] | None:
    """How many distinct integers float64 merges: ``ints`` exact, ``number`` as floats."""
    ok = np.isfinite(number)
    exact, as_float = np.unique(ints[ok]).size, np.unique(number[ok]).size
    if as_float >= exact:
        return None
    return exact, as_float, float(np.abs(number[ok]).max())


def _inexact_text(s: Any, number: np.ndarray) -> tuple[int, int, float] | None:
    """``_lost_integers`` for cells read as text: integers as written (IDs, nanosecond
    timestamps near 2**62) are compared as integers, the rest as the floats they are."""
    import pandas as pd

    if not _beyond_exact(number):
        return None
    ok = np.isfinite(number)
    cells = pd.Series(s[ok].to_numpy(dtype=object), dtype="string").str.strip()
    whole = cells.str.fullmatch(r"[+-]?\d+").fillna(False).to_numpy(dtype=bool)
    ints = pd.to_numeric(cells[whole], errors="coerce")
    if ints.dtype.kind not in "iu":  # beyond 64 bits: exactness cannot be judged here
        return None
    floats = number[ok]
    exact = np.unique(ints.to_numpy()).size + np.unique(floats[~whole]).size
    as_float = np.unique(floats).size
    if as_float >= exact:
        return None
    return exact, as_float, float(np.abs(floats).max())


def to_numbers(s: Any, decimal: str = ".") -> np.ndarray:
    """Text cells as float64 (NaN where not a number); with a decimal comma, `1.234,5`
    and `1234,5` are both 1234.5."""
    import pandas as pd

    if decimal == ",":
        s = s.str.replace(_THOUSANDS_DOT, "", regex=True).str.replace(",", ".", regex=False)
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _numbers_via_uniques(s: Any, decimal: str) -> np.ndarray:
    """``to_numbers`` on each distinct cell once: a column of words holds few distinct
    values, and parsing 50,000 words one by one is the slowest part of reading a table."""
    import pandas as pd

    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    parsed = to_numbers(pd.Series(uniques, dtype="string"), decimal)
    out = np.full(len(codes), np.nan)
    ok = codes >= 0
    out[ok] = parsed[codes[ok]]
    return out


def target_values(values: Any, decimal: str = ".") -> np.ndarray:
    """The target column as pandas would type it: int64 / float64 (NaN for its NA cells) /
    bool when every value fits, else the stripped text with NaN for NA cells."""
    from pandas.api import types as pdt

    if not (pdt.is_object_dtype(values.dtype) or pdt.is_string_dtype(values.dtype)):
        return values.to_numpy()
    s = _as_text(values)
    na = s.isna().to_numpy() | s.isin(_PANDAS_NA).to_numpy(dtype=bool)
    number = to_numbers(s.where(~na), decimal)
    if np.all(~np.isnan(number) | na):
        if not na.any() and np.all(number == np.round(number)) and np.all(np.abs(number) < 2**53):
            return number.astype(np.int64)
        return number
    lower = s.str.lower()
    if not na.any() and set(lower.unique()) <= {"true", "false"}:
        return (lower == "true").to_numpy(dtype=bool)
    out = s.to_numpy(dtype=object, na_value=np.nan)
    out[na] = np.nan
    return out


def number_names(values: np.ndarray) -> np.ndarray:
    """Numbers as label text: integral values without ".0"; None for NaN."""
    out = np.full(len(values), None, dtype=object)
    ok = ~np.isnan(values)
    if ok.any():
        uniq, inverse = np.unique(values[ok], return_inverse=True)
        names = np.array([_number_name(float(v)) for v in uniq], dtype=object)
        out[ok] = names[inverse.ravel()]
    return out


def _number_name(v: float) -> str:
    if np.isfinite(v) and v == int(v):
        return str(int(v))
    return repr(v)


def _as_text(values: Any) -> Any:
    """A pandas string Series of stripped cells (NA where the cell is null)."""
    import pandas as pd

    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if not (str(s.dtype) in ("str", "string") or s.dtype == object):
        s = s.astype(object)
    return s.astype("string").str.strip()


def _counts(s: Iterable[Any]) -> dict[str, int]:
    import pandas as pd

    counts = pd.Series(s, dtype=object).value_counts(sort=True)
    return {str(k): int(v) for k, v in counts.items()}


def joint_codes(parts: list[np.ndarray]) -> list[np.ndarray]:
    """Integer codes of object values over several arrays together (-1 for None/NaN): the
    same value gets the same code in every part, so rows can be compared across files."""
    import pandas as pd

    sizes = [len(p) for p in parts]
    joined = np.concatenate([np.asarray(p, dtype=object) for p in parts]) if parts else np.zeros(0)
    codes, _ = pd.factorize(joined, use_na_sentinel=True)
    codes = codes.astype(np.int64)
    return np.split(codes, np.cumsum(sizes)[:-1])
