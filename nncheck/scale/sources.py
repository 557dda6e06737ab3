"""Row sources that need not fit in memory: npy memory maps, folders of npy/npz shards,
parquet datasets.

Every source is a list of *parts*, each a 2-D array-like that NumPy can slice (an
``np.memmap`` reads only the pages a slice touches; a parquet part is read one row group
at a time). The streaming data stage walks the parts in chunks of rows, so its memory is
bounded by the chunk size, not by the data. ``take(rows)`` gathers a seeded sample or the
rows a finding names, in the order asked.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nncheck.errors import DataError


@dataclass(frozen=True)
class RowSource:
    """Rows of one split, as one or more 2-D parts stacked in order."""

    parts: tuple[np.ndarray, ...]
    name: str

    def __post_init__(self) -> None:
        widths = {int(np.prod(p.shape[1:])) for p in self.parts}
        if len(widths) > 1:
            raise DataError(f"{self.name}: parts have different row sizes {sorted(widths)}")

    def __len__(self) -> int:
        return sum(int(p.shape[0]) for p in self.parts)

    @property
    def width(self) -> int:
        return int(np.prod(self.parts[0].shape[1:])) if self.parts else 0

    @property
    def dtype(self) -> np.dtype:
        return self.parts[0].dtype if self.parts else np.dtype(np.float32)

    def chunks(self, rows: int) -> Iterator[tuple[int, np.ndarray]]:
        """(first row, chunk) for consecutive chunks of at most ``rows`` rows, 2-D."""
        start = 0
        for part in self.parts:
            n = int(part.shape[0])
            for s in range(0, n, rows):
                block = np.asarray(part[s : s + rows])
                yield start + s, block.reshape(len(block), -1)
            start += n

    def take(self, rows: np.ndarray) -> np.ndarray:
        """The rows at these positions (any order), 2-D, in memory."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), self.width), self.dtype)
        bounds = np.cumsum([0] + [int(p.shape[0]) for p in self.parts])
        which = np.searchsorted(bounds, rows, side="right") - 1
        for k, part in enumerate(self.parts):
            sel = np.flatnonzero(which == k)
            if len(sel):
                local = rows[sel] - bounds[k]
                order = np.argsort(local, kind="stable")  # sorted reads: sequential pages
                got = np.asarray(part[local[order]])
                out[sel[order]] = got.reshape(len(got), -1)
        return out

    def as_array(self) -> np.ndarray:
        """One array over all rows: the part itself when there is one (a memmap stays a
        memmap), else a copy (used where an algorithm needs random access by position)."""
        if len(self.parts) == 1:
            p = self.parts[0]
            return p.reshape(len(p), -1)
        return np.concatenate([p.reshape(len(p), -1) for p in self.parts])


def open_rows(path: str | Path, name: str | None = None) -> RowSource:
    """A ``RowSource`` for an ``.npy`` file (memory-mapped), a folder of ``.npy``/``.npz``
    shards (sorted by name; ``.npz`` shards give their first array, or ``x``), or a parquet
    file or folder (every numeric column is a feature; read with pyarrow)."""
    p = Path(path)
    label = name or str(p)
    if not p.exists():
        raise DataError(f"{label}: no such file or folder")
    if p.is_file() and p.suffix == ".npy":
        return RowSource((_memmap(p),), label)
    if p.is_file() and p.suffix == ".parquet":
        return RowSource((_parquet(p),), label)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix in (".npy", ".npz", ".parquet"))
        if not files:
            raise DataError(f"{label}: the folder holds no .npy, .npz or .parquet shards")
        kinds = {f.suffix for f in files}
        if kinds == {".parquet"}:
            return RowSource((_parquet(p),), label)
        if ".parquet" in kinds:
            raise DataError(f"{label}: mixes parquet with npy/npz shards")
        return RowSource(tuple(_shard(f) for f in files), label)
    raise DataError(f"{label}: expected a .npy file, a .parquet file or a folder of shards")


def _memmap(path: Path) -> np.ndarray:
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise DataError(f"{path}: not a readable .npy array ({exc})") from None
    if arr.ndim < 1:
        raise DataError(f"{path}: a 0-d array has no rows")
    return arr if arr.ndim > 1 else arr.reshape(-1, 1)


def _shard(path: Path) -> np.ndarray:
    if path.suffix == ".npy":
        return _memmap(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            key = "x" if "x" in z.files else (z.files[0] if z.files else None)
            if key is None:
                raise DataError(f"{path}: the .npz file holds no array")
            arr = z[key]  # npz members are compressed or zipped: read whole, one shard
    except (ValueError, OSError) as exc:
        raise DataError(f"{path}: not a readable .npz file ({exc})") from None
    return arr if arr.ndim > 1 else arr.reshape(-1, 1)


class _ParquetRows:
    """A parquet file or dataset as a sliceable (n, columns) array, read by row range."""

    def __init__(self, path: Path) -> None:
        import pyarrow.dataset as pads

        self._ds = pads.dataset(str(path), format="parquet")
        numeric = [
            f.name
            for f in self._ds.schema
            if str(f.type).startswith(("int", "uint", "float", "double", "bool"))
        ]
        if not numeric:
            raise DataError(f"{path}: no numeric column to use as features")
        self.columns = numeric
        self._n = int(self._ds.count_rows())
        self.shape = (self._n, len(numeric))
        self.dtype = np.dtype(np.float64)

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, key: slice | np.ndarray) -> np.ndarray:
        if isinstance(key, slice):
            start, stop, _ = key.indices(self._n)
            rows = np.arange(start, max(start, stop), dtype=np.int64)
        else:
            rows = np.asarray(key, dtype=np.int64)
        # Dataset.take reads only the row groups holding these rows
        table = self._ds.take(rows, columns=self.columns)
        return np.column_stack(
            [
                table.column(c).to_numpy(zero_copy_only=False).astype(np.float64)
                for c in self.columns
            ]
        )

    def reshape(self, *shape: int) -> _ParquetRows:
        return self


def _parquet(path: Path) -> np.ndarray:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise DataError(f"{path}: reading parquet needs pyarrow (pip install pyarrow)") from None
    return _ParquetRows(path)  # type: ignore[return-value]
