"""What the data layer found and decided about a table's columns, for checks to report.

Plain data only (names, counts, row numbers), built once by ``table_plan`` and read by
``data.identifiers``, ``data.missing_values`` and ``data.categories``: the checks report
and judge, the data layer decides, and neither does the other's work. Row numbers are
0-based data rows of the file they come from, like every other check's examples.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ROWS_SHOWN = 20


@dataclass(frozen=True)
class ColumnReport:
    name: str
    kind: str  # numeric | categorical | ordinal
    role: str  # feature | identifier | dropped | group | empty
    why: str = ""  # why it is not a feature (identifier evidence, "data.drop", ...)
    # missing cells, counted over the whole train file and the whole test file
    missing: int = 0
    missing_rows: tuple[int, ...] = ()  # first ROWS_SHOWN rows of the train file
    missing_test: int = 0
    missing_rows_test: tuple[int, ...] = ()
    markers: dict[str, int] = field(default_factory=dict)  # how the missing cells were written
    odd: dict[str, int] = field(default_factory=dict)  # words among numbers (counted missing)
    declared: dict[str, int] = field(default_factory=dict)  # data.na_values that matched
    # encoding (features only), learnt from the training rows
    levels: tuple[str, ...] = ()
    rare: tuple[str, ...] = ()  # first ROWS_SHOWN values bucketed as <rare>
    rare_values: int = 0
    rare_rows: int = 0
    missing_level: bool = False
    fill: float | None = None
    indicator: bool = False
    order: tuple[str, ...] = ()
    # test rows whose value train never had (categorical features)
    unseen: int = 0
    unseen_values: dict[str, int] = field(default_factory=dict)
    unseen_rows: tuple[int, ...] = ()  # source rows of the test split


@dataclass(frozen=True)
class RowSet:
    """Some rows of one file: how many, and the first few."""

    count: int = 0
    rows: tuple[int, ...] = ()


@dataclass(frozen=True)
class TableReport:
    columns: tuple[ColumnReport, ...]
    identifiers: tuple[tuple[str, str], ...]  # (column, evidence), found in the train file
    identifiers_kept: tuple[str, ...]  # of those, kept as features (recipe said so)
    missing_mode: str  # error | drop | impute
    n_rows: int  # rows of the train file
    n_rows_test: int | None  # rows of the test file (None: test is a fraction of train)
    dropped: RowSet = RowSet()  # rows dropped for missing values (data.missing: drop)
    dropped_test: RowSet = RowSet()
    target_missing: RowSet = RowSet()  # rows without a target (dropped unless missing: error)
    target_missing_test: RowSet = RowSet()
    incomplete: RowSet = RowSet()  # rows with at least one missing feature value
    incomplete_test: RowSet = RowSet()
    sparse: RowSet = RowSet()  # rows missing at least half of their feature values
    sparse_test: RowSet = RowSet()
    unseen: RowSet = RowSet()  # test rows (source rows) with a category train never had
    identity_columns: tuple[str, ...] = ()  # columns of Split.x_identity
    identity_numeric: tuple[bool, ...] = ()  # which of them hold raw numbers
    record_columns: tuple[str, ...] = ()  # identifiers naming the record (Split.record_keys)
    group_column: str | None = None
    group_missing: int = 0
    dialects: tuple[str, ...] = ()

    @property
    def features(self) -> tuple[ColumnReport, ...]:
        return tuple(c for c in self.columns if c.role == "feature")

    def column(self, name: str) -> ColumnReport:
        return next(c for c in self.columns if c.name == name)
