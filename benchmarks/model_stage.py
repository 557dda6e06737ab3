"""Time every model check (skeleton, overfit, evaluate) on a recipe, MNIST by default.

The issue's budget: all model checks of ``recipes/mnist.yaml`` (784-512-10, RMSprop, 500
steps of batch 128) finish in <= 20 s wall on 2 cores. This runs whatever checks of those
stages are registered, exactly as ``nncheck run`` does (same runner, same shared
trainings), on a fresh context per repeat, and prints each check's median time and the
median total. Loading the data is timed apart: it belongs to the data stage::

    python benchmarks/model_stage.py [RECIPE] [--repeats 3] [--threads N]

``--threads`` sets OpenBLAS/OMP threads before NumPy loads (default: the machine's). On a
machine shared with other jobs, multi-threaded BLAS can slow down many times over (its
threads wait on each other while the OS runs someone else); compare with ``--threads 1``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 20.0
STAGES = ("skeleton", "overfit", "evaluate")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("recipe", nargs="?", default=str(ROOT / "recipes" / "mnist.yaml"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    sys.path.insert(0, str(ROOT))

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
    specs = [s for s in all_specs.values() if s.stage in STAGES]

    per_check: dict[str, list[float]] = {s.id: [] for s in specs}
    statuses: dict[str, str] = {}
    totals = []
    for _ in range(args.repeats):
        ctx = replace(base, results={}, _memo={})  # nothing shared between repeats
        start = time.perf_counter()
        with blas_threads():  # the BLAS thread setting `nncheck run` uses
            results = run_checks(ctx, specs, thresholds)
        totals.append(time.perf_counter() - start)
        for r in results:
            per_check[r.id].append(r.duration_s)
            statuses[r.id] = r.status

    threads = args.threads or f"checks {os.environ.get('NNCHECK_BLAS_THREADS', '1')}"
    print(f"recipe {args.recipe}: {len(dataset.train)} train + {len(dataset.test)} test")
    print(f"data loading {load_s:.2f} s (not counted); {args.repeats} repeats, threads {threads}")
    print(f"{'check':32s} {'status':6s} {'median s':>9s} {'min s':>7s}")
    for check_id, times in per_check.items():
        print(
            f"{check_id:32s} {statuses[check_id]:6s} {statistics.median(times):9.2f} "
            f"{min(times):7.2f}"
        )
    total = statistics.median(totals)
    verdict = "within" if total <= BUDGET_S else "OVER"
    print(f"{'total (median)':32s} {'':6s} {total:9.2f} {min(totals):7.2f}")
    print(f"{verdict} the {BUDGET_S:.0f} s budget")
    return 0 if total <= BUDGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
