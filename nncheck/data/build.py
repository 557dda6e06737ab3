"""Turn a recipe's ``data:`` section into the ``Dataset`` every check and engine reads.

Order matters and is the reason this module exists: read train (and test when it is a
file), decide a table's column roles and kept rows (table_plan), decide the task and the
classes on train+test together (a test label never seen in train is still a class, so
``data.integrity``/``data.class_balance`` can point at it), split off the test fraction
(stratified on the encoded labels, or by ``data.groups``), and only then fit what is
learnt from data — a table's categorical encoding and imputation, the normalization — on
train alone. Labels that do not fit are encoded as -1 and regression values that are not
numbers as NaN; loading reports, it does not judge.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from nncheck.data.dataset import Dataset, Split, Task
from nncheck.data.encode import indicator_mask
from nncheck.data.loaders import RawSplit, load_source
from nncheck.data.multilabel import encode_multilabel, label_names
from nncheck.data.normalize import normalize
from nncheck.data.split import group_split, random_split, stratified_split
from nncheck.data.table_plan import plan_table
from nncheck.errors import DataError, shown
from nncheck.recipe.schema import DataSection, FractionSplit, PairSource

# Integer labels with at most this many distinct values (and fewer distinct values than
# half the rows) are taken as classes when the recipe does not say.
MAX_INFERRED_CLASSES = 50
# A text target column with at least this share of numbers is numeric with sentinels
# ("?", "n/a"), not a column of class names.
NUMERIC_SHARE = 0.9


def load_dataset(data: DataSection, seed: int) -> Dataset:
    """Load, encode, split and normalize the data a recipe names (paths already absolute).

    ``seed`` is the recipe's seed; it drives the test-fraction split only.
    Raises ``DataError`` (naming the file) when the data cannot be read or used.
    """
    if data.engine != "memory":
        from nncheck.data.streamed import load_streamed

        return load_streamed(data, seed)
    if data.task == "language_model":
        from nncheck.data.sequences import load_sequences

        return load_sequences(data, seed)
    if data.task == "sequence_classification":
        from nncheck.data.sequences import load_token_classes

        return load_token_classes(data, seed)
    notes: list[str] = []
    assert data.train is not None  # a data factory is read by nncheck.data.python_data
    train = load_source(data.train, data.target, data.second_annotation, data.csv, data.image_hw)
    notes.extend(train.notes)
    test: RawSplit | None = None
    if not isinstance(data.test, FractionSplit):
        test_target = data.target
        if test_target is None and _kind(data.test) == _kind(data.train):
            test_target = train.target  # the same guessed column, not a second guess
        test = load_source(data.test, test_target, data.second_annotation, data.csv, data.image_hw)
        notes.extend(f"test: {n}" for n in test.notes)
    return assemble_dataset(train, test, data, seed, notes)


def assemble_dataset(
    train: RawSplit, test: RawSplit | None, data: DataSection, seed: int, notes: list[str]
) -> Dataset:
    """Encode, split and normalize splits as read (from files, or from the user's Python
    objects): the one place that decides task, classes, the test fraction and scaling.

    ``test`` None cuts the recipe's test fraction from train.
    """
    plan = None
    if train.table is not None:
        plan = plan_table(data, train, test, notes)
        train, test = plan.train, plan.test
    else:
        _table_options_unused(data, train.source)
        if test is not None:
            test = _align_test(train, test)

    y_all = train.y_raw if test is None else _concat(train.y_raw, test.y_raw)
    y2_all = None
    if train.y2_raw is not None:
        y2_all = train.y2_raw if test is None else _concat(train.y2_raw, test.y2_raw)

    task: Task
    matrix = y_all.ndim == 2  # one column per label
    if matrix and data.task not in (None, "multilabel"):
        raise DataError(
            f"{train.source}: the target is an (N, {y_all.shape[1]}) matrix, one column per"
            f" label, but data.task is {data.task}; a matrix of 0/1 labels is task: multilabel"
        )
    if data.task is not None:
        task, task_inferred = data.task, False
    elif data.classes is not None and not matrix:
        task, task_inferred = "classification", True
        notes.append("task inferred: classification (classes declared)")
    else:
        task, why = infer_task(y_all)
        task_inferred = True
        notes.append(f"task inferred: {task} ({why})")

    classes: tuple[str, ...] | None = None
    y2_enc: np.ndarray | None = None
    if task == "classification":
        classes, y_enc, enc_notes = encode_labels(y_all, data.classes)
        notes.extend(enc_notes)
        if y2_all is not None:
            y2_enc = encode_with_classes(y2_all, classes, data.classes)
    elif task == "multilabel":
        if not matrix:
            raise DataError(
                f"{train.source}: task multilabel needs one 0/1 column per label: list them"
                " in data.target ([col_a, col_b, ...]) or store an (N, L) matrix in the npz"
            )
        classes = label_names(train.target, y_all.shape[1])
        y_enc = encode_multilabel(y_all)
        notes.append(
            f"multilabel: {len(classes)} labels ({', '.join(classes[:8])}"
            + (", ..." if len(classes) > 8 else "")
            + ")"
        )
        if y2_all is not None:
            raise DataError("data.second_annotation: not supported for a multilabel task")
    else:
        if data.classes is not None:
            notes.append("classes ignored: the task is regression")
        y_enc = to_float_target(y_all)
        if y2_all is not None:
            y2_enc = to_float_target(y2_all)

    n_train = len(train)
    if test is None:
        assert isinstance(data.test, FractionSplit)
        fraction = data.test.fraction
        if n_train < 2:
            raise DataError(
                f"{train.source}: {n_train} sample(s) cannot be split into train and test"
            )
        groups = plan.split_groups() if plan is not None else None
        if groups is not None:
            tr_idx, te_idx = group_split(
                groups, y_enc if task == "classification" else None, fraction, seed
            )
        elif task == "classification":
            tr_idx, te_idx = stratified_split(y_enc, fraction, seed)
        else:
            tr_idx, te_idx = random_split(n_train, fraction, seed)
        yraw_tr, yraw_te = train.y_raw[tr_idx], train.y_raw[te_idx]
        y_tr, y_te = y_enc[tr_idx], y_enc[te_idx]
        y2_tr = y2_enc[tr_idx] if y2_enc is not None else None
        y2_te = y2_enc[te_idx] if y2_enc is not None else None
        src_tr = train.source
        how = f"groups {data.groups}, " if groups is not None else ""
        src_te = f"{train.source} (fraction {fraction:g}, {how}seed {seed})"
    else:
        tr_idx = np.arange(n_train, dtype=np.int64)
        te_idx = np.arange(len(test), dtype=np.int64)
        yraw_tr, yraw_te = train.y_raw, test.y_raw
        y_tr, y_te = y_enc[:n_train], y_enc[n_train:]
        y2_tr = y2_enc[:n_train] if y2_enc is not None else None
        y2_te = y2_enc[n_train:] if y2_enc is not None else None
        src_tr, src_te = train.source, test.source

    extra_tr: dict[str, Any] = {}
    extra_te: dict[str, Any] = {}
    table_fields: dict[str, Any] = {}
    if plan is not None:
        enc = plan.encode(tr_idx, te_idx)
        x_tr, x_te = enc.x_train, enc.x_test
        rows_te = plan.train_rows if test is None else plan.test_rows
        ind_tr, ind_te = plan.train_rows[tr_idx], rows_te[te_idx]  # type: ignore[index]
        extra_tr = {
            "x_identity": enc.identity_train,
            "groups": enc.groups_train,
            "record_keys": enc.records_train,
        }
        extra_te = {
            "x_identity": enc.identity_test,
            "groups": enc.groups_test,
            "record_keys": enc.records_test,
        }
        feature_names: tuple[str, ...] | None = enc.feature_names
        table_fields = {"feature_kinds": enc.feature_kinds, "table": enc.report}
        indicators = indicator_mask(enc.feature_kinds)
    else:
        assert train.x is not None
        if test is None:
            x_tr, x_te = train.x[tr_idx], train.x[te_idx]
        else:
            assert test.x is not None
            x_tr, x_te = train.x, test.x
        ind_tr, ind_te = tr_idx, te_idx
        feature_names = train.feature_names
        indicators = None

    xn_tr, xn_te, normalizer = normalize(x_tr, x_te, data.normalize or "none", train.is_image)
    if indicators is not None and indicators.any():
        # one-hot and missing indicators stay 0/1: standardizing a rare value's column
        # would turn its 1 into a large input
        xn_tr[:, indicators] = x_tr[:, indicators]
        xn_te[:, indicators] = x_te[:, indicators]
    return Dataset(
        train=Split(xn_tr, y_tr, x_tr, yraw_tr, src_tr, ind_tr, y2_tr, **extra_tr),
        test=Split(xn_te, y_te, x_te, yraw_te, src_te, ind_te, y2_te, **extra_te),
        task=task,
        task_inferred=task_inferred,
        classes=classes,
        input_shape=tuple(int(s) for s in x_tr.shape[1:]),
        feature_names=feature_names,
        normalize=data.normalize or "none",
        normalizer=normalizer,
        is_image=train.is_image,
        notes=tuple(notes),
        classes_declared=data.classes is not None,
        **table_fields,
    )


def _table_options_unused(data: DataSection, source: str) -> None:
    """Table options on array data are a mistake the user should hear about."""
    given = [
        key
        for key in ("categorical", "ordinal", "drop", "features", "na_values", "groups")
        if getattr(data, key)
    ]
    if given:
        raise DataError(
            f"data.{given[0]}: column options need a table (csv or parquet); {source} is an"
            " array file"
        )


# --------------------------------------------------------------------------- task


def infer_task(y_raw: np.ndarray) -> tuple[Task, str]:
    """Guess the task from target values; returns (task, reason for the note).

    A matrix (one column per label) is a multilabel target. Strings, bools and categories
    are class labels; integer values with few distinct values (<= 50, and fewer than half
    the rows) are class indices; anything else is a regression target. A text column that
    is mostly numbers ("?" sentinels) is judged by its numbers.
    """
    y = np.asarray(y_raw)
    if y.ndim == 2:
        return "multilabel", f"{y.shape[1]} label columns"
    if y.dtype == np.bool_:
        return "classification", "boolean labels"
    if y.dtype.kind in "iuf":
        return _infer_numeric(y.astype(np.float64), "")
    codes, keys = _factorize(y)
    counts = np.bincount(codes[codes >= 0], minlength=len(keys))
    pairs = [(k, int(c)) for k, c in zip(keys, counts, strict=True) if k is not None]
    num = [(k[1], c) for k, c in pairs if k[0] == 0]
    text = [(k[2], c) for k, c in pairs if k[0] == 1]
    n_num = sum(c for _, c in num)
    n_present = n_num + sum(c for _, c in text)
    if n_num and n_num >= NUMERIC_SHARE * n_present:
        extra = ""
        if text:
            extra = f"; {n_present - n_num} non-numeric values such as {shown(text[0][0])}"
        values = np.repeat([v for v, _ in num], [c for _, c in num]).astype(np.float64)
        return _infer_numeric(values, extra)
    distinct = len({k[2] for k in keys if k is not None})
    return "classification", f"{distinct} distinct string labels"


def _infer_numeric(values: np.ndarray, extra: str) -> tuple[Task, str]:
    finite = values[np.isfinite(values)]
    distinct = np.unique(finite)
    k = distinct.size
    if k == 0:
        return "regression", f"no numeric target values{extra}"
    integral = bool(np.all(distinct == np.round(distinct)))
    if integral and k <= MAX_INFERRED_CLASSES and k < 0.5 * finite.size:
        lo, hi = int(distinct[0]), int(distinct[-1])
        return "classification", f"{k} distinct integer labels {lo}..{hi}{extra}"
    kind = "integer" if integral else "numeric"
    return "regression", f"{k} distinct {kind} values{extra}"


# --------------------------------------------------------------------------- labels


def _label_key(v: Any) -> tuple[int, float, str] | None:
    """(0, number, name) for numbers and numeric text, (1, 0, text) for other labels,
    None for a missing label. Integer-valued floats are named "1", not "1.0"."""
    if v is None:
        return None
    if isinstance(v, (bool, np.bool_)):
        return (1, 0.0, str(bool(v)))
    if isinstance(v, (int, np.integer)):
        return (0, float(v), str(int(v)))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f):
            return None
        return (0, f, _number_name(f))
    text = v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
    text = text.strip()
    if not text:
        return None
    try:
        f = float(text)
    except ValueError:
        return (1, 0.0, text)
    if math.isnan(f):
        return None
    return (0, f, _number_name(f))


def _number_name(f: float) -> str:
    if math.isfinite(f) and f == int(f):
        return str(int(f))
    return repr(f)


def _factorize(values: np.ndarray) -> tuple[np.ndarray, list[tuple[int, float, str] | None]]:
    """codes (n,) into a list of unique label keys (in order of first appearance); -1 for
    missing. Vectorized (NumPy for integer labels, which have no missing value, and pandas
    for the rest) so only the distinct values go through Python; integer labels, MNIST's
    and most image datasets', do not pay for importing pandas (0.3 s)."""
    arr = np.asarray(values)
    if arr.dtype.kind in "biu":
        uniq, first, inverse = np.unique(arr.reshape(-1), return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        return rank[inverse], [_label_key(u) for u in uniq[order]]
    import pandas as pd

    if arr.dtype.kind not in "biuf":
        arr = arr.astype(object)
    codes, uniques = pd.factorize(arr, use_na_sentinel=True)
    return codes.astype(np.int64), [_label_key(u) for u in uniques]


def _lookup(codes: np.ndarray, index_of_unique: Sequence[int]) -> np.ndarray:
    lut = np.asarray(list(index_of_unique) + [-1], dtype=np.int64)  # lut[-1] = missing
    return lut[codes]


def encode_labels(
    y_raw: np.ndarray, declared: int | list[str | int] | None
) -> tuple[tuple[str, ...], np.ndarray, list[str]]:
    """Class names, encoded labels (int64, -1 = not a valid class) and notes.

    ``declared`` is the recipe's ``classes``: a count K (labels must be integers 0..K-1),
    a list of names (a label matches a name, or is an integer index into the list), or
    None (the classes are the sorted distinct labels). Never raises for bad labels.
    """
    codes, keys = _factorize(y_raw)
    notes: list[str] = []
    if declared is not None:
        classes = _declared_names(declared)
        return classes, encode_with_classes(y_raw, classes, declared, codes, keys), notes
    present = [k for k in keys if k is not None]
    numeric = [k for k in present if k[0] == 0]
    text = [k for k in present if k[0] == 1]
    counts = np.bincount(codes[codes >= 0], minlength=len(keys))
    n_numeric = sum(int(counts[i]) for i, k in enumerate(keys) if k is not None and k[0] == 0)
    n_present = int(counts.sum())
    drop_text = bool(numeric) and bool(text) and n_numeric >= NUMERIC_SHARE * n_present
    if drop_text:
        kept = numeric
        notes.append(
            f"{n_present - n_numeric} labels are not numbers (e.g. {shown(text[0][2])}) among"
            " numeric labels: encoded as -1 (not a class)"
        )
    else:
        kept = present
    ordered = sorted({(k[0], k[1] if k[0] == 0 else 0.0, k[2]) for k in kept})
    classes = tuple(dict.fromkeys(k[2] for k in ordered))
    index = {name: i for i, name in enumerate(classes)}
    idx = [index.get(k[2], -1) if k is not None else -1 for k in keys]
    return classes, _lookup(codes, idx), notes


def encode_with_classes(
    values: np.ndarray,
    classes: Sequence[str],
    declared: int | list[str | int] | None,
    codes: np.ndarray | None = None,
    keys: list[tuple[int, float, str] | None] | None = None,
) -> np.ndarray:
    """Encode ``values`` against known class names (used for y with declared classes and
    for the second annotation). With a declared name list, an integer label that is no
    name is taken as an index into the list."""
    if codes is None or keys is None:
        codes, keys = _factorize(values)
    index = {name: i for i, name in enumerate(classes)}
    k_classes = len(classes)
    by_position = isinstance(declared, list)
    idx = []
    for k in keys:
        if k is None:
            idx.append(-1)
        elif k[2] in index:
            idx.append(index[k[2]])
        elif by_position and k[0] == 0 and k[1] == int(k[1]) and 0 <= k[1] < k_classes:
            idx.append(int(k[1]))
        else:
            idx.append(-1)
    return _lookup(codes, idx)


def _declared_names(declared: int | list[str | int]) -> tuple[str, ...]:
    if isinstance(declared, int):
        return tuple(str(i) for i in range(declared))
    return tuple(str(c) for c in declared)


def to_float_target(y_raw: np.ndarray) -> np.ndarray:
    """Regression target as float32; text that is not a number (a "?" sentinel) is NaN."""
    import pandas as pd

    y = np.asarray(y_raw)
    if y.dtype.kind in "biuf":
        return y.astype(np.float32)
    return pd.to_numeric(pd.Series(y, dtype=object), errors="coerce").to_numpy(
        dtype=np.float32, na_value=np.nan
    )


# --------------------------------------------------------------------------- train/test


def _kind(source: str | PairSource) -> str:
    if isinstance(source, PairSource):
        return "pair"
    name = str(source).lower()
    for ext in (".npz", ".npy", ".parquet", ".pq"):
        if name.endswith(ext):
            return ext
    return "table"


def _align_test(train: RawSplit, test: RawSplit) -> RawSplit:
    """Arrays: test samples must have train's shape (tables are aligned by table_plan)."""
    assert train.x is not None
    if test.x is None:
        raise DataError(f"{test.source}: the test file must be an array file like {train.source}")
    if train.x.shape[1:] != test.x.shape[1:]:
        raise DataError(
            f"{test.source}: test samples have shape {test.x.shape[1:]}, train samples"
            f" ({train.source}) have {train.x.shape[1:]}"
        )
    return test


def _concat(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Join train and test target values even when their dtypes differ (int vs text)."""
    if a.ndim != b.ndim or (a.ndim == 2 and a.shape[1] != b.shape[1]):
        raise DataError(
            f"the test target has shape {b.shape[1:]} per sample but train's has {a.shape[1:]}"
            " (the same label columns in both files)"
        )
    if a.dtype.kind in "biuf" and b.dtype.kind in "biuf":
        return np.concatenate([a, b])
    if a.dtype.kind == b.dtype.kind == "U":
        return np.concatenate([a, b])
    return np.concatenate([a.astype(object), b.astype(object)])
