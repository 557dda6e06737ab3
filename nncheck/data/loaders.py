"""Readers for the data formats a recipe may name: csv, parquet, npz, npy and file pairs.

Each reader returns a ``RawSplit``: features and target exactly as found, before class
encoding, splitting or normalization (``build.py`` does those for train and test together).
Tables (csv, parquet) keep their columns as read (``tables.RawTable``: text or numbers, the
missing cells and how they were written), because which columns are features, identifiers
or categories, and how categories are encoded, is decided in build.py after the split.
Readers only refuse what cannot be read at all (a missing file, a parse error, a missing
target); odd values such as NaN features or a "?" target are kept for the data checks to
report. Every ``DataError`` names the file, and the column, key or line where there is one,
because "could not convert string to float" alone sends users hunting through a
60,000-line file.
"""

from __future__ import annotations

import bz2
import difflib
import errno
import gzip
import importlib.util
import lzma
import os
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from nncheck.data.idx import is_idx_name, read_idx
from nncheck.data.images import IMAGE_SUFFIXES, channels_first, decode_images, list_image_folder
from nncheck.data.size_limits import (
    NPY_MAGIC,
    ZIP_MAGIC,
    check_inflated_bytes,
    check_inflated_size,
    check_npy_file,
    check_npz_member,
    pickle_message,
)
from nncheck.data.tables import EXACT_INTEGERS, precision_note
from nncheck.errors import DataError, cut, shown
from nncheck.recipe.schema import CsvOptions, PairSource

if TYPE_CHECKING:
    from nncheck.data.dialect import Dialect
    from nncheck.data.tables import Column, RawTable

# npz keys holding the features, in order of preference.
X_KEYS: tuple[str, ...] = ("x", "X", "inputs", "images")
# npz keys tried for the target when the recipe does not name one.
Y_KEYS: tuple[str, ...] = ("y", "Y", "labels", "label", "target", "targets")

# A target: one column / key / index, or (multilabel) several label columns.
TargetSpec = Union[str, int, Sequence[str], None]

_CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zip", ".csv.zst")


@dataclass(frozen=True)
class RawSplit:
    """One source (a file or an images/labels pair) as read, before any encoding."""

    x: np.ndarray | None  # (n, *shape) numeric features in their stored dtype; None for tables
    y_raw: np.ndarray  # (n,) target values as found (numbers or strings)
    y2_raw: np.ndarray | None  # (n,) second annotation as found, when asked for
    feature_names: tuple[str, ...] | None  # column names for tables, None for arrays
    source: str  # path, or "images + labels" for a pair
    is_image: bool  # an array with >= 2 per-sample dimensions (IDX, image npz/npy)
    target: str | int | tuple[str, ...] | None  # the column(s)/key/index used (after guessing)
    notes: tuple[str, ...] = ()
    table: RawTable | None = None  # tables: the columns as read (encoded in build.py)

    def __len__(self) -> int:
        if self.table is not None:
            return self.table.n_rows
        assert self.x is not None
        return int(self.x.shape[0])


def load_source(
    source: str | PairSource,
    target: TargetSpec = None,
    second_annotation: str | None = None,
    csv: CsvOptions | None = None,
    image_size: tuple[int, int] | None = None,
) -> RawSplit:
    """Read one recipe source (an absolute path or an images/labels pair) by its extension.

    ``target`` is a column name (csv/parquet), an array key (npz) or a column index (npy);
    None lets the reader pick a conventional name (and say so in ``notes``). A folder is an
    image folder; a CSV whose one feature column names image files is a manifest.
    ``image_size`` (height, width) resizes image files. A list of columns (multilabel)
    needs a table.
    """
    label = source.images if isinstance(source, PairSource) else str(source)
    is_table = label.lower().endswith((*_CSV_SUFFIXES, ".parquet", ".pq"))
    if isinstance(target, (list, tuple)) and not (is_table and not os.path.isdir(label)):
        raise DataError(
            f"{label}: data.target lists {len(target)} label columns, which needs a table"
            " (csv or parquet); an npz holds multiple labels as one (N, L) 0/1 matrix under"
            " one key (target: y, task: multilabel)"
        )
    if isinstance(source, PairSource):
        if second_annotation is not None:
            raise DataError(
                f"{source.images}: second_annotation needs a table (csv/parquet) or an npz"
                " key; an images/labels pair has only one labelling"
            )
        return read_pair(source.images, source.labels)
    path = str(source)
    if os.path.isdir(path):
        if second_annotation is not None:
            raise DataError(
                f"{path}: second_annotation needs a table or an npz key; an image folder has"
                " only one labelling (its subfolders)"
            )
        return read_image_folder(path, image_size)
    _check_file(path)
    name = path.lower()
    if name.endswith(_CSV_SUFFIXES):
        return read_csv(path, target, second_annotation, csv, image_size)
    if name.endswith((".parquet", ".pq")):
        return read_parquet(path, target, second_annotation)
    if name.endswith(".npz"):
        return read_npz(path, target, second_annotation)
    if name.endswith(".npy"):
        return read_npy(path, target, second_annotation)
    if is_idx_name(path):
        raise DataError(
            f"{path}: an IDX file holds only images or only labels; name both:"
            " {images: ...-images-idx3-ubyte.gz, labels: ...-labels-idx1-ubyte.gz}"
        )
    ext = os.path.splitext(path)[1] or "(none)"
    raise DataError(
        f"{path}: unknown data format {shown(ext)}; expected .csv, .parquet, .npz, .npy,"
        " or {images: ..., labels: ...} for IDX / .npy pairs"
    )


# --------------------------------------------------------------------------- tables


def read_csv(
    path: str,
    target: TargetSpec = None,
    second: str | None = None,
    options: CsvOptions | None = None,
    image_size: tuple[int, int] | None = None,
) -> RawSplit:
    """Read a CSV in its own dialect (sniffed, or as ``options`` say) as text cells; the
    target and second annotation are columns. A CSV whose only feature column holds image
    file names is a manifest: the images are read."""
    import pandas as pd

    from nncheck.data.dialect import sniff

    _check_compressed_csv(path)
    dialect = sniff(path, options)
    notes: list[str] = []
    try:
        try:
            df = _read_csv_text(path, dialect)
        except UnicodeDecodeError as exc:
            if dialect.encoding != "utf-8" or "encoding" in dialect.given:
                raise
            notes.append(
                f"not UTF-8 past the first 64 KiB ({exc.reason} at byte {exc.start}):"
                " read as Latin-1"
            )
            dialect = dialect.with_encoding("latin-1")
            df = _read_csv_text(path, dialect)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: file is empty (no header row)") from None
    except pd.errors.ParserError as exc:
        raise DataError(f"{path}: cannot parse CSV: {_first_line(exc)}") from None
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}: not a {dialect.encoding} text file ({exc.reason} at byte {exc.start})"
        ) from None
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error, lzma.LZMAError) as exc:
        raise DataError(f"{path}: cannot read CSV ({_first_line(exc)})") from None
    if not dialect.header:
        df.columns = [f"col_{j + 1}" for j in range(df.shape[1])]
    else:
        df.columns = [_unquoted(str(c)) for c in df.columns]
    manifest = _manifest_column(df)
    if manifest is not None:
        return _read_manifest(df, path, manifest, target, second, image_size)
    notes.insert(0, dialect.describe())
    return _from_frame(df, path, target, second, dialect, notes)


def _unquoted(name: str) -> str:
    """A header name in single quotes ('popul', as statsmodels' and some R exports write
    them; CSV quoting only knows double quotes) without them."""
    return name[1:-1] if len(name) >= 3 and name[0] == name[-1] == "'" else name


def _read_csv_text(path: str, dialect: Dialect) -> Any:
    """Every cell as text: missing markers and numbers are told apart in tables.py."""
    import pandas as pd

    from nncheck.data.dialect import WHITESPACE

    return pd.read_csv(
        path,
        sep=r"\s+" if dialect.delimiter == WHITESPACE else dialect.delimiter,
        header=0 if dialect.header else None,
        encoding=dialect.encoding,
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        skipinitialspace=True,
    )


def _manifest_column(df: Any) -> str | None:
    """The column naming image files, when every value of it does (and it is the only
    text column besides a target): that CSV is a manifest, not a table of features."""
    from pandas.api import types as pdt

    found = []
    for col in df.columns:
        s = df[col]
        if not (pdt.is_object_dtype(s) or pdt.is_string_dtype(s)) or not len(s):
            continue
        if s.isna().any() or not _names_images(s.iloc[:20]) or not _names_images(s):
            continue
        found.append(str(col))
    return found[0] if len(found) == 1 else None


def _names_images(s: Any) -> bool:
    """Every value is text ending in an image suffix (one vectorized pass)."""
    try:
        ends = s.astype(str).str.strip().str.lower().str.endswith(IMAGE_SUFFIXES)
    except (TypeError, ValueError):
        return False
    return bool(ends.all())


def _read_manifest(
    df: Any,
    path: str,
    column: str,
    target: TargetSpec,
    second: str | None,
    image_size: tuple[int, int] | None,
) -> RawSplit:
    """Images listed in a CSV (paths relative to the CSV's folder) with their labels."""
    columns = [str(c) for c in df.columns]
    df.columns = columns
    notes: list[str] = [f"image manifest: file paths in column {shown(column)}"]
    others = [c for c in columns if c != column]
    if not others:
        raise DataError(f"{path}: an image manifest needs a label column besides {shown(column)}")
    from nncheck.data.tables import parse_column, target_values

    parsed = [parse_column(c, df[c]) for c in others]
    tcol = _resolve_target_column(path, others, target, notes, parsed)
    base = os.path.dirname(os.path.abspath(path))
    files = [os.path.join(base, str(p).strip()) for p in df[column].tolist()]
    for row, f in enumerate(files):
        if not os.path.isfile(f):
            raise DataError(
                f"{path}: line {row + 2}: image file not found: {shown(f, 200)}"
                " (paths are relative to the manifest)"
            )
    x, image_notes = decode_images(files, image_size)
    notes.extend(image_notes)
    y2 = None
    if second is not None:
        scol = _resolve_named(path, others, second, "second_annotation column")
        if scol == tcol:
            raise DataError(
                f"{path}: second_annotation {shown(second)} is the target column itself"
            )
        y2 = target_values(df[scol])
    notes.append(_image_note(x))
    return RawSplit(
        x=x,
        y_raw=target_values(df[tcol]),
        y2_raw=y2,
        feature_names=None,
        source=path,
        is_image=True,
        target=tcol,
        notes=tuple(notes),
    )


def read_image_folder(folder: str, image_size: tuple[int, int] | None = None) -> RawSplit:
    """An image folder: one subfolder per class, its name the label."""
    files, labels = list_image_folder(folder)
    x, notes = decode_images(files, image_size)
    classes = sorted(set(labels))
    notes = [f"image folder: {len(files)} files in {len(classes)} class subfolders", *notes]
    notes.append(_image_note(x))
    return RawSplit(
        x=x,
        y_raw=np.asarray(labels),
        y2_raw=None,
        feature_names=None,
        source=folder,
        is_image=True,
        target=None,
        notes=tuple(notes),
    )


def _image_note(x: np.ndarray) -> str:
    if x.ndim == 3:
        return f"images: grey, {x.shape[1]}x{x.shape[2]} (height x width)"
    return (
        f"images: {x.shape[1]} channels, {x.shape[2]}x{x.shape[3]} (height x width),"
        " kept as N x C x H x W"
    )


def _zstd_open(path: str) -> Any:
    import zstandard

    return zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True)


# Compressed CSVs by suffix: (what to call it, how to open it as a binary stream).
_CSV_DECOMPRESSORS: dict[str, tuple[str, Callable[[str], Any]]] = {
    ".gz": ("gzip", lambda p: gzip.open(p, "rb")),
    ".bz2": ("bzip2", lambda p: bz2.open(p, "rb")),
    ".xz": ("xz", lambda p: lzma.open(p, "rb")),
    ".zst": ("zstandard", _zstd_open),
}


def _check_compressed_csv(path: str) -> None:
    """Before pandas sees a compressed CSV: the decompressor is installed, a zip holds one
    file, and the stream is valid and inflates to no more than the limit (measured in
    bounded chunks, so a gzip bomb costs time up to the limit, never memory)."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".zip":
        _check_csv_zip(path)
        return
    if suffix not in _CSV_DECOMPRESSORS:
        return
    kind, opener = _CSV_DECOMPRESSORS[suffix]
    if suffix == ".zst" and importlib.util.find_spec("zstandard") is None:
        raise DataError(
            f"{path}: reading .csv.zst needs the zstandard package: pip install zstandard"
            " (or pip install 'nncheck[zstd]')"
        )
    check_inflated_size(path, opener, kind)


def _check_csv_zip(path: str) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            members = [i for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DataError(f"{path}: not a valid zip archive ({_first_line(exc)})") from None
    if len(members) != 1:
        names = _list([m.filename for m in members], limit=5)
        raise DataError(
            f"{path}: a .csv.zip must hold exactly one CSV file; this one holds"
            f" {len(members)}{': ' + names if members else ''}"
        )
    check_inflated_bytes(path, shown(members[0].filename), members[0].file_size)


def read_parquet(path: str, target: TargetSpec = None, second: str | None = None) -> RawSplit:
    """Read a parquet file (needs pyarrow, an optional dependency)."""
    if importlib.util.find_spec("pyarrow") is None:
        raise DataError("reading parquet needs pyarrow: pip install nncheck[parquet]")
    import pandas as pd
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path).metadata
        inflated = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for a bad file
        raise DataError(f"{path}: cannot read parquet ({_first_line(exc)})") from None
    check_inflated_bytes(path, "its row groups", inflated)
    try:
        df = pd.read_parquet(path, engine="pyarrow")
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for a bad file
        raise DataError(f"{path}: cannot read parquet ({_first_line(exc)})") from None
    return _from_frame(df, path, target, second, None, [])


def read_frame(
    df: Any, label: str, target: TargetSpec = None, second: str | None = None
) -> RawSplit:
    """A pandas DataFrame the user passes in (``nncheck.audit`` or a data factory), read
    like a CSV file; ``label`` names it in messages. The caller's frame is not modified."""
    return _from_frame(df.copy(deep=False), label, target, second, None, [])


def _from_frame(
    df: Any,
    path: str,
    target: TargetSpec,
    second: str | None,
    dialect: Dialect | None,
    notes: list[str],
) -> RawSplit:
    from nncheck.data.tables import RawTable, parse_column, target_values

    columns = [str(c) for c in df.columns]
    if len(set(columns)) != len(columns):
        twice = sorted({c for c in columns if columns.count(c) > 1})
        raise DataError(f"{path}: column names occur more than once: {_list(twice)}")
    df.columns = columns
    if len(df) == 0:
        raise DataError(f"{path}: no data rows (columns: {_list(columns)})")
    named = {second: "second_annotation"}
    if isinstance(target, int) and -len(columns) <= target < len(columns):
        named[columns[target]] = "target"
    elif isinstance(target, str):
        named[target] = "target"
    elif isinstance(target, (list, tuple)):
        named.update({t: "target" for t in target})
    for col in columns:  # a parquet list column; CSV cells are text and pass in one C call
        _one_value_per_row(df[col], path, col, named.get(col, "feature"), dialect)
    decimal = dialect.decimal if dialect is not None else "."
    parsed = [parse_column(c, df.iloc[:, j], decimal) for j, c in enumerate(columns)]
    if isinstance(target, (list, tuple)):  # multilabel: one 0/1 column per label
        label_cols = [_resolve_named(path, columns, t, "target column") for t in target]
        tcol: Any = tuple(label_cols)
    else:
        label_cols = [_resolve_target_column(path, columns, target, notes, parsed)]
        tcol = label_cols[0]
    drop = list(label_cols)
    if second is not None:
        scol = _resolve_named(path, columns, second, "second_annotation column")
        if scol in label_cols:
            raise DataError(
                f"{path}: second_annotation {shown(second)} is the target column itself"
            )
        drop.append(scol)
    features = tuple(c for c in parsed if c.name not in drop)
    if not features:
        raise DataError(
            f"{path}: no features: the file has no columns besides {_list(drop)}"
            " (a network needs at least one input column)"
        )
    feature_cols = [c.name for c in features]
    notes.extend(_precision_notes(df[feature_cols], feature_cols))
    y2 = target_values(df[scol], decimal) if second is not None else None
    if len(label_cols) > 1:
        y_raw = np.empty((len(df), len(label_cols)), dtype=object)
        for j, c in enumerate(label_cols):
            y_raw[:, j] = target_values(df[c], decimal)
    else:
        y_raw = target_values(df[tcol], decimal)
    return RawSplit(
        x=None,
        y_raw=y_raw,
        y2_raw=y2,
        feature_names=tuple(feature_cols),
        source=path,
        is_image=False,
        target=tcol,
        notes=tuple(notes),
        table=RawTable(features, len(df), path, dialect),
    )


def _one_value_per_row(s: Any, path: str, col: str, role: str, dialect: Dialect | None) -> None:
    """Refuse a column of lists, arrays or mappings (a parquet list column): a target or a
    feature holds one value per row. Only object columns that pandas calls "mixed" are
    looked at cell by cell, so ordinary columns cost one C pass."""
    from pandas.api.types import infer_dtype

    if s.dtype != object or infer_dtype(s, skipna=True) != "mixed":
        return
    nested = s.map(lambda v: isinstance(v, (list, tuple, dict, set, np.ndarray))).to_numpy(bool)
    if not nested.any():
        return
    from nncheck.data.dialect import line_of_row

    row = int(np.argmax(nested))
    where = f"line {line_of_row(path, row, dialect)}" if dialect else f"data row {row + 1}"
    raise DataError(
        f"{path}: {role} column {shown(col)} holds lists or arrays ({where}:"
        f" {shown(s.iloc[row])}); a {role} needs one value per row (split the list into"
        " columns or pick one element)"
    )


def _resolve_target_column(
    path: str,
    columns: list[str],
    target: str | int | None,
    notes: list[str],
    parsed: Sequence[Column],
) -> str:
    if target is None:
        from nncheck.data.roles import guess_target

        col, why = guess_target(parsed)
        notes.append(f"target not given: using column {shown(col)} ({why})")
        return col
    if isinstance(target, int):
        try:
            return columns[target]
        except IndexError:
            raise DataError(
                f"{path}: target column index {target} is out of range ({len(columns)} columns)"
            ) from None
    return _resolve_named(path, columns, target, "target column")


def _resolve_named(path: str, names: Sequence[str], wanted: str, what: str) -> str:
    if wanted in names:
        return wanted
    raise DataError(f"{path}: {what} {shown(wanted)} not found; {_available(names, wanted)}")


# --------------------------------------------------------------------------- arrays


def read_npz(path: str, target: str | int | None = None, second: str | None = None) -> RawSplit:
    """Read an .npz archive: features under x/X/inputs/images, target under its key."""
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: not a readable .npz archive ({_first_line(exc)})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(f"{path}: is a single .npy array, not an .npz archive; rename it .npy")
    with archive:
        keys = list(archive.files)
        notes: list[str] = []
        xkey = next((k for k in X_KEYS if k in keys), None)
        if xkey is None:
            raise DataError(
                f"{path}: no feature array: expected one of the keys {_list(X_KEYS)};"
                f" {_available(keys, 'x')}"
            )
        if target is None:
            ykey = next((k for k in Y_KEYS if k in keys), None)
            if ykey is None:
                raise DataError(
                    f"{path}: no target array: expected key 'y' (or name one with target:);"
                    f" {_available(keys, 'y')}"
                )
            if ykey != "y":
                notes.append(f"target not given: using key {shown(ykey)}")
        elif isinstance(target, int):
            raise DataError(
                f"{path}: target must name an array key in an .npz, got {target};"
                f" {_available(keys, str(target))}"
            )
        else:
            ykey = _resolve_named(path, keys, target, "target key")
        x = _npz_get(archive, path, xkey)
        y = _npz_get(archive, path, ykey)
        y2 = None
        if second is not None:
            skey = _resolve_named(path, keys, second, "second_annotation key")
            if skey in (ykey, xkey):
                raise DataError(
                    f"{path}: second_annotation key {shown(skey)} is the"
                    f" {'target' if skey == ykey else 'feature'} array itself"
                )
            y2 = _as_labels(_npz_get(archive, path, skey), path, f"key {shown(skey)}")
    x = _as_features(x, path, f"key {shown(xkey)}")
    x = channels_first(x, path, notes)
    notes.extend(_precision_notes(x))
    y = _as_labels(y, path, f"key {shown(ykey)}", matrix_ok=True)
    _same_length(path, x, f"key {shown(xkey)}", y, f"key {shown(ykey)}")
    if y2 is not None:
        _same_length(path, x, f"key {shown(xkey)}", y2, f"key {shown(second)}")
    return RawSplit(
        x=x,
        y_raw=y,
        y2_raw=y2,
        feature_names=None,
        source=path,
        is_image=x.ndim >= 3,
        target=ykey,
        notes=tuple(notes),
    )


def read_npz_keys(
    path: str, wanted: Sequence[Sequence[str]], required: Sequence[bool]
) -> tuple[list[np.ndarray | None], list[str | None]]:
    """For each list of candidate keys in ``wanted``, the first present one's array (None
    when absent and not required): the npz reading of ``read_npz`` for other layouts, such
    as token ids (``nncheck.data.sequences``). A required key that is missing is named."""
    _check_file(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: not a readable .npz archive ({_first_line(exc)})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(f"{path}: is a single .npy array, not an .npz archive; rename it .npz")
    arrays: list[np.ndarray | None] = []
    found: list[str | None] = []
    with archive:
        keys = list(archive.files)
        for candidates, need in zip(wanted, required, strict=True):
            key = next((k for k in candidates if k in keys), None)
            if key is None and need:
                raise DataError(
                    f"{path}: expected one of the keys {_list(list(candidates))};"
                    f" {_available(keys, candidates[0])}"
                )
            found.append(key)
            arrays.append(None if key is None else _npz_get(archive, path, key))
    return arrays, found


def _npz_get(archive: Any, path: str, key: str) -> np.ndarray:
    try:
        # The member's header must fit its entry (and a compressed one the limit) before
        # NumPy allocates what the header claims.
        check_npz_member(archive.zip, path, key)
        return _native(archive[key])
    except ValueError as exc:
        if "pickle" in str(exc):
            raise DataError(pickle_message(path, f"key {shown(key)}")) from None
        raise DataError(f"{path}: key {shown(key)} cannot be read ({_first_line(exc)})") from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, lzma.LZMAError) as exc:
        raise DataError(f"{path}: key {shown(key)} cannot be read ({_first_line(exc)})") from None


def read_npy(path: str, target: str | int | None = None, second: str | None = None) -> RawSplit:
    """Read one 2-D .npy array whose column ``target`` (an index, default -1) is the target.

    Image arrays need their labels elsewhere: ``{images: x.npy, labels: y.npy}``.
    """
    arr = _load_npy(path)
    if arr.ndim != 2:
        raise DataError(
            f"{path}: a single .npy array must be 2-D (rows x columns, the target one of the"
            f" columns), found shape {arr.shape}; for images use"
            " {images: x.npy, labels: y.npy}"
        )
    ncols = arr.shape[1]
    notes: list[str] = []
    if target is None:
        tidx = ncols - 1
        notes.append("target not given: using the last column of the .npy array")
    else:
        tidx = _column_index(path, target, ncols, "target")
    drop = [tidx]
    y2 = None
    if second is not None:
        sidx = _column_index(path, second, ncols, "second_annotation")
        if sidx == tidx:
            raise DataError(f"{path}: second_annotation column {second} is the target column")
        drop.append(sidx)
        y2 = _as_labels(arr[:, sidx], path, f"column {sidx}")
    if ncols - len(drop) < 1:
        raise DataError(f"{path}: no feature columns left besides the target")
    x = _as_features(np.delete(arr, drop, axis=1), path, "features")
    notes.extend(_precision_notes(x))
    y = _as_labels(arr[:, tidx], path, f"column {tidx}")
    return RawSplit(
        x=x,
        y_raw=y,
        y2_raw=y2,
        feature_names=None,
        source=path,
        is_image=False,
        target=tidx,
        notes=tuple(notes),
    )


def _column_index(path: str, value: str | int, ncols: int, what: str) -> int:
    try:
        idx = int(value)
    except (TypeError, ValueError):
        raise DataError(
            f"{path}: {what} of a .npy array must be a column index (e.g. -1), got {shown(value)}"
        ) from None
    if not -ncols <= idx < ncols:
        raise DataError(f"{path}: {what} column {idx} is out of range ({ncols} columns)")
    return idx % ncols


def read_pair(images: str, labels: str) -> RawSplit:
    """Read inputs and labels from two files: IDX (plain or gzip) or .npy, mixed freely."""
    x = _read_pair_file(images, "images")
    y = _read_pair_file(labels, "labels")
    if x.shape[0] != y.shape[0]:
        raise DataError(f"{images}: {x.shape[0]} images but {y.shape[0]} labels in {labels}")
    return RawSplit(
        x=x,
        y_raw=y,
        y2_raw=None,
        feature_names=None,
        source=f"{images} + {labels}",
        is_image=x.ndim >= 3,
        target=None,
        notes=tuple(_precision_notes(x)),
    )


def read_labels(path: str) -> np.ndarray:
    """One label per row from an .npy or IDX file (checked as a pair's labels are)."""
    return _read_pair_file(path, "labels")


def _read_pair_file(path: str, role: str) -> np.ndarray:
    _check_file(path)
    with open(path, "rb") as fh:
        is_npy = fh.read(6) == NPY_MAGIC
    if not is_npy:
        if path.lower().endswith(".npy"):
            raise DataError(f"{path}: not a .npy file (no NumPy header)")
        arr = read_idx(path, role)
    else:
        arr = _load_npy(path)
    if role == "labels":
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise DataError(f"{path}: labels must be 1-D, found shape {arr.shape}")
        return _as_labels(arr, path, "labels")
    return _as_features(arr, path, "images")


def _load_npy(path: str) -> np.ndarray:
    with open(path, "rb") as fh:
        magic = fh.read(len(NPY_MAGIC))
    if magic.startswith(ZIP_MAGIC):
        raise DataError(f"{path}: is an .npz archive, not a single .npy array; rename it .npz")
    check_npy_file(path)  # the header's shape must fit the file before NumPy allocates it
    try:
        arr = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc):
            raise DataError(pickle_message(path, "the array")) from None
        raise DataError(f"{path}: not a valid .npy file ({_first_line(exc)})") from None
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read .npy file ({_first_line(exc)})") from None
    return _native(arr)


def _native(arr: np.ndarray) -> np.ndarray:
    """The array in this machine's byte order: a big-endian float64 array (saved on
    another machine, or by a tool that writes '>f8') is data like any other, but pandas
    and several NumPy routines refuse non-native buffers."""
    if arr.dtype.byteorder in "=|" or arr.dtype.fields is not None:
        return arr
    return arr.astype(arr.dtype.newbyteorder("="))


# float64 holds every integer exactly only up to 2**53; past it, neighbours merge.


def _precision_notes(x: Any, names: Sequence[str] | None = None) -> list[str]:
    """A note for each 64-bit integer feature that loses values when made a float.

    Loading is where integers become floats (the engines and the normalization compute in
    floating point), so loading says what that cost: distinct integers near 2**62 (IDs,
    nanosecond timestamps) merge into fewer float values, and the network sees less than
    the file holds. A note rather than a failure: the values are valid, only not exact,
    and the number of distinct values lost says whether it matters.
    """
    if names is not None:  # a DataFrame: its 64-bit integer columns
        cols = [(c, x[c].to_numpy()) for c in names if x[c].dtype.kind in "iu"]
    elif x.dtype.kind in "iu":
        flat = x.reshape(len(x), -1)
        cols = [(f"column {j}", flat[:, j]) for j in range(flat.shape[1])]
    else:
        return []
    notes = []
    for name, v in cols:
        if v.dtype.itemsize < 8 or not v.size:
            continue
        if v.max() <= EXACT_INTEGERS and v.min() >= -EXACT_INTEGERS:
            continue
        exact, as_float = np.unique(v).size, np.unique(v.astype(np.float64)).size
        if as_float < exact:
            peak = max(abs(float(v.max())), abs(float(v.min())))
            label = shown(name) if names is not None else name
            notes.append(precision_note(label, exact, as_float, peak))
    return notes


def _as_features(x: np.ndarray, path: str, what: str) -> np.ndarray:
    if x.ndim == 0:
        raise DataError(f"{path}: {what} is a scalar, expected one row per sample")
    if x.dtype == np.bool_:
        x = x.astype(np.uint8)
    if x.dtype.kind not in "iuf":
        raise DataError(f"{path}: {what} must be numeric, found dtype {x.dtype}")
    if x.ndim == 1:
        x = x[:, None]
    if x.shape[0] == 0:
        raise DataError(f"{path}: {what} has no samples")
    if 0 in x.shape[1:]:
        raise DataError(f"{path}: no features: {what} has shape {x.shape}, zero values per sample")
    return x


def _as_labels(y: np.ndarray, path: str, what: str, *, matrix_ok: bool = False) -> np.ndarray:
    """One target per sample; with ``matrix_ok`` also an (N, L) matrix (multilabel: one
    0/1 column per label, which build.py checks against the task)."""
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim == 2 and matrix_ok and y.dtype.kind in "biuf":
        return y
    if y.ndim != 1:
        raise DataError(
            f"{path}: {what} must be 1-D (one label per sample), found {y.shape}"
            + (
                "; an (N, L) 0/1 matrix is a multilabel target (data.task: multilabel)"
                if y.ndim == 2
                else ""
            )
        )
    if y.dtype.kind not in "biufUS":
        raise DataError(f"{path}: {what} has unsupported dtype {y.dtype}")
    if y.dtype.kind == "S":
        y = np.char.decode(y, "utf-8", errors="replace")
    return y


def _same_length(path: str, a: np.ndarray, a_what: str, b: np.ndarray, b_what: str) -> None:
    if a.shape[0] != b.shape[0]:
        raise DataError(f"{path}: {a_what} has {a.shape[0]} samples but {b_what} has {b.shape[0]}")


# --------------------------------------------------------------------------- helpers


def _check_file(path: str) -> None:
    try:
        info = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise DataError(f"{path}: file not found") from None
        if exc.errno == errno.ELOOP:
            raise DataError(f"{path}: a symbolic link loop (the link points to itself)") from None
        raise DataError(f"{path}: cannot read file ({cut(exc.strerror or str(exc))})") from None
    except ValueError as exc:  # an embedded NUL byte
        raise DataError(f"{shown(path)}: not a usable path ({exc})") from None
    if os.path.isdir(path):
        raise DataError(f"{path}: is a directory, expected a data file")
    if not os.path.isfile(path):
        raise DataError(f"{path}: not a regular file (a device, pipe or socket)")
    if not os.access(path, os.R_OK):
        raise DataError(f"{path}: file is not readable (permission denied)")
    if info.st_size == 0:
        raise DataError(f"{path}: file is empty")


def _available(names: Sequence[str], wanted: str) -> str:
    text = f"available: {_list(names)}"
    if len(str(wanted)) > 200 or len(names) > 10_000:
        return text
    close = difflib.get_close_matches(str(wanted), [str(n) for n in names], n=1, cutoff=0.5)
    if close:
        text += f"; did you mean {shown(close[0])}?"
    return text


def _list(names: Sequence[Any], limit: int = 30) -> str:
    text = ", ".join(shown(str(n), 40) for n in names[:limit])
    if len(names) > limit:
        text += f", ... ({len(names)} in all)"
    return text or "(none)"


def _first_line(exc: BaseException) -> str:
    return cut(str(exc).strip() or type(exc).__name__, 200)
