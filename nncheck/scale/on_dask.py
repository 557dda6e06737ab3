"""The streaming data stage's per-chunk work as a Dask graph, on a cluster.

``run_stage(..., mapper=dask_mapper(client))`` turns every chunk of every part into one
task: the worker reopens the part from its path (an npy memory map, an npz shard, a
parquet file), reads its rows and applies the stage's function (statistics and blanks,
projection), so no data travels to the workers, only a few numbers per row come back.
Results are gathered in chunk order and reduced exactly as in process, which is why both
paths give the same findings. Row hashing and the neighbour search run in the client
process on what the tasks returned (docs/scale.md).

``connect`` starts a ``LocalCluster`` (``workers`` processes, one thread each) unless a
scheduler address is given, by argument or by ``NNCHECK_DASK_SCHEDULER``
(``tcp://host:8786``). dask[distributed] is the optional extra ``dask``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
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
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
    )
    return Client(cluster)


def _apply(fn: Callable[[int, np.ndarray], Any], path: str, offset: int, s: int, e: int) -> Any:
    part = reopen(path)
    block = np.asarray(part[s:e])
    return fn(offset + s, block.reshape(len(block), -1))


def dask_mapper(
    client: Any,
) -> Callable[[Callable[[int, np.ndarray], Any], RowSource, int], Iterator[Any]]:
    """A ``mapper`` for ``run_stage`` that runs each chunk as a task on ``client``."""
    import dask

    def mapper(fn: Callable[[int, np.ndarray], Any], src: RowSource, rows: int) -> Iterator[Any]:
        if len(src.paths) != len(src.parts) or any(p is None for p in src.paths):
            raise UsageError(f"{src.name}: the Dask engine needs data read from files")
        tasks, offset = [], 0
        for part, path in zip(src.parts, src.paths):
            n = int(part.shape[0])
            for s in range(0, n, rows):
                tasks.append(dask.delayed(_apply)(fn, path, offset, s, min(n, s + rows)))
            offset += n
        futures = client.compute(tasks)
        for future in futures:  # in chunk order, as the in-process path
            yield future.result()

    return mapper
