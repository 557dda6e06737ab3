"""Run the streaming data stage (nncheck.scale) on the million-image dataset and score it.

Make the data first (``python benchmarks/make_million.py``), then::

    python benchmarks/million_data_stage.py [DIR] [--dask] [--workers 2] [--repeats 1]

Prints each phase's time, the total, the peak resident memory of this process (and of
the Dask workers with ``--dask``), and the recall of every planted problem against
``truth.npz``. The issue's target: <= 90 s on 2 cores, peak RSS < 4 GB, near-duplicate
recall >= 95%. The inputs are read as npy memory maps: pages of the files that were read
count in RSS (they are shared, clean and droppable, but counted here all the same).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TARGET_S, TARGET_RSS_GB, TARGET_RECALL = 90.0, 4.0, 0.95


def _recall(found: np.ndarray, planted: np.ndarray) -> float:
    return float(np.isin(planted, found).mean()) if len(planted) else 1.0


def _pair_recall(found: np.ndarray, planted: np.ndarray, n: int) -> float:
    key = lambda p: np.minimum(p[:, 0], p[:, 1]) * n + np.maximum(p[:, 0], p[:, 1])  # noqa: E731
    return float(np.isin(key(planted), key(found)).mean()) if len(planted) else 1.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", nargs="?", default="/tmp/nncheck-million")
    parser.add_argument("--dask", action="store_true", help="run on a LocalCluster")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from nncheck.scale.sources import open_rows
    from nncheck.scale.stage import local_map, run_stage

    folder = Path(args.dir)
    train = open_rows(folder / "train_x.npy", "train")
    test = open_rows(folder / "test_x.npy", "test")
    truth = np.load(folder / "truth.npz")
    mapper, client = local_map, None
    if args.dask:
        from nncheck.scale.on_dask import connect, dask_mapper

        client = connect(None, workers=args.workers)
        mapper = dask_mapper(client)
    totals, cpus, found = [], [], None
    load = os.getloadavg()
    for _ in range(args.repeats):
        start, cpu = time.perf_counter(), time.process_time()
        # the images' corruption statistics too, as `nncheck run` asks for them
        found = run_stage(train, test, mapper=mapper, image_shape=(28, 28))
        totals.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    assert found is not None
    rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"{len(train):,} train + {len(test):,} test rows of {train.width} {train.dtype}")
    engine = f"dask, {args.workers} workers" if args.dask else "in process"
    print(f"engine: {engine}; load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    for phase, secs in found.seconds.items():
        print(f"  {phase:28s} {secs:7.2f} s")
    total = statistics.median(totals)
    print(
        f"total (median of {args.repeats}) {total:.1f} s; peak RSS {rss_gb:.2f} GB (this process)"
    )
    if client is not None:
        mem = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        print(
            f"  dask workers' peak RSS: {', '.join(f'{v / 1024**2:.2f} GB' for v in mem.values())}"
        )
    n = len(train)
    near = _pair_recall(found.near_pairs, truth["near_dup_pairs"], n)
    rows = {
        # the later row of a planted pair repeats the earlier one
        "exact duplicates": _recall(found.train_duplicate_rows, truth["exact_dup_pairs"].max(1)),
        "near duplicates": near,
        "blanks": _recall(found.blanks_train, truth["blanks"]),
        "exact leaks": _recall(found.exact_leaks[:, 0], truth["exact_leaks"][:, 0]),
        "near leaks": _recall(found.near_leaks[:, 0], truth["near_leaks"][:, 0]),
    }
    for name, value in rows.items():
        print(f"  recall of planted {name:17s} {100 * value:6.2f}%")
    print(
        f"found: {found.summary()}\n"
        f"radius {found.radius:.1f} = 0.15 x sampled median neighbour distance {found.scale:.1f}"
    )
    ok = total <= TARGET_S and rss_gb < TARGET_RSS_GB and near >= TARGET_RECALL
    print(
        f"{'within' if ok else 'OUTSIDE'} the targets (<= {TARGET_S:g} s, < {TARGET_RSS_GB:g} GB, "
        f"near-duplicate recall >= {100 * TARGET_RECALL:g}%)"
    )
    if client is not None:
        client.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
