"""A table's roles and rows, decided before the split; its encoding, fitted after it.

``plan_table`` runs on the files as read (train, and test when it is a file): it applies the
recipe's ``na_values``, decides each column's role (feature, identifier, group, dropped,
empty) and kind (numeric, categorical, ordinal), drops rows for ``data.missing: drop``
(and rows without a target unless ``missing: error``), and builds what needs both files at
once: the raw-row identity and group codes (the same value gets the same code in either
file). ``TablePlan.encode`` then fits the encoding on the training rows of the split and
transforms both splits (encode.py), and writes down everything for the report
(table_report.py). Nothing is learnt from test rows.

Exact duplicates and leakage are judged on ``identity``: the raw rows as numbers
(categories as codes over both files), without identifier columns. Not on the encoded
features, where two different rare values share ``<rare>`` and would look like copies;
not with identifiers, which make every row unique.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from nncheck.data.encode import TableEncoder
from nncheck.data.loaders import RawSplit
from nncheck.data.roles import find_identifiers
from nncheck.data.table_report import ROWS_SHOWN, ColumnReport, RowSet, TableReport
from nncheck.data.tables import Column, RawTable, joint_codes, precision_note, to_numbers
from nncheck.errors import DataError, shown
from nncheck.recipe.schema import DataSection


@dataclass(frozen=True)
class Encoded:
    """The table part of a Dataset: encoded features and raw identity of both splits."""

    x_train: np.ndarray
    x_test: np.ndarray
    feature_names: tuple[str, ...]
    feature_kinds: tuple[str, ...]
    identity_train: np.ndarray
    identity_test: np.ndarray
    groups_train: np.ndarray | None
    groups_test: np.ndarray | None
    records_train: np.ndarray | None
    records_test: np.ndarray | None
    report: TableReport


@dataclass(frozen=True)
class TablePlan:
    train: RawSplit  # kept rows only (y_raw, y2_raw, table)
    test: RawSplit | None
    train_rows: np.ndarray  # file row of each kept train row
    test_rows: np.ndarray | None
    kinds: dict[str, str]  # feature column -> numeric | categorical | ordinal
    orders: dict[str, tuple[str, ...]]
    identity: np.ndarray  # (kept train rows, features) float64
    identity_test: np.ndarray | None
    groups: np.ndarray | None  # group code per kept train row (-1: missing)
    groups_test: np.ndarray | None
    records: np.ndarray | None  # record key per kept train row (names, ids left out)
    records_test: np.ndarray | None
    data: DataSection
    report: TableReport
    features: tuple[str, ...] = field(default_factory=tuple)

    def columns(self, split: RawSplit) -> list[Column]:
        assert split.table is not None
        by_name = {c.name: c for c in split.table.columns}
        return [by_name[n] for n in self.features]

    def split_groups(self) -> np.ndarray | None:
        """Group codes for the fraction split: a row without a group is a group of its own."""
        if self.groups is None:
            return None
        g = self.groups.copy()
        lone = g < 0
        g[lone] = g.max(initial=-1) + 1 + np.arange(int(lone.sum()))
        return g

    def encode(self, tr: np.ndarray, te: np.ndarray) -> Encoded:
        """Fit on train positions ``tr``; ``te`` are positions in the test file when there
        is one, else in the (kept) train file."""
        one_hot = self.data.one_hot
        train_cols = self.columns(self.train)
        enc = TableEncoder.fit(
            train_cols,
            self.kinds,
            tr,
            missing=self.data.missing,
            max_levels=one_hot.max_levels,
            min_count=one_hot.min_count,
            orders=self.orders,
        )
        from_file = self.test is not None
        test_cols = self.columns(self.test) if from_file else train_cols  # type: ignore[arg-type]
        out_tr = enc.transform(train_cols, tr)
        out_te = enc.transform(test_cols, te)
        te_rows = (self.test_rows if from_file else self.train_rows)[te]  # type: ignore[index]
        by_name = {c.name: c for c in enc.columns}
        columns = []
        for rep in self.report.columns:
            c = by_name.get(rep.name)
            if c is None:
                columns.append(rep)
                continue
            unseen = out_te.unseen.get(rep.name)
            columns.append(
                replace(
                    rep,
                    levels=c.levels,
                    rare=c.rare[:ROWS_SHOWN],
                    rare_values=len(c.rare),
                    rare_rows=c.rare_rows,
                    missing_level=c.missing_level,
                    fill=c.fill,
                    indicator=c.indicator,
                    order=c.order,
                    unseen=unseen.count if unseen else 0,
                    unseen_values=unseen.values if unseen else {},
                    unseen_rows=tuple(int(r) for r in te_rows[unseen.positions[:ROWS_SHOWN]])
                    if unseen
                    else (),
                )
            )
        hit = [u.positions for u in out_te.unseen.values()]
        unseen = np.unique(np.concatenate(hit)) if hit else np.zeros(0, dtype=np.int64)
        unseen_rows = RowSet(int(unseen.size), tuple(int(r) for r in te_rows[unseen[:ROWS_SHOWN]]))
        id_te = self.identity_test if from_file else self.identity
        g_te = self.groups_test if from_file else self.groups
        r_te = self.records_test if from_file else self.records
        return Encoded(
            out_tr.x,
            out_te.x,
            enc.feature_names,
            enc.feature_kinds,
            self.identity[tr],
            id_te[te],  # type: ignore[index]
            None if self.groups is None else self.groups[tr],
            None if g_te is None else g_te[te],
            None if self.records is None else self.records[tr],
            None if r_te is None else r_te[te],
            replace(self.report, columns=tuple(columns), unseen=unseen_rows),
        )


def plan_table(
    data: DataSection, train: RawSplit, test: RawSplit | None, notes: list[str]
) -> TablePlan:
    """Roles, kinds and kept rows of a table (see the module docstring)."""
    assert train.table is not None
    table = train.table
    names = list(table.names)
    _check_recipe_columns(data, train, names)
    if test is not None:
        test = _align_test(train, test, data, notes)
    cols, declared = _declare_missing(table.columns, data)
    test_cols = test_declared = None
    if test is not None:
        assert test.table is not None
        test_cols, test_declared = _declare_missing(test.table.columns, data)

    roles: dict[str, tuple[str, str]] = {}
    for col in cols:
        if col.name == data.groups:
            roles[col.name] = ("group", "data.groups")
        elif data.features is not None and col.name not in data.features:
            roles[col.name] = ("dropped", "not in data.features")
        elif col.name in data.drop:
            roles[col.name] = ("dropped", "data.drop")
        elif col.missing.all():
            roles[col.name] = ("empty", "every value is missing")
        else:
            roles[col.name] = ("feature", "")
    found = find_identifiers([c for c in cols if roles[c.name][0] == "feature"])
    kept_ids = []
    for ident in found:
        if data.identifiers == "keep" or data.features is not None:
            kept_ids.append(ident.column)
        else:
            roles[ident.column] = ("identifier", ident.why)
    features = [c.name for c in cols if roles[c.name][0] == "feature"]
    if not features:
        left = [f"{n} ({why})" for n, (role, why) in roles.items() if role != "group"]
        raise DataError(
            f"{train.source}: no feature columns left: {'; '.join(left)}. Keep identifier"
            " columns with data.identifiers: keep, or list the columns in data.features"
        )
    kinds = {}
    for name in features:
        if name in data.ordinal:
            kinds[name] = "ordinal"
        elif name in data.categorical or not _column(cols, name).numeric:
            kinds[name] = "categorical"
        else:
            kinds[name] = "numeric"
    if test_cols is not None:
        test_cols = _match_kinds(test_cols, kinds)
    orders = {n: tuple(str(v) for v in data.ordinal[n]) for n in features if n in data.ordinal}
    _check_ordinal(orders, cols, table)
    if test_cols is not None and test is not None:
        assert test.table is not None
        _check_ordinal(orders, test_cols, test.table)

    feat_cols = [_column(cols, n) for n in features]
    keep, dropped, no_target = _kept_rows(feat_cols, train.y_raw, data.missing)
    test_keep = feat_test = None
    dropped_test = no_target_test = RowSet()
    if test_cols is not None and test is not None:
        feat_test = [_column(test_cols, n) for n in features]
        test_keep, dropped_test, no_target_test = _kept_rows(feat_test, test.y_raw, data.missing)

    # identity and groups, coded over both files together
    parts = [cols] if test_cols is None else [cols, test_cols]
    identity = _identity(parts, features, kinds)
    group_codes = None
    if data.groups is not None:
        group_codes = joint_codes([_column(p, data.groups).labels() for p in parts])
    record_columns = [
        i.column for i in found if not i.positional and roles[i.column][0] != "feature"
    ]
    records = _record_keys(parts, record_columns) if record_columns else None

    report = TableReport(
        columns=tuple(
            _column_report(
                c,
                roles[c.name],
                kinds.get(c.name),
                declared.get(c.name, {}),
                None if test_cols is None else _column(test_cols, c.name),
                (test_declared or {}).get(c.name, {}),
            )
            for c in cols
        ),
        identifiers=tuple((i.column, i.why) for i in found),
        identifiers_kept=tuple(kept_ids),
        missing_mode=data.missing,
        n_rows=table.n_rows,
        n_rows_test=None if test is None else len(test),
        dropped=dropped,
        dropped_test=dropped_test,
        target_missing=no_target,
        target_missing_test=no_target_test,
        incomplete=_incomplete_rows(feat_cols),
        incomplete_test=RowSet() if feat_test is None else _incomplete_rows(feat_test),
        sparse=_sparse_rows(feat_cols),
        sparse_test=RowSet() if feat_test is None else _sparse_rows(feat_test),
        identity_columns=tuple(features),
        record_columns=tuple(record_columns),
        identity_numeric=tuple(kinds[n] == "numeric" for n in features),
        group_column=data.groups,
        group_missing=int(_column(cols, data.groups).missing.sum()) if data.groups else 0,
        dialects=tuple(
            t.dialect.describe()
            for t in (table, test.table if test else None)
            if t is not None and t.dialect is not None
        ),
    )
    _add_notes(notes, report, kinds)
    for col in feat_cols:
        if col.inexact is not None and kinds[col.name] == "numeric":
            notes.append(precision_note(shown(col.name), *col.inexact))
    kept_train = _rows(train, keep, cols)
    kept_test = None if test is None else _rows(test, test_keep, test_cols)  # type: ignore[arg-type]
    return TablePlan(
        train=kept_train,
        test=kept_test,
        train_rows=np.flatnonzero(keep),
        test_rows=None if test_keep is None else np.flatnonzero(test_keep),
        kinds=kinds,
        orders=orders,
        identity=identity[0][keep],
        identity_test=None if test_keep is None else identity[1][test_keep],
        groups=None if group_codes is None else group_codes[0][keep],
        groups_test=None if group_codes is None or test_keep is None else group_codes[1][test_keep],
        records=None if records is None else records[0][keep],
        records_test=None if records is None or test_keep is None else records[1][test_keep],
        data=data,
        report=report,
        features=tuple(features),
    )


# --------------------------------------------------------------------------- recipe


def _check_recipe_columns(data: DataSection, train: RawSplit, names: list[str]) -> None:
    """Every column the recipe names exists and is not the target."""
    wanted: list[tuple[str, str]] = []
    wanted += [(f"data.categorical[{i}]", c) for i, c in enumerate(data.categorical)]
    wanted += [(f"data.ordinal.{c}", c) for c in data.ordinal]
    wanted += [(f"data.drop[{i}]", c) for i, c in enumerate(data.drop)]
    wanted += [(f"data.features[{i}]", c) for i, c in enumerate(data.features or [])]
    if isinstance(data.na_values, dict):
        wanted += [(f"data.na_values.{c}", c) for c in data.na_values]
    if data.groups is not None:
        wanted.append(("data.groups", data.groups))
    for key, name in wanted:
        targets = train.target if isinstance(train.target, tuple) else (train.target,)
        if name in targets:
            raise DataError(f"{key}: {name!r} is the target column, not a feature")
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            shown = ", ".join(repr(n) for n in names[:30])
            raise DataError(
                f"{key}: column {name!r} not found in {train.source} (columns: {shown}){hint}"
            )


def _declare_missing(
    columns: Sequence[Column], data: DataSection
) -> tuple[list[Column], dict[str, dict[str, int]]]:
    """Columns with the recipe's ``na_values`` marked missing, and what each matched."""
    out, declared = [], {}
    for col in columns:
        values = (
            data.na_values if isinstance(data.na_values, list) else data.na_values.get(col.name, [])
        )
        if not values:
            out.append(col)
            continue
        hit = np.zeros(len(col), dtype=bool)
        counts: dict[str, int] = {}
        for v in values:
            if col.number is not None:
                try:
                    m = col.number == float(v)
                except (TypeError, ValueError):
                    continue
            else:
                m = np.asarray(col.text == str(v), dtype=bool)
            m &= ~col.missing & ~hit
            if m.any():
                counts[str(v)] = int(m.sum())
                hit |= m
        declared[col.name] = counts
        out.append(col.with_missing(hit, counts))
    return out, declared


def _align_test(train: RawSplit, test: RawSplit, data: DataSection, notes: list[str]) -> RawSplit:
    assert train.table is not None
    if test.table is None:
        raise DataError(f"{test.source}: the test file must be a table like {train.source}")
    tr, te = list(train.table.names), list(test.table.names)
    needed = [c for c in tr if _used(c, data)]
    missing = [c for c in needed if c not in te]
    extra = [c for c in te if c not in tr]
    if missing or extra:
        raise DataError(
            f"{test.source}: feature columns differ from {train.source}:"
            f" missing in test {missing}, extra in test {extra}"
        )
    if [c for c in te if c in tr] != tr:
        notes.append("test: feature columns reordered to match train")
    return test


def _used(name: str, data: DataSection) -> bool:
    if name == data.groups:
        return True
    if data.features is not None:
        return name in data.features
    return name not in data.drop


def _match_kinds(test_cols: list[Column], kinds: dict[str, str]) -> list[Column]:
    """Test columns read like train's: numbers where train's column is numeric (words
    among them count as missing, as in a train column)."""
    import pandas as pd

    out = []
    for col in test_cols:
        if kinds.get(col.name) == "numeric" and col.text is not None:
            number = to_numbers(pd.Series(col.text, dtype="string"))
            odd_mask = ~col.missing & np.isnan(number)
            odd = pd.Series(col.text[odd_mask], dtype=object).value_counts()
            col = Column(
                col.name,
                number,
                None,
                col.missing | odd_mask,
                col.markers,
                {str(k): int(v) for k, v in odd.items()},
            )
        out.append(col)
    return out


def _check_ordinal(orders: dict[str, tuple[str, ...]], cols: list[Column], table: RawTable) -> None:
    for name, order in orders.items():
        col = _column(cols, name)
        labels = col.labels()
        present = ~col.missing
        bad = np.flatnonzero(present & ~np.isin(labels.astype(str), np.array(order)))
        if bad.size:
            row = int(bad[0])
            raise DataError(
                f"data.ordinal.{name}: value {labels[row]!r} ({table.source}, {table.where(row)})"
                f" is not in the declared order {list(order)}"
            )


# --------------------------------------------------------------------------- rows


def _is_blank_target(y_raw: np.ndarray) -> np.ndarray:
    import pandas as pd

    y = np.asarray(y_raw)
    if y.ndim == 2:  # multilabel: a row without any one of its labels has no target
        return np.any(np.stack([_is_blank_target(y[:, j]) for j in range(y.shape[1])]), axis=0)
    if y.dtype.kind in "biuf":
        return np.isnan(y) if y.dtype.kind == "f" else np.zeros(len(y), dtype=bool)
    s = pd.Series(y, dtype=object)
    blank = s.isna().to_numpy()
    is_text = s.map(type).eq(str).to_numpy()
    text = np.zeros(len(y), dtype=bool)
    text[is_text] = s[is_text].astype(str).str.strip().eq("").to_numpy()
    return blank | text


def _kept_rows(
    features: list[Column], y_raw: np.ndarray, mode: str
) -> tuple[np.ndarray, RowSet, RowSet]:
    """(rows kept, rows dropped for missing features, rows without a target)."""
    n = len(y_raw)
    any_missing = np.zeros(n, dtype=bool)
    for col in features:
        any_missing |= col.missing
    no_target = _is_blank_target(y_raw)
    drop = np.zeros(n, dtype=bool)
    if mode == "drop":
        drop = any_missing.copy()
    if mode != "error":
        drop |= no_target
    return ~drop, _row_set(drop & any_missing), _row_set(no_target)


def _row_set(mask: np.ndarray) -> RowSet:
    rows = np.flatnonzero(mask)
    return RowSet(int(rows.size), tuple(int(r) for r in rows[:ROWS_SHOWN]))


def _incomplete_rows(features: list[Column]) -> RowSet:
    return _row_set(np.any([c.missing for c in features], axis=0))


def _sparse_rows(features: list[Column]) -> RowSet:
    """Rows missing at least half of their feature values (and at least two)."""
    k = len(features)
    if k < 2:
        return RowSet()
    count = np.sum([c.missing for c in features], axis=0)
    return _row_set(count >= max(2, math.ceil(k / 2)))


def _rows(split: RawSplit, keep: np.ndarray, cols: list[Column]) -> RawSplit:
    def take(c: Column) -> Column:
        return Column(
            c.name,
            None if c.number is None else c.number[keep],
            None if c.text is None else c.text[keep],
            c.missing[keep],
            c.markers,
            c.odd,
        )

    assert split.table is not None
    table = replace(split.table, columns=tuple(take(c) for c in cols), n_rows=int(keep.sum()))
    return replace(
        split,
        y_raw=split.y_raw[keep],
        y2_raw=None if split.y2_raw is None else split.y2_raw[keep],
        table=table,
    )


def _identity(
    parts: list[list[Column]], features: list[str], kinds: dict[str, str]
) -> list[np.ndarray]:
    out = [np.empty((len(p[0]), len(features)), dtype=np.float64) for p in parts]
    for j, name in enumerate(features):
        cols = [_column(p, name) for p in parts]
        if kinds[name] == "numeric":
            for o, c in zip(out, cols):
                o[:, j] = c.number  # type: ignore[assignment]
            continue
        codes = joint_codes([c.labels() for c in cols])
        for o, code in zip(out, codes):
            o[:, j] = np.where(code >= 0, code, np.nan)
    return out


def _record_keys(parts: list[list[Column]], names: list[str]) -> list[np.ndarray]:
    """One code per row for the combination of its record-identifier values (names, ids,
    tickets), the same in both files: rows with the same features and different record
    keys are two records, not a copy of one."""
    from nncheck.data.hashing import joint_row_groups

    per_column = [joint_codes([_column(p, name).labels() for p in parts]) for name in names]
    stacked = [np.column_stack([codes[k] for codes in per_column]) for k in range(len(parts))]
    keys = joint_row_groups(stacked)
    return np.split(keys, [len(stacked[0])])


# --------------------------------------------------------------------------- report


def _column(cols: Sequence[Column], name: str) -> Column:
    return next(c for c in cols if c.name == name)


def _column_report(
    col: Column,
    role: tuple[str, str],
    kind: str | None,
    declared: dict[str, int],
    test_col: Column | None,
    test_declared: dict[str, int],
) -> ColumnReport:
    markers = dict(col.markers)
    odd = dict(col.odd)
    if test_col is not None:
        for src, dst in ((test_col.markers, markers), (test_col.odd, odd)):
            for k, v in src.items():
                dst[k] = dst.get(k, 0) + v
    both = dict(declared)
    for k, v in test_declared.items():
        both[k] = both.get(k, 0) + v
    miss_test = test_col.missing if test_col is not None else np.zeros(0, dtype=bool)
    return ColumnReport(
        name=col.name,
        kind=kind or ("numeric" if col.numeric else "categorical"),
        role=role[0],
        why=role[1],
        missing=int(col.missing.sum()),
        missing_rows=tuple(int(r) for r in np.flatnonzero(col.missing)[:ROWS_SHOWN]),
        missing_test=int(miss_test.sum()),
        missing_rows_test=tuple(int(r) for r in np.flatnonzero(miss_test)[:ROWS_SHOWN]),
        markers=markers,
        odd=odd,
        declared=both,
    )


def _add_notes(notes: list[str], report: TableReport, kinds: dict[str, str]) -> None:
    by_kind: dict[str, list[str]] = {}
    for name, kind in kinds.items():
        by_kind.setdefault(kind, []).append(name)
    parts = [f"{len(v)} {k} ({_names(v)})" for k, v in by_kind.items()]
    left = [c for c in report.columns if c.role != "feature"]
    if left:
        parts.append("left out: " + ", ".join(f"{c.name} ({c.role})" for c in left))
    notes.append("table columns: " + "; ".join(parts))
    if report.dropped.count:
        notes.append(
            f"data.missing: drop: {report.dropped.count} train-file rows with missing values"
            " dropped before the split"
            + (f", {report.dropped_test.count} test-file rows" if report.dropped_test.count else "")
        )
    lost = report.target_missing.count + report.target_missing_test.count
    if lost and report.missing_mode != "error":
        notes.append(f"{lost} rows without a target dropped (data.missing: {report.missing_mode})")


def _names(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... {len(names)} in all" if len(names) > limit else "")
