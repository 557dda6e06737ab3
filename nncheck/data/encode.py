"""Table columns -> the numeric matrix the engines get, fitted on training rows only.

- numeric columns pass through; ordinal columns become their rank in the recipe's order;
- categorical columns become one 0/1 feature per value, named ``column=value``. Values seen
  fewer than ``min_count`` times in train (or 1% of the train rows, when that is fewer: a
  small table keeps its values), and all beyond the ``max_levels`` most frequent, share one
  ``column=<rare>`` feature, so the width stays bounded and no feature exists to memorize
  one row. A test value never seen in train goes to ``<rare>`` too (or to no feature when
  there is no rare bucket) and is counted, for ``data.categories`` to report.
- missing values (``data.missing``): ``error`` keeps them as NaN (data.integrity and
  data.missing_values then fail and no model is trained on them); ``impute`` fills numeric
  and ordinal cells with the train median and adds a ``column=<missing>`` 0/1 feature, and
  gives categorical cells a ``column=<missing>`` value of their own, when train has missing
  cells in that column; ``drop`` removes the rows before the split (table_plan), so what
  reaches this module is complete.

Everything that is learnt from data — kept values, rare buckets, medians — comes from the
training rows; the test rows are only transformed, so nothing about test leaks into what
the model is fed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nncheck.data.tables import Column

RARE = "<rare>"
MISSING = "<missing>"
# Feature kinds: numeric and ordinal features are normalized; indicators stay 0/1.
INDICATOR_KINDS = frozenset({"onehot", "missing_indicator"})


@dataclass(frozen=True)
class ColumnEncoding:
    """How one column becomes features (learnt from the training rows)."""

    name: str
    kind: str  # numeric | categorical | ordinal
    levels: tuple[str, ...] = ()  # categorical: one feature per value
    rare: tuple[str, ...] = ()  # train values bucketed as <rare> (most frequent first)
    rare_rows: int = 0  # train rows in <rare>
    missing_level: bool = False  # categorical: a <missing> feature
    order: tuple[str, ...] = ()  # ordinal: values lowest first
    fill: float | None = None  # numeric/ordinal: the train median used for missing cells
    indicator: bool = False  # numeric/ordinal: a <missing> 0/1 feature

    @property
    def has_rare(self) -> bool:
        return bool(self.rare)

    def features(self) -> list[tuple[str, str]]:
        """(name, kind) of each feature this column becomes, in order."""
        if self.kind == "categorical":
            out = [(f"{self.name}={v}", "onehot") for v in self.levels]
            if self.has_rare:
                out.append((f"{self.name}={RARE}", "onehot"))
            if self.missing_level:
                out.append((f"{self.name}={MISSING}", "onehot"))
            return out
        out = [(self.name, self.kind)]
        if self.indicator:
            out.append((f"{self.name}={MISSING}", "missing_indicator"))
        return out


@dataclass(frozen=True)
class Unseen:
    """Test cells of one categorical column whose value train never had."""

    count: int
    values: dict[str, int]  # value -> rows, most frequent first (at most 20)
    positions: np.ndarray  # positions of those rows among the transformed rows


@dataclass(frozen=True)
class Encoded:
    x: np.ndarray  # float64 (n, features)
    unseen: dict[str, Unseen] = field(default_factory=dict)


@dataclass(frozen=True)
class TableEncoder:
    columns: tuple[ColumnEncoding, ...]
    missing: str

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(name for c in self.columns for name, _ in c.features())

    @property
    def feature_kinds(self) -> tuple[str, ...]:
        return tuple(kind for c in self.columns for _, kind in c.features())

    @classmethod
    def fit(
        cls,
        columns: Sequence[Column],
        kinds: dict[str, str],
        rows: np.ndarray,
        *,
        missing: str,
        max_levels: int,
        min_count: int,
        orders: dict[str, tuple[str, ...]],
    ) -> TableEncoder:
        """Learn each column's encoding from the training ``rows`` (positions in the file)."""
        min_count = min(min_count, max(1, math.ceil(0.01 * len(rows))))
        fitted = []
        for col in columns:
            kind = kinds[col.name]
            has_missing = bool(col.missing[rows].any())
            if kind == "categorical":
                fitted.append(
                    _fit_categorical(col, rows, max_levels, min_count, missing, has_missing)
                )
                continue
            values = col.number[rows] if kind == "numeric" else _ranks(col, orders[col.name])[rows]  # type: ignore[index]
            fill, indicator = None, False
            if missing != "error":
                present = values[~np.isnan(values)]
                fill = float(np.median(present)) if present.size else 0.0
                indicator = has_missing
            fitted.append(
                ColumnEncoding(
                    col.name, kind, order=orders.get(col.name, ()), fill=fill, indicator=indicator
                )
            )
        return cls(tuple(fitted), missing)

    def transform(self, columns: Sequence[Column], rows: np.ndarray) -> Encoded:
        """The features of ``rows`` (positions in the file ``columns`` come from)."""
        import pandas as pd

        n = len(rows)
        width = sum(len(c.features()) for c in self.columns)
        x = np.zeros((n, width), dtype=np.float64)
        unseen: dict[str, Unseen] = {}
        j = 0
        for enc, col in zip(self.columns, columns, strict=True):
            miss = col.missing[rows]
            if enc.kind != "categorical":
                values = col.number[rows] if enc.kind == "numeric" else _ranks(col, enc.order)[rows]  # type: ignore[index]
                if enc.fill is not None:
                    values = np.where(miss, enc.fill, values)
                x[:, j] = values
                if enc.indicator:
                    x[:, j + 1] = miss
                j += len(enc.features())
                continue
            labels = col.labels()[rows]
            codes = _codes(labels, enc.levels)
            other = (codes < 0) & ~miss
            if other.any():
                is_rare = pd.Series(labels[other], dtype=object).isin(set(enc.rare)).to_numpy()
                new = np.flatnonzero(other)[~is_rare]
                if new.size:
                    counts = pd.Series(labels[new], dtype=object).value_counts()
                    unseen[enc.name] = Unseen(
                        int(new.size),
                        {str(k): int(v) for k, v in counts.head(20).items()},
                        new,
                    )
                if enc.has_rare:
                    codes[other] = len(enc.levels)
            if enc.missing_level:
                codes[miss] = len(enc.levels) + int(enc.has_rare)
            block = len(enc.features())
            hit = codes >= 0
            x[np.flatnonzero(hit), j + codes[hit]] = 1.0
            if self.missing == "error" and miss.any():
                x[np.flatnonzero(miss), j : j + block] = np.nan
            j += block
        return Encoded(x, unseen)


def _fit_categorical(
    col: Column, rows: np.ndarray, max_levels: int, min_count: int, missing: str, has_missing: bool
) -> ColumnEncoding:
    import pandas as pd

    labels = col.labels()[rows]
    present = labels[~col.missing[rows]]
    counts = pd.Series(present, dtype=object).value_counts()
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], _sort_key(kv[0])))
    kept = [v for v, c in ranked if c >= min_count][:max_levels]
    kept_set = set(kept)
    rare = tuple(str(v) for v, _ in ranked if v not in kept_set)
    rare_rows = int(sum(c for v, c in ranked if v not in kept_set))
    levels = tuple(sorted((str(v) for v in kept), key=_sort_key))
    return ColumnEncoding(
        col.name,
        "categorical",
        levels=levels,
        rare=rare,
        rare_rows=rare_rows,
        missing_level=missing != "error" and has_missing,
    )


def _sort_key(value: Any) -> tuple[int, float, str]:
    """Numbers in numeric order before words in alphabetical order."""
    text = str(value)
    try:
        return (0, float(text), text)
    except ValueError:
        return (1, 0.0, text)


def _ranks(col: Column, order: tuple[str, ...]) -> np.ndarray:
    """An ordinal column as ranks 0..k-1 in the declared order (NaN where missing).
    table_plan has checked that every present value is in the order."""

    codes = _codes(col.labels(), order).astype(np.float64)
    codes[codes < 0] = np.nan
    return codes


def _codes(labels: np.ndarray, levels: Sequence[str]) -> np.ndarray:
    """Position of each label in ``levels`` (-1 when absent or missing), vectorized."""
    import pandas as pd

    return pd.Index(list(levels), dtype=object).get_indexer(labels).astype(np.int64)


def indicator_mask(kinds: Sequence[str]) -> np.ndarray:
    """Which features are 0/1 indicators (kept as they are by the normalization)."""
    return np.array([k in INDICATOR_KINDS for k in kinds], dtype=bool)
