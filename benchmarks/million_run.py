"""`nncheck run` on the million-image dataset, as a user runs it: data.engine stream.

Make the data first (``python benchmarks/make_million.py``), then::

    python benchmarks/million_run.py [DIR] [--dask] [--stages data] [--repeats 1]

Writes ``million.yaml`` beside the data (train and test as npy memory maps, engine stream
or dask; the other checks and the model stages on the default seeded sample of 60,000 rows
per split), runs the CLI in a subprocess, and prints the wall time a user waits (process
start, loading, every check, the report), the peak RSS of the run, each check's seconds
from results.json, and what the streamed checks counted against the planted truth: 2,000
exact duplicates (plus the 499 repeats among the 500 planted blanks), 5,000 near-duplicate
pairs, 1,000 exact and 1,000 near leaks. With ``--dask`` the benchmark starts a 2-worker
LocalCluster itself, passes its address (``--dask ADDRESS``) and reads the workers' peak
RSS back from them. The issue's target for the data stage: <= 90 s on 2
cores, peak RSS < 4 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
TARGET_S, TARGET_RSS_GB = 90.0, 4.0


def _recipe(folder: Path, engine: str) -> Path:
    recipe = {
        "name": f"million-{engine}",
        "data": {
            "train": {"images": "train_x.npy", "labels": "train_y.npy"},
            "test": {"images": "test_x.npy", "labels": "test_y.npy"},
            "classes": 10,
            "normalize": "scale255",
            "engine": engine,
        },
        "model": {"hidden": [256], "activation": "relu", "init": "he"},
        "train": {"optimizer": "adam", "lr": 0.001, "batch_size": 128, "steps": 500},
        "report": {"dir": f"report-{engine}"},
    }
    path = folder / f"million-{engine}.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


def _run(recipe: Path, stages: list[str], address: str | None) -> tuple[float, float, int]:
    cmd = [sys.executable, "-m", "nncheck", "run", str(recipe), "--quiet"]
    if address:
        cmd += ["--dask", address]
    if stages:
        cmd += ["--only", *stages]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run(cmd, env={**os.environ, "PYTHONPATH": str(ROOT)}, text=True)
    wall = time.perf_counter() - start
    rss = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024**2
    return wall, rss, proc.returncode


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", nargs="?", default="/tmp/nncheck-million")
    parser.add_argument(
        "--dask", action="store_true", help="data.engine: dask, on a 2-worker LocalCluster"
    )
    parser.add_argument("--stages", nargs="*", default=["data"], help="--only (none: all)")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    folder = Path(args.dir)
    engine = "dask" if args.dask else "stream"
    recipe = _recipe(folder, engine)
    client = None
    if args.dask:  # the benchmark's own 2-worker cluster, so its workers can be measured
        from distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0")
        client = Client(cluster)
    load = os.getloadavg()
    address = client.scheduler.address if client is not None else None
    runs = [_run(recipe, args.stages, address) for _ in range(args.repeats)]
    if any(r[2] not in (0, 1) for r in runs):  # a crash: results.json would be stale
        print(f"nncheck run exited {[r[2] for r in runs]}: no figures", file=sys.stderr)
        return 1
    wall = statistics.median(r[0] for r in runs)
    rss = max(r[1] for r in runs)
    results = json.loads((folder / f"report-{engine}" / "results.json").read_text())
    print(f"nncheck run {recipe.name} (engine {engine}, --only {' '.join(args.stages) or '-'})")
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; exit {runs[-1][2]}")
    by_id = {c["id"]: c for c in results["checks"]}
    for c in results["checks"]:
        if c["status"] != "skip":
            print(f"  {c['id']:30s} {c['duration_s']:7.2f} s  {c['status']}")
    truth = np.load(folder / "truth.npz")
    dup = by_id.get("data.duplicates", {}).get("metrics", {})
    leak = by_id.get("data.leakage", {}).get("metrics", {})
    near = by_id.get("data.near_duplicates", {}).get("metrics", {})
    print(
        "  counted over all rows: "
        f"{dup.get('train_redundant_rows')} redundant train rows"
        f" (planted {len(truth['exact_dup_pairs'])} + {len(truth['blanks']) - 1} blank repeats),"
        f" {near.get('train_pairs')} near pairs (planted {len(truth['near_dup_pairs'])}),"
        f" {leak.get('exact')} exact + {leak.get('near')} near leaks"
        f" (planted {len(truth['exact_leaks'])} + {len(truth['near_leaks'])})"
    )
    conflicts = by_id.get("data.label_conflicts", {}).get("metrics", {})
    if conflicts:
        print(
            f"  label conflicts over all rows: {conflicts.get('exact_conflict_groups')} groups"
            f" of identical rows, {conflicts.get('near_conflict_pairs')} near pairs"
        )
    print(f"wall (median of {args.repeats}) {wall:.1f} s; peak RSS {rss:.2f} GB (the run)")
    if client is not None:
        peaks = client.run(_peak_rss_gb)
        print(
            "Dask workers' peak RSS: "
            + ", ".join(f"{gb:.2f} GB" for gb in peaks.values())
            + " (2 workers, 1 thread each, the cluster started by this benchmark)"
        )
        client.close()
    ok = wall <= TARGET_S and rss < TARGET_RSS_GB
    print(
        f"{'within' if ok else 'OUTSIDE'} the targets (<= {TARGET_S:g} s, < {TARGET_RSS_GB:g} GB)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
