"""Time the whole data stage on MNIST, against scikit-learn's exact neighbour search.

The issue's targets: every registered ``data.*`` check on MNIST (60,000 train + 10,000
test) in <= 7 s wall on 2 cores, memory bounded by chunk sizes (no n x n array), and
>= 99% recall of planted near duplicates. This script measures all three::

    python benchmarks/data_stage.py [RECIPE] [--repeats 3] [--threads N] [--plant 500]
                                    [--sklearn-queries 10000] [--no-sklearn]
                                    [--json FILE]

1. The data stage, exactly as ``nncheck run`` runs it (same registry, runner and shared
   memo), on a fresh context per repeat: each check's median wall time, the median total,
   process CPU time, and the peak memory the stage allocated (tracemalloc, one extra run;
   NumPy reports its buffers to it) next to what an n x n float32 distance matrix would
   need.
2. scikit-learn's exact search, ``NearestNeighbors(algorithm="brute")``, on the same
   arrays (pixels / 255) when scikit-learn is installed (a benchmark extra, not a
   dependency): test -> train nearest neighbour, and train -> train (2 neighbours) on
   ``--sklearn-queries`` training rows, extrapolated linearly to all 60,000 when fewer.
3. Recall on planted pairs: ``--plant`` test images are copied into train (replacing
   random training rows) exactly, re-encoded (multiples of 8 grey levels), with +-1 grey
   level, with gaussian noise (sigma 3 and 5 grey levels), and shifted by one pixel; as
   many training images get such a copy elsewhere in train. The data stage runs on that
   data; reported: the share of planted test copies ``data.leakage`` flags, of planted
   train copies ``data.near_duplicates`` flags, per kind, false positives, and recall
   against the exact search (the planted pairs that scikit-learn's exact search puts
   within the same radius).

``--json FILE`` also writes the figures as JSON (``benchmarks/run_all.py`` reads them).
``--threads`` sets OpenBLAS/OMP threads before NumPy loads. On a machine shared with other
jobs, wall times can be several times the CPU time; both are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 7.0
KINDS = ("exact", "round8", "pm1", "noise3", "noise5", "shift1")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("recipe", nargs="?", default=str(ROOT / "recipes" / "mnist.yaml"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--plant", type=int, default=500)
    parser.add_argument("--sklearn-queries", type=int, default=10000)
    parser.add_argument("--no-sklearn", action="store_true")
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args()
    if args.threads:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    sys.path.insert(0, str(ROOT))
    import numpy as np

    from nncheck.checks.registry import load_all
    from nncheck.checks.runner import run_checks
    from nncheck.recipe.checks_section import parse_checks_section
    from nncheck.recipe.load import read_recipe
    from nncheck.run import blas_threads, build_context

    recipe = read_recipe(args.recipe)
    start = time.perf_counter()
    base = build_context(recipe)  # exactly what `nncheck run` builds
    dataset = base.dataset
    load_s = time.perf_counter() - start
    all_specs = load_all()
    thresholds, _, _ = parse_checks_section(recipe.checks, all_specs)
    specs = [s for s in all_specs.values() if s.stage == "data"]

    def run(ds: Any) -> tuple[list[Any], float, float, Any]:
        # the engine config's prior comes from the unplanted data; data checks do not read it
        ctx = replace(base, dataset=ds, results={}, _memo={})
        wall, cpu = time.perf_counter(), time.process_time()
        with blas_threads():  # the BLAS thread setting `nncheck run` uses
            results = run_checks(ctx, specs, thresholds)
        return results, time.perf_counter() - wall, time.process_time() - cpu, ctx

    n_tr, n_te = len(dataset.train), len(dataset.test)
    threads = args.threads or os.cpu_count()
    print(f"recipe {args.recipe}: {n_tr} train + {n_te} test, input {dataset.input_shape}")
    print(f"data loading {load_s:.2f} s (not counted); {args.repeats} repeats, threads {threads}")

    # ---- 1. the data stage on the data as it is
    per_check: dict[str, list[float]] = {s.id: [] for s in specs}
    statuses: dict[str, str] = {}
    totals, cpus = [], []
    for _ in range(args.repeats):
        results, wall, cpu, _ = run(dataset)
        totals.append(wall)
        cpus.append(cpu)
        for r in results:
            per_check[r.id].append(r.duration_s)
            statuses[r.id] = r.status
    print(f"\n{'check':24s} {'status':6s} {'median s':>9s} {'min s':>7s}")
    for check_id, times in per_check.items():
        print(
            f"{check_id:24s} {statuses[check_id]:6s} {statistics.median(times):9.2f} "
            f"{min(times):7.2f}"
        )
    total = statistics.median(totals)
    print(
        f"{'total (median)':24s} {'':6s} {total:9.2f} {min(totals):7.2f}   "
        f"(CPU {statistics.median(cpus):.2f} s)"
    )
    tracemalloc.start()
    run(dataset)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    data_mib = (dataset.train.x.nbytes + dataset.test.x.nbytes) / 2**20
    nn_gib = 4.0 * n_tr * n_tr / 2**30
    print(
        f"peak memory allocated by the stage {peak / 2**20:.0f} MiB (tracemalloc); process "
        f"peak RSS {rss:.0f} MiB; the normalized data itself {data_mib:.0f} MiB; an n x n "
        f"float32 distance matrix for train would be {nn_gib:.1f} GiB"
    )
    verdict = "within" if total <= BUDGET_S else "OVER"
    print(f"{verdict} the {BUDGET_S:.0f} s budget (median wall)")
    fig: dict[str, Any] = {
        "n_train": n_tr,
        "n_test": n_te,
        "repeats": args.repeats,
        "load_s": load_s,
        "checks": {
            c: {"status": statuses[c], "median_s": statistics.median(t), "min_s": min(t)}
            for c, t in per_check.items()
        },
        "total_s": total,
        "total_min_s": min(totals),
        "cpu_s": statistics.median(cpus),
        "peak_alloc_mib": peak / 2**20,
        "peak_rss_mib": rss,
        "data_mib": data_mib,
        "nxn_gib": nn_gib,
    }

    def dump() -> None:
        if args.json:
            Path(args.json).write_text(json.dumps(fig, indent=2))

    dump()

    # ---- 2. scikit-learn's exact search on the same arrays
    xtr = dataset.train.x_raw.reshape(n_tr, -1).astype(np.float32) / 255.0
    xte = dataset.test.x_raw.reshape(n_te, -1).astype(np.float32) / 255.0
    if not dataset.is_image or dataset.train.x_raw.dtype != np.uint8:
        print("(not uint8 images: the benchmark's planted copies assume MNIST-like data)")
        return 0 if total <= BUDGET_S else 1
    exact = _sklearn(xtr, xte, args, fig) if not args.no_sklearn else None
    dump()

    # ---- 3. recall on planted copies
    planted, info = _plant(dataset, args.plant, recipe.seed, np)
    results, wall, cpu, ctx = run(planted)
    by_id = {r.id: r for r in results}
    print(f"\nplanted data: data stage {wall:.2f} s wall, {cpu:.2f} s CPU")
    for cid in ("data.duplicates", "data.leakage", "data.near_duplicates", "data.label_conflicts"):
        if cid in by_id:
            print(f"  {cid:22s} {by_id[cid].status:5s} {by_id[cid].message[:150]}")
    fig["planted_stage_s"] = wall
    fig.update(_recall(ctx, info, by_id, np, exact, xte))
    dump()
    return 0 if total <= BUDGET_S else 1


def _sklearn(xtr: Any, xte: Any, args: Any, fig: dict[str, Any]) -> Any:
    try:
        from sklearn.neighbors import NearestNeighbors
    except ImportError:
        print("\nscikit-learn is not installed: `pip install scikit-learn` to compare")
        return None
    import numpy as np

    nn = NearestNeighbors(n_neighbors=1, algorithm="brute").fit(xtr)
    start = time.perf_counter()
    nn.kneighbors(xte, n_neighbors=1)
    t_cross = time.perf_counter() - start
    q = min(args.sklearn_queries, len(xtr))
    rows = np.random.default_rng(0).choice(len(xtr), q, replace=False)
    start = time.perf_counter()
    nn.kneighbors(xtr[rows], n_neighbors=2)
    t_within = (time.perf_counter() - start) * len(xtr) / q
    note = "" if q == len(xtr) else f" (timed on {q} queries, x{len(xtr) / q:.1f})"
    print(
        f"\nscikit-learn NearestNeighbors(algorithm='brute'): test->train "
        f"{t_cross:.2f} s, train->train {t_within:.2f} s{note}; together "
        f"{t_cross + t_within:.2f} s for the neighbour search alone"
    )
    fig["sklearn"] = {"cross_s": t_cross, "within_s": t_within, "queries": q}
    return nn


KIND_HELP = {
    "exact": "exact copy",
    "round8": "re-encoded to multiples of 8 grey levels",
    "pm1": "+-1 grey level on every pixel",
    "noise3": "gaussian noise sigma 3 grey levels",
    "noise5": "gaussian noise sigma 5 grey levels",
    "shift1": "shifted by 1 pixel",
}


def _perturb(img: Any, kind: str, rng: Any, np: Any) -> Any:
    x = img.astype(np.float64)
    if kind == "round8":
        x = np.round(x / 8) * 8
    elif kind == "pm1":
        x = x + rng.choice([-1.0, 1.0], size=x.shape)
    elif kind in ("noise3", "noise5"):
        x = np.round(x + rng.normal(0, 3.0 if kind == "noise3" else 5.0, size=x.shape))
    elif kind == "shift1":
        dy, dx = [(0, 1), (0, -1), (1, 0), (-1, 0)][int(rng.integers(4))]
        out = np.zeros_like(x)
        h, w = x.shape
        out[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = x[
            max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
        ]
        x = out
    return np.clip(x, 0, 255).astype(np.uint8)


def _plant(ds: Any, n: int, seed: int, np: Any) -> tuple[Any, dict[str, Any]]:
    """Copies of n test images and of n train images, written over other train rows."""
    rng = np.random.default_rng(seed + 99)
    n_tr, n_te = len(ds.train), len(ds.test)
    x = ds.train.x_raw.copy()
    y = ds.train.y.copy()
    targets = rng.choice(n_tr, 3 * n, replace=False)
    leak_dst, dup_dst, dup_src = targets[:n], targets[n : 2 * n], targets[2 * n :]
    leak_src = rng.choice(n_te, n, replace=False)
    kinds = np.array([KINDS[i % len(KINDS)] for i in range(n)])
    for i in range(n):
        x[leak_dst[i]] = _perturb(ds.test.x_raw[leak_src[i]], kinds[i], rng, np)
        y[leak_dst[i]] = ds.test.y[leak_src[i]]
        x[dup_dst[i]] = _perturb(ds.train.x_raw[dup_src[i]], kinds[i], rng, np)
        y[dup_dst[i]] = ds.train.y[dup_src[i]]
    xn = (x.astype(np.float32) / 255.0).astype(np.float32)
    train = replace(ds.train, x=xn, x_raw=x, y=y)
    info = {"kinds": kinds, "leak_src": leak_src, "leak_dst": leak_dst}
    info.update({"dup_src": dup_src, "dup_dst": dup_dst})
    return replace(ds, train=train), info


def _recall(
    ctx: Any, info: dict[str, Any], by_id: dict[str, Any], np: Any, exact: Any, xte: Any
) -> dict[str, Any]:
    """Recall from the stage's full answer (the shared memo), not its <= 20 examples."""
    leak = by_id.get("data.leakage")
    if leak is None or leak.status == "error":
        return {}
    from nncheck.checks import _neighbors_cache as nc

    ds = ctx.dataset
    ratio = float(leak.metrics["near_ratio"])
    lk = nc.leaks(ctx, ratio)
    flagged_test = set(lk.exact_test.tolist()) | set(lk.near.a.tolist())
    pairs = nc.near_pairs(ctx, "train", ratio)
    groups = nc.exact(ctx).train_groups
    near_set = {(min(a, b), max(a, b)) for a, b in zip(pairs.a.tolist(), pairs.b.tolist())}
    kinds, src, dst = info["kinds"], info["leak_src"], info["dup_dst"]
    print(f"\nrecall on {len(kinds)} planted test->train copies and {len(kinds)} train copies:")
    print(f"  {'kind':8s} {'leakage found':>14s} {'near-dup found':>15s}   what")
    hit_leak = np.array([s in flagged_test for s in src])
    hit_dup = []
    for a, b in zip(info["dup_src"], dst):
        same = groups[a] == groups[b]  # exact copies are data.duplicates', still "found"
        reps_a, reps_b = _rep(groups, a), _rep(groups, b)
        hit_dup.append(same or (min(reps_a, reps_b), max(reps_a, reps_b)) in near_set)
    hit_dup = np.array(hit_dup)
    for kind in KINDS:
        m = kinds == kind
        print(
            f"  {kind:8s} {hit_leak[m].sum():>6d}/{m.sum():<7d} {hit_dup[m].sum():>7d}/"
            f"{m.sum():<7d}   {KIND_HELP[kind]}"
        )
    print(f"  {'all':8s} {hit_leak.mean():>13.1%} {hit_dup.mean():>14.1%}   (target >= 99%)")
    false_leaks = len(flagged_test - set(src.tolist()))
    print(f"  test samples flagged without a planted copy: {false_leaks}")
    fig: dict[str, Any] = {
        "planted": 2 * len(kinds),
        "recall_leak": float(hit_leak.mean()),
        "recall_dup": float(hit_dup.mean()),
        "found": int(hit_leak.sum() + hit_dup.sum()),
        "false_leaks": false_leaks,
    }
    if exact is not None:
        scale = nc.geometry(ctx).scale / nc.space(ctx).unit
        radius = ratio * scale
        xtr_planted = ds.train.x_raw.reshape(len(ds.train), -1).astype(np.float32) / 255.0
        from sklearn.neighbors import NearestNeighbors

        nn = NearestNeighbors(n_neighbors=1, algorithm="brute").fit(xtr_planted)
        d, _ = nn.kneighbors(xte[src], n_neighbors=1)
        within = d[:, 0] <= radius
        found = hit_leak[within].mean() if within.any() else float("nan")
        print(
            f"  exact search puts {within.sum()} of the planted test copies within the radius "
            f"{radius:.3f} (unshifted kinds only, by construction); data.leakage finds "
            f"{found:.1%} of those"
        )
    return fig


def _rep(groups: Any, row: int) -> int:
    import numpy as np

    return int(np.flatnonzero(groups == groups[row])[0])


if __name__ == "__main__":
    raise SystemExit(main())
