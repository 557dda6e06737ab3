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

import difflib
import importlib.util
import os
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from nncheck.data.idx import is_idx_name, read_idx
from nncheck.errors import DataError
from nncheck.recipe.schema import CsvOptions, PairSource

if TYPE_CHECKING:
    from nncheck.data.dialect import Dialect
    from nncheck.data.tables import Column, RawTable

# npz keys holding the features, in order of preference.
X_KEYS: tuple[str, ...] = ("x", "X", "inputs", "images")
# npz keys tried for the target when the recipe does not name one.
Y_KEYS: tuple[str, ...] = ("y", "Y", "labels", "label", "target", "targets")

_CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zip", ".csv.zst")
_NPY_MAGIC = b"\x93NUMPY"


@dataclass(frozen=True)
class RawSplit:
    """One source (a file or an images/labels pair) as read, before any encoding."""

    x: np.ndarray | None  # (n, *shape) numeric features in their stored dtype; None for tables
    y_raw: np.ndarray  # (n,) target values as found (numbers or strings)
    y2_raw: np.ndarray | None  # (n,) second annotation as found, when asked for
    feature_names: tuple[str, ...] | None  # column names for tables, None for arrays
    source: str  # path, or "images + labels" for a pair
    is_image: bool  # an array with >= 2 per-sample dimensions (IDX, image npz/npy)
    target: str | int | None  # the column/key/index actually used (after guessing)
    notes: tuple[str, ...] = ()
    table: RawTable | None = None  # tables: the columns as read (encoded in build.py)

    def __len__(self) -> int:
        if self.table is not None:
            return self.table.n_rows
        assert self.x is not None
        return int(self.x.shape[0])


def load_source(
    source: str | PairSource,
    target: str | int | None = None,
    second_annotation: str | None = None,
    csv: CsvOptions | None = None,
) -> RawSplit:
    """Read one recipe source (an absolute path or an images/labels pair) by its extension.

    ``target`` is a column name (csv/parquet), an array key (npz) or a column index (npy);
    None lets the reader pick a conventional name (and say so in ``notes``).
    """
    if isinstance(source, PairSource):
        if second_annotation is not None:
            raise DataError(
                f"{source.images}: second_annotation needs a table (csv/parquet) or an npz"
                " key; an images/labels pair has only one labelling"
            )
        return read_pair(source.images, source.labels)
    path = str(source)
    _check_file(path)
    name = path.lower()
    if name.endswith(_CSV_SUFFIXES):
        return read_csv(path, target, second_annotation, csv)
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
        f"{path}: unknown data format {ext!r}; expected .csv, .parquet, .npz, .npy,"
        " or {images: ..., labels: ...} for IDX / .npy pairs"
    )


# --------------------------------------------------------------------------- tables


def read_csv(
    path: str,
    target: str | int | None = None,
    second: str | None = None,
    options: CsvOptions | None = None,
) -> RawSplit:
    """Read a CSV in its own dialect (sniffed, or as ``options`` say) as text cells; the
    target and second annotation are columns."""
    import pandas as pd

    from nncheck.data.dialect import sniff

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
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataError(f"{path}: cannot read CSV ({_first_line(exc)})") from None
    if not dialect.header:
        df.columns = [f"col_{j + 1}" for j in range(df.shape[1])]
    notes.insert(0, dialect.describe())
    return _from_frame(df, path, target, second, dialect, notes)


def _read_csv_text(path: str, dialect: Dialect) -> Any:
    """Every cell as text: missing markers and numbers are told apart in tables.py."""
    import pandas as pd

    return pd.read_csv(
        path,
        sep=dialect.delimiter,
        header=0 if dialect.header else None,
        encoding=dialect.encoding,
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        skipinitialspace=True,
    )


def read_parquet(path: str, target: str | int | None = None, second: str | None = None) -> RawSplit:
    """Read a parquet file (needs pyarrow, an optional dependency)."""
    if importlib.util.find_spec("pyarrow") is None:
        raise DataError("reading parquet needs pyarrow: pip install nncheck[parquet]")
    import pandas as pd

    try:
        df = pd.read_parquet(path, engine="pyarrow")
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for a bad file
        raise DataError(f"{path}: cannot read parquet ({_first_line(exc)})") from None
    return _from_frame(df, path, target, second, None, [])


def _from_frame(
    df: Any,
    path: str,
    target: str | int | None,
    second: str | None,
    dialect: Dialect | None,
    notes: list[str],
) -> RawSplit:
    from nncheck.data.tables import RawTable, parse_column, target_values

    columns = [str(c) for c in df.columns]
    df.columns = columns
    if len(df) == 0:
        raise DataError(f"{path}: no data rows (columns: {_list(columns)})")
    decimal = dialect.decimal if dialect is not None else "."
    parsed = [parse_column(c, df.iloc[:, j], decimal) for j, c in enumerate(columns)]
    tcol = _resolve_target_column(path, columns, target, notes, parsed)
    drop = [tcol]
    if second is not None:
        scol = _resolve_named(path, columns, second, "second_annotation column")
        if scol == tcol:
            raise DataError(f"{path}: second_annotation {second!r} is the target column itself")
        drop.append(scol)
    features = tuple(c for c in parsed if c.name not in drop)
    if not features:
        raise DataError(f"{path}: no feature columns left besides {_list(drop)}")
    y2 = target_values(df[drop[1]], decimal) if len(drop) > 1 else None
    return RawSplit(
        x=None,
        y_raw=target_values(df[tcol], decimal),
        y2_raw=y2,
        feature_names=tuple(c.name for c in features),
        source=path,
        is_image=False,
        target=tcol,
        notes=tuple(notes),
        table=RawTable(features, len(df), path, dialect),
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
        notes.append(f"target not given: using column {col!r} ({why})")
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
    raise DataError(f"{path}: {what} {wanted!r} not found; {_available(names, wanted)}")


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
                notes.append(f"target not given: using key {ykey!r}")
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
            y2 = _as_labels(_npz_get(archive, path, skey), path, f"key {skey!r}")
    x = _as_features(x, path, f"key {xkey!r}")
    y = _as_labels(y, path, f"key {ykey!r}")
    _same_length(path, x, f"key {xkey!r}", y, f"key {ykey!r}")
    if y2 is not None:
        _same_length(path, x, f"key {xkey!r}", y2, f"key {second!r}")
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


def _npz_get(archive: Any, path: str, key: str) -> np.ndarray:
    try:
        return archive[key]
    except ValueError as exc:
        if "pickle" in str(exc):
            raise DataError(_pickle_message(path, f"key {key!r}")) from None
        raise DataError(f"{path}: key {key!r} cannot be read ({_first_line(exc)})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: key {key!r} cannot be read ({_first_line(exc)})") from None


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
            f"{path}: {what} of a .npy array must be a column index (e.g. -1), got {value!r}"
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
    )


def _read_pair_file(path: str, role: str) -> np.ndarray:
    _check_file(path)
    with open(path, "rb") as fh:
        is_npy = fh.read(6) == _NPY_MAGIC
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
    try:
        arr = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc):
            raise DataError(_pickle_message(path, "the array")) from None
        raise DataError(f"{path}: not a valid .npy file ({_first_line(exc)})") from None
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read .npy file ({_first_line(exc)})") from None
    if not isinstance(arr, np.ndarray):
        raise DataError(f"{path}: is an .npz archive, not a single .npy array; rename it .npz")
    return arr


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
    return x


def _as_labels(y: np.ndarray, path: str, what: str) -> np.ndarray:
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(f"{path}: {what} must be 1-D (one label per sample), found {y.shape}")
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
    if not os.path.exists(path):
        raise DataError(f"{path}: file not found")
    if os.path.isdir(path):
        raise DataError(f"{path}: is a directory, expected a data file")
    if not os.access(path, os.R_OK):
        raise DataError(f"{path}: file is not readable (permission denied)")
    if os.path.getsize(path) == 0:
        raise DataError(f"{path}: file is empty")


def _pickle_message(path: str, what: str) -> str:
    return (
        f"{path}: {what} holds Python objects and needs pickle, which nncheck never loads"
        " (unpickling can run arbitrary code); save numbers or fixed-width strings instead"
    )


def _available(names: Sequence[str], wanted: str) -> str:
    text = f"available: {_list(names)}"
    close = difflib.get_close_matches(str(wanted), [str(n) for n in names], n=1, cutoff=0.5)
    if close:
        text += f"; did you mean {close[0]!r}?"
    return text


def _list(names: Sequence[Any], limit: int = 30) -> str:
    shown = ", ".join(repr(str(n)) for n in names[:limit])
    if len(names) > limit:
        shown += f", ... ({len(names)} in all)"
    return shown or "(none)"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
