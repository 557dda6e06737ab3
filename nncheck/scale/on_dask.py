"""The streaming data stage's per-chunk work as a Dask graph, on a cluster.

``run_stage(..., mapper=dask_mapper(client))`` views each split as a ``dask.array``
(``source_array``: npy memory maps and npy/npz shards through ``from_array`` over a reader
that reopens the file where the task runs; parquet through ``dask.dataframe.read_parquet``)
chunked exactly as the in-process path walks it, and applies the stage's per-chunk
function (row hashes, statistics and blanks, projection) to every block as one task. No
data travels from the client; a few numbers per row come back, gathered in chunk order and
reduced exactly as in process, which is why both paths give the same findings. Grouping
the hashes (reading again only rows that share one) and the neighbour search run in the
client process (docs/scale.md).

``connect`` starts a ``LocalCluster`` (``workers`` processes, one thread each) unless a
scheduler address is given, by argument or by ``NNCHECK_DASK_SCHEDULER``
(``tcp://host:8786``). dask[distributed] is the optional extra ``dask``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

import numpy as np

from nncheck.errors import UsageError
from nncheck.scale.sources import RowSource, reopen

ENV_SCHEDULER = "NNCHECK_DASK_SCHEDULER"


def connect(address: str | None = None, *, workers: int = 2) -> Any:
    """A ``distributed.Client``: at ``address`` (or $NNCHECK_DASK_SCHEDULER), else on a
    fresh LocalCluster of ``workers`` single-threaded processes."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise UsageError(
            "the Dask engine needs dask[distributed]: pip install 'nncheck[dask]'"
        ) from None
    address = address or os.environ.get(ENV_SCHEDULER) or None
    if address:
        try:
            return Client(address, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise UsageError(f"no Dask scheduler answers at {address!r} ({exc})") from None
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    return Client(cluster)


class PartOnDisk:
    """One part as ``dask.array.from_array`` reads it: its shape and dtype, and rows read
    by reopening the file in the worker, so only the path travels in the graph (a memory
    map pickled would carry all its bytes)."""

    def __init__(self, path: str, shape: tuple[int, int], dtype: np.dtype) -> None:
        self.path, self.shape, self.dtype = path, shape, np.dtype(dtype)
        self.ndim = 2

    def __getitem__(self, key: Any) -> np.ndarray:
        part = _opened(self.path)
        return np.asarray(part.reshape(len(part), -1)[key])


@lru_cache(maxsize=2)  # an npz shard is read whole: once per worker, not once per chunk
def _opened(path: str) -> np.ndarray:
    return reopen(path)


def source_array(src: RowSource, rows: int) -> Any:
    """The split as a ``dask.array`` of 2-D rows, chunked as ``RowSource.chunks(rows)``
    walks it (chunks restart at each part), so every block is a chunk of the in-process
    path. Parquet is read with ``dask.dataframe`` from the dataset itself, then rechunked
    to the rows of the local spill."""
    import dask.array as da
    from dask.base import tokenize

    if src.origin is not None:
        import dask.dataframe as dd

        frame = dd.read_parquet(src.origin, columns=list(src.columns))
        arr = frame.to_dask_array(lengths=True).astype(src.dtype)
        return arr.rechunk((rows, src.width))
    if len(src.paths) != len(src.parts) or any(p is None for p in src.paths):
        raise UsageError(f"{src.name}: the Dask engine needs data read from files")
    arrays = []
    for part, path in zip(src.parts, src.paths):
        assert path is not None
        shape = (int(part.shape[0]), int(np.prod(part.shape[1:])))
        lazy = PartOnDisk(path, shape, part.dtype)
        name = "nncheck-rows-" + tokenize(path, shape, str(part.dtype))
        arrays.append(da.from_array(lazy, chunks=(rows, shape[1]), name=name, asarray=True))
    return da.concatenate(arrays, axis=0)


def _apply(
    block: np.ndarray, fn: Callable[[int, np.ndarray], Any], block_info: Any = None
) -> np.ndarray:
    """``fn(first row, block)`` as one cell of an object array (map_blocks' result must be
    an array), so the read and the work are one fused task: the rows never travel."""
    start = int(block_info[0]["array-location"][0][0])
    out = np.empty((1, 1), object)
    out[0, 0] = fn(start, np.asarray(block).reshape(len(block), -1))
    return out


def dask_mapper(
    client: Any,
) -> Callable[[Callable[[int, np.ndarray], Any], RowSource, int], Iterator[Any]]:
    """A ``mapper`` for ``run_stage``: ``fn`` mapped over the blocks of ``source_array``
    (``map_blocks``: each block read and worked on by one task, where it runs), on
    ``client``; the results come back in chunk order."""

    def mapper(fn: Callable[[int, np.ndarray], Any], src: RowSource, rows: int) -> Iterator[Any]:
        arr = source_array(src, rows)
        cells = arr.map_blocks(
            _apply, fn=fn, dtype=object, chunks=((1,) * len(arr.chunks[0]), (1,))
        )
        futures = client.compute(cells.to_delayed().ravel().tolist())
        for future in futures:  # in chunk order, as the in-process path
            yield future.result()[0, 0]

    return mapper
