"""Row sources that need not fit in memory: npy memory maps, folders of npy/npz shards,
parquet datasets, image folders.

Every source is a list of *parts*, each a 2-D array NumPy can slice (an ``np.memmap``
reads only the pages a slice touches; a parquet dataset or an image folder is spilled
once, batch by batch, into a memory-mapped ``.npy`` file in the temp folder). The
streaming data stage walks the parts in chunks of rows, so its memory is bounded by the
chunk size, not the data.
``take(rows)`` gathers a seeded sample or the rows a finding names, in the order asked.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
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
    # how a worker process reopens each part without the data travelling: a file path
    # (npy memory map, npz shard, parquet), or None for an array held in memory
    paths: tuple[str | None, ...] = ()
    # a parquet source: the dataset as given and its feature columns, which a Dask cluster
    # reads with dask.dataframe (the part itself is the local spill)
    origin: str | None = None
    columns: tuple[str, ...] = ()

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
        return RowSource((_memmap(p),), label, (str(p),))
    if p.is_file() and p.suffix == ".parquet":
        return _spilled(p, label)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix in (".npy", ".npz", ".parquet"))
        if not files:
            raise DataError(f"{label}: the folder holds no .npy, .npz or .parquet shards")
        kinds = {f.suffix for f in files}
        if kinds == {".parquet"}:
            return _spilled(p, label)
        if ".parquet" in kinds:
            raise DataError(f"{label}: mixes parquet with npy/npz shards")
        return RowSource(tuple(_shard(f) for f in files), label, tuple(str(f) for f in files))
    raise DataError(f"{label}: expected a .npy file, a .parquet file or a folder of shards")


def open_image_folder(
    folder: str | Path, image_size: tuple[int, int] | None = None, name: str | None = None
) -> tuple[RowSource, np.ndarray, list[str]]:
    """An image folder (one subfolder per class) as a ``RowSource``: the files decoded once,
    a batch at a time, into a memory-mapped ``.npy`` spill in the temp folder (as parquet
    is), so the decoded images need not fit in memory; with every file's class name and
    the decoding notes."""
    from nncheck.data.images import list_image_folder, spill_images

    label = name or str(folder)
    files, classes = list_image_folder(str(folder))
    rows, notes = spill_images(files, str(_spill_path("nncheck-images-")), image_size)
    kinds = len(set(classes))
    notes.insert(0, f"image folder: {len(files):,} files in {kinds} class subfolders, decoded once")
    return RowSource((rows,), label, (str(rows.filename),)), np.asarray(classes), notes


def _spill_path(prefix: str) -> Path:
    """A fresh ``rows.npy`` path in a temp folder removed when the run ends."""
    folder = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, folder, True)  # the spill lives as long as the run
    return Path(folder) / "rows.npy"


def reopen(path: str) -> np.ndarray:
    """A part opened again from its path (in a Dask worker): what ``open_rows`` made."""
    return _shard(Path(path))


def _spilled(path: Path, label: str) -> RowSource:
    arr, columns = _parquet(path)
    return RowSource((arr,), label, (str(arr.filename),), str(path), columns)


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


def _parquet(path: Path) -> tuple[np.ndarray, tuple[str, ...]]:
    """A parquet file or dataset spilled, one record batch at a time, into a memory-mapped
    ``.npy`` file in the temp folder (every numeric column a feature, in their common
    dtype): from then on it is read like any memory map, with memory bounded by a batch."""
    try:
        import pyarrow.dataset as pads
    except ImportError:
        raise DataError(f"{path}: reading parquet needs pyarrow (pip install pyarrow)") from None
    try:
        ds = pads.dataset(str(path), format="parquet")
        numeric = [f for f in ds.schema if pa_numeric(f.type)]
        if not numeric:
            raise DataError(f"{path}: no numeric column to use as features")
        columns = [f.name for f in numeric]
        dtype = np.result_type(*[np.dtype(f.type.to_pandas_dtype()) for f in numeric])
        n = int(ds.count_rows())
        spill = _spill_path("nncheck-parquet-")
        out = np.lib.format.open_memmap(spill, "w+", dtype, (n, len(columns)))
        row = 0
        for batch in ds.to_batches(columns=columns):
            k = batch.num_rows
            for j, name in enumerate(columns):
                col = batch.column(name).to_numpy(zero_copy_only=False)
                out[row : row + k, j] = col
            row += k
        out.flush()
        del out
    except OSError as exc:
        raise DataError(f"{path}: not a readable parquet dataset ({exc})") from None
    return _memmap(spill), tuple(columns)


def pa_numeric(t: object) -> bool:
    """Whether a pyarrow type is a number (or bool) column."""
    import pyarrow.types as pt

    return bool(pt.is_integer(t) or pt.is_floating(t) or pt.is_boolean(t))
