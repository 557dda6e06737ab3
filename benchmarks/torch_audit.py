"""Time the whole audit of the bundled CNN (``recipes/mnist_cnn.yaml``), check by check,
for this checkout and, side by side, for another one (the "before")::

    python benchmarks/torch_audit.py [--before /path/to/other/checkout] [--repeats 3]
        [--recipe recipes/mnist_cnn.yaml]

Each repeat runs ``nncheck run RECIPE`` in a subprocess, exactly as a user does (same
process setup, threads and imports), with the report in a temporary folder, and reads each
check's duration back from results.json. The checkouts alternate run by run, so a busy
machine slows both alike; medians are printed with the machine's load average. The
issue's target: <= 15 s on 2 idle cores (the MNIST MLP audit stays <= 10 s).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 15.0


def _one(checkout: Path, recipe: Path) -> tuple[float, dict[str, float], dict[str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": str(checkout), "COLUMNS": "200"}
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "nncheck", "run", str(recipe), "--quiet", "--report-dir", tmp],
            env=env,
            capture_output=True,
            text=True,
            cwd=checkout,
        )
        wall = time.perf_counter() - start
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{checkout}: nncheck run failed\n{proc.stdout}\n{proc.stderr}")
        res = json.loads((Path(tmp) / "results.json").read_text())
    durations = {c["id"]: float(c["duration_s"]) for c in res["checks"]}
    return wall, durations, {c["id"]: c["status"] for c in res["checks"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, default=None, help="another checkout")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--recipe", default="recipes/mnist_cnn.yaml")
    args = parser.parse_args()
    checkouts = {"after": ROOT}
    if args.before is not None:
        checkouts = {"before": args.before.resolve(), "after": ROOT}
    walls: dict[str, list[float]] = {k: [] for k in checkouts}
    per: dict[str, dict[str, list[float]]] = {k: {} for k in checkouts}
    status: dict[str, dict[str, str]] = {}
    load = os.getloadavg()
    for _ in range(args.repeats):
        for name, checkout in checkouts.items():
            wall, durations, status[name] = _one(checkout, checkout / args.recipe)
            walls[name].append(wall)
            for check_id, secs in durations.items():
                per[name].setdefault(check_id, []).append(secs)
    ids = list(dict.fromkeys(i for name in checkouts for i in per[name]))
    print(f"{args.recipe}, {args.repeats} repeats, load average {load[0]:.2f} (1 min) before")
    head = "".join(f" {name + ' s':>10s} {'':6s}" for name in checkouts)
    print(f"{'check':32s}{head}")
    for check_id in ids:
        cells = ""
        for name in checkouts:
            times = per[name].get(check_id)
            cells += (
                f" {statistics.median(times):10.2f} {status[name].get(check_id, ''):6s}"
                if times
                else f" {'-':>10s} {'':6s}"
            )
        print(f"{check_id:32s}{cells}")
    total = ""
    for name in checkouts:
        total += f" {statistics.median(walls[name]):10.2f} {'':6s}"
    print(f"{'whole run, wall (median)':32s}{total}")
    after = statistics.median(walls["after"])
    print(f"after: {'within' if after <= TARGET_S else 'OVER'} the {TARGET_S:g} s target")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
