"""Writing the report: time and size, optionally side by side with another checkout.

    python benchmarks/report_writing.py                        # recipes/mnist.yaml
    python benchmarks/report_writing.py --against ../main      # old writers, same results
    python benchmarks/report_writing.py --recipe recipes/wine.yaml --repeats 5

The recipe's checks run once; their results (artifacts included) are pickled and handed to
fresh processes that each write the whole report directory (index.html, results.json,
junit.xml, summary.md, TensorBoard) with ``nncheck.run.write_report`` of one checkout.
"cold" is a fresh process's first write, imports included (what a user's run pays), "warm"
a second write in the same process; each is given as wall time and as the process's CPU
time (on a machine shared with other work the wall time includes waiting for a core).
With ``--against``, both checkouts write the same results, alternating A B A B so load on
a shared machine hits both alike; medians are printed. Targets (issue 16): cold write
<= 1.5 s on MNIST, index.html <= 2 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def audit(recipe: str, out: Path) -> None:
    """Run the recipe's checks (report into a scratch folder) and pickle the results."""
    sys.path.insert(0, str(ROOT))
    from nncheck.checks.registry import load_all
    from nncheck.run import RunOptions, run_recipe

    with tempfile.TemporaryDirectory() as tmp:
        run, _ = run_recipe(recipe, RunOptions(quiet=True, report_dir=str(Path(tmp) / "r")))
    docs = {s.id: s.doc for s in load_all().values()}
    out.write_bytes(pickle.dumps((run, docs)))


def measure(results: Path) -> dict[str, float]:
    """In this process: one cold and one warm write of the pickled results."""
    start = time.perf_counter()
    run, docs = pickle.loads(results.read_bytes())
    from nncheck.run import write_report

    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label in ("cold", "warm"):
            folder = Path(tmp) / label
            t, cpu = time.perf_counter(), time.process_time()
            write_report(run, folder, docs)
            figures[f"{label}_s"] = time.perf_counter() - t
            figures[f"{label}_cpu_s"] = time.process_time() - cpu
        folder = Path(tmp) / "warm"
        figures["index_html_bytes"] = (folder / "index.html").stat().st_size
        figures["tensorboard_bytes"] = sum(
            p.stat().st_size for p in folder.rglob("events.out.tfevents.*")
        )
        figures["report_bytes"] = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    figures["process_s"] = time.perf_counter() - start
    return figures


def child(checkout: Path, results: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    proc = subprocess.run(
        [sys.executable, __file__, "--measure", str(results)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=tempfile.gettempdir(),
    )
    if proc.returncode:
        raise SystemExit(f"{checkout}: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipe", default=str(ROOT / "recipes" / "mnist.yaml"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--against", help="another checkout (its writers, the same results)")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(Path(args.measure))))
        return
    versions = {"this checkout": ROOT}
    if args.against:
        versions[f"against {args.against}"] = Path(args.against).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results.pkl"
        print(f"auditing {args.recipe} once ...", flush=True)
        audit(args.recipe, results)
        seen: dict[str, list[dict[str, float]]] = {name: [] for name in versions}
        for _ in range(args.repeats):
            for name, checkout in versions.items():
                seen[name].append(child(checkout, results))
    print(
        f"\nreport writing, {Path(args.recipe).name}, medians of {args.repeats} "
        f"(load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs)"
    )
    print(
        f"{'':>22} {'cold s':>8} {'cold cpu':>9} {'warm s':>8} {'warm cpu':>9} "
        f"{'index.html':>12} {'tensorboard':>12}"
    )
    for name, rows in seen.items():
        med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
        print(
            f"{name:>22} {med['cold_s']:8.2f} {med['cold_cpu_s']:9.2f} {med['warm_s']:8.2f} "
            f"{med['warm_cpu_s']:9.2f} {med['index_html_bytes'] / 1e6:10.2f} MB "
            f"{med['tensorboard_bytes'] / 1e6:9.2f} MB"
        )
    print(
        "wall s on a shared machine includes waiting for a core; cpu s (this process's CPU "
        "time) is what the write itself costs"
    )


if __name__ == "__main__":
    main()
