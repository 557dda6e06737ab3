"""data.missing_values: missing cells per column, sentinel codes, rows with little left."""

from __future__ import annotations

from typing import Any

import numpy as np

from nncheck.checks._neighbors_cache import pct, plural
from nncheck.checks.context import Context
from nncheck.checks.registry import COUNT, FRACTION, RATIO, check
from nncheck.data.sentinels import find_sentinels
from nncheck.data.table_report import ColumnReport, TableReport
from nncheck.errors import shown
from nncheck.results import CheckOutcome, result

MAX_EXAMPLES = 30


@check(
    "data.missing_values",
    stage="data",
    defaults={
        "warn_fraction": 0.0,
        "sentinel_min_count": 3,
        "sentinel_gap": 4.0,
        "sentinel_max_share": 0.5,
    },
    requires=("table", "any_target"),
    ranges={
        "warn_fraction": FRACTION,
        "sentinel_min_count": COUNT,
        "sentinel_gap": RATIO,
        "sentinel_max_share": FRACTION,
    },
)
def data_missing_values(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """Missing cells and sentinel codes per column, rows missing most values, what was done.

    Per column: how the missing values were written and which rows; sentinel codes; rows
    missing most of their values; what `data.missing` did with them.

    Why: a missing value reaches the network as NaN (every loss turns NaN) or, worse, as a
    silent default; `?`, `NA`, empty cells and `-` from spreadsheet exports, and numeric
    codes such as a 0 blood pressure or a -1 "never", pass every type check and train the
    model on values that were never measured.
    Cells empty or written `NaN`, `?`, `NA`, `N/A`, `null`, `-` (any case), a few words in
    a numeric column, and the recipe's `data.na_values` are missing; they are counted per
    column over the train file and the test file, with the first rows. Sentinel codes are
    found from evidence in the column (nncheck/data/sentinels.py): zeros standing apart
    from an otherwise positive column (the smallest positive value at least `sentinel_gap`
    (4) typical steps above 0; a 0 blood pressure next to values from 24 in steps of 2)
    that are a spike, not the column's main value (at most `sentinel_max_share`, 50%, of
    its cells: a discount or a zoning share that is 0 in most rows is honest), -1/-9/-99/
    -999/-9999 in a column otherwise >= 0, and 99/999/9999 far above every other value,
    each at least `sentinel_min_count` (3) times. A count whose zeros are its smallest
    values (0, 1, 2 ... pregnancies) has no sentinel.
    They are reported, never changed: declare them with `data.na_values`.
    Fails when feature values are missing and `data.missing` is `error` (the default);
    warns when more than `warn_fraction` (0) of the rows had a missing feature value that
    was imputed or dropped, when sentinel codes are likely, and when rows miss at least half
    of their feature values. Missing cells in identifier or dropped columns are listed, not
    judged.
    Fix: choose `data.missing: impute` (train medians plus a `column=<missing>` feature;
    categories get a `<missing>` value) or `drop`; declare codes as missing with
    `data.na_values: {column: [0]}`; drop rows that hold almost nothing.
    """
    ds = ctx.dataset
    table = ds.table
    assert table is not None
    mode = table.missing_mode
    n_rows = table.n_rows + (table.n_rows_test or 0)
    features = table.features
    with_missing = [c for c in features if c.missing + c.missing_test]
    cells = sum(c.missing + c.missing_test for c in with_missing)
    others = [c for c in table.columns if c.role != "feature" and c.missing + c.missing_test]
    sentinels = _sentinels(
        ds,
        table,
        int(t["sentinel_min_count"]),
        float(t["sentinel_gap"]),
        float(t["sentinel_max_share"]),
    )
    rows_hit = table.incomplete.count + table.incomplete_test.count
    sparse = table.sparse.count + table.sparse_test.count

    metrics: dict[str, Any] = {
        "missing_mode": mode,
        "rows": n_rows,
        "missing_cells": cells,
        "columns_with_missing": [c.name for c in with_missing],
        "missing_by_column": {c.name: c.missing + c.missing_test for c in with_missing},
        "rows_with_missing": rows_hit,
        "rows_mostly_missing": sparse,
        "rows_dropped": table.dropped.count + table.dropped_test.count,
        "rows_without_target": table.target_missing.count + table.target_missing_test.count,
        "sentinels": {name: [s.value for s in found] for name, found in sentinels.items()},
        "missing_in_other_columns": {c.name: c.missing + c.missing_test for c in others},
    }
    examples: list[dict[str, Any]] = []
    for c in with_missing:
        examples.append(_column_example(c, table))
    for name, found in sentinels.items():
        for s in found:
            examples.append({"column": name, "sentinel": s.value, "count": s.count, "why": s.why})
    if sparse:
        examples.append(
            {
                "problem": "at least half of the feature values missing",
                "rows": list(table.sparse.rows),
                "test_file_rows": list(table.sparse_test.rows),
            }
        )

    fails: list[str] = []
    warns: list[str] = []
    hints: list[str] = []
    said = _said(with_missing, n_rows)
    if with_missing and mode == "error":
        fails.append(f"{plural(cells, 'missing value')} in {said}; data.missing is error")
        hints.append(
            "Choose what the model gets: `data.missing: impute` (train medians and a "
            "`column=<missing>` feature) or `data.missing: drop` (rows with a missing value)."
        )
    elif with_missing and rows_hit / max(n_rows, 1) > float(t["warn_fraction"]):
        done = (
            f"{table.dropped.count + table.dropped_test.count} rows dropped"
            if mode == "drop"
            else "imputed from train: " + ", ".join(_given(c, mode) for c in with_missing[:6])
        )
        warns.append(f"{plural(cells, 'missing value')} in {said}; {done}")
        hints.append(
            "Missing values were "
            + ("dropped" if mode == "drop" else "imputed")
            + " as data.missing says; check that they are missing at random (a column "
            "missing mostly for one class leaks the label through its <missing> feature)."
        )
    if sentinels:
        listed = "; ".join(f"{name}: {s.why}" for name, found in sentinels.items() for s in found)
        warns.append(f"likely sentinel codes (reported, not changed): {listed}")
        first = next(iter(sentinels.items()))
        hints.append(
            "If these codes mean 'not measured', declare them missing: `data.na_values: "
            f"{{{first[0]}: [{first[1][0].value:g}]}}`."
        )
    if sparse:
        rows = ", ".join(map(str, table.sparse.rows[:10] or table.sparse_test.rows[:10]))
        warns.append(f"{plural(sparse, 'row')} miss at least half of their feature values ({rows})")
        hints.append("Rows that hold almost nothing teach nothing: drop them from the file.")
    lost = table.target_missing.count + table.target_missing_test.count
    if lost and mode != "error":
        warns.append(f"{plural(lost, 'row')} without a target dropped")

    parts = fails + warns
    status = "fail" if fails else "warn" if warns else "pass"
    if not parts:
        message = f"no missing values in {plural(len(features), 'feature column')}"
        message += "; no sentinel codes"
        if with_missing:  # below warn_fraction
            message = f"{plural(cells, 'missing value')} in {said} (below the warning level)"
    else:
        message = "; ".join(parts)
    if others:
        message += "; also missing in columns that are not features: " + ", ".join(
            f"{c.name} {c.missing + c.missing_test}" for c in others
        )
    artifacts = {"tables": {"missing values": _table(table, n_rows)}}
    return result(
        status,
        message,
        hint=" ".join(dict.fromkeys(hints)),
        metrics=metrics,
        examples=examples[:MAX_EXAMPLES],
        artifacts=artifacts,
    )


def _said(columns: list[ColumnReport], n_rows: int) -> str:
    shown = ", ".join(
        f"{c.name} {c.missing + c.missing_test} ({pct(c.missing + c.missing_test, n_rows)},"
        f" {_markers(c)})"
        for c in columns[:8]
    )
    more = f", ... {len(columns)} columns in all" if len(columns) > 8 else ""
    return f"{plural(len(columns), 'column')}: {shown}{more}"


def _markers(c: ColumnReport) -> str:
    written = {("empty" if k == "" else repr(k)): v for k, v in c.markers.items()}
    written.update({f"{k!r} (declared)": v for k, v in c.declared.items()})
    written.update({f"{shown(k, 40)} (a word among numbers)": v for k, v in c.odd.items()})
    return ", ".join(f"{k} x{v}" for k, v in list(written.items())[:4])


def _given(c: ColumnReport, mode: str) -> str:
    """What the model gets for this column's missing cells, in words."""
    if mode == "error":
        return f"{c.name}: NaN"
    if mode == "drop":
        return f"{c.name}: rows dropped"
    if c.kind == "categorical":
        if c.missing_level:
            return f"{c.name}: its own value {c.name}=<missing>"
        return f"{c.name}: no value (missing only in test)"
    fill = f"{c.name}: median {c.fill:.4g}" if c.fill is not None else c.name
    return fill + (f" + {c.name}=<missing>" if c.indicator else "")


def _column_example(c: ColumnReport, table: TableReport) -> dict[str, Any]:
    ex: dict[str, Any] = {
        "column": c.name,
        "missing": c.missing + c.missing_test,
        "written": {("" if k == "" else k): v for k, v in c.markers.items()},
        "rows": list(c.missing_rows),
    }
    if table.n_rows_test is not None:
        ex["test_file_rows"] = list(c.missing_rows_test)
    if c.odd:
        ex["words_among_numbers"] = dict(c.odd)
    if c.declared:
        ex["declared"] = dict(c.declared)
    if c.fill is not None:
        ex["imputed_with"] = c.fill
    return ex


def _sentinels(
    ds: Any, table: TableReport, min_count: int, gap: float, max_share: float
) -> dict[str, list[Any]]:
    """Sentinel codes per numeric feature column, over both splits' raw values."""
    tr, te = ds.train.x_identity, ds.test.x_identity
    if tr is None or te is None:
        return {}
    both = np.concatenate([tr, te]) if len(te) else tr
    out = {}
    for j, (name, numeric) in enumerate(zip(table.identity_columns, table.identity_numeric)):
        if not numeric:
            continue
        found = find_sentinels(both[:, j], min_count, gap, max_share)
        declared = table.column(name).declared
        found = [s for s in found if f"{s.value:g}" not in declared]
        if found:
            out[name] = found
    return out


def _table(table: TableReport, n_rows: int) -> dict[str, Any]:
    rows = []
    for c in table.columns:
        total = c.missing + c.missing_test
        if not total:
            continue
        rows.append(
            [
                c.name,
                c.role,
                total,
                round(100 * total / max(n_rows, 1), 1),
                _markers(c),
                ", ".join(map(str, c.missing_rows[:8])),
                "(not a feature)" if c.role != "feature" else _given(c, table.missing_mode),
            ]
        )
    return {
        "columns": [
            "column",
            "role",
            "missing",
            "%",
            "written as",
            "first rows",
            "given to the model",
        ],
        "rows": rows,
    }
