"""The Python API against the recipe, on the tabular example project: same audit, same cost.

    python benchmarks/api_vs_recipe.py               # 3 runs of each, alternating
    python benchmarks/api_vs_recipe.py --repeats 5

``nncheck.audit(...)`` on the project's objects (examples/projects/tabular/audit_wine.py)
and ``nncheck run wine.yaml`` (its factories naming the same code) run the same pipeline;
the API must add at most 10% wall time (issue 13). Both run in this process, alternating
API, recipe, API, recipe... so load on a shared machine hits both alike, and both write
their report (the API into a report_dir) so they do the same work. One warm-up run of each
first (imports, torch's first use). Prints wall and CPU medians side by side.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ROOT / "examples" / "projects" / "tabular"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    sys.path.insert(0, str(PROJECT))
    from audit_wine import run_audit

    from nncheck.run import RunOptions, run_recipe

    def api(out: Path) -> str:
        return run_audit(str(out)).run.verdict

    def recipe(out: Path) -> str:
        run, _ = run_recipe(str(PROJECT / "wine.yaml"), RunOptions(report_dir=str(out), quiet=True))
        return run.verdict

    times: dict[str, list[tuple[float, float]]] = {"api": [], "recipe": []}
    verdicts: dict[str, set[str]] = {"api": set(), "recipe": set()}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats + 1):
            for name, fn in (("api", api), ("recipe", recipe)):
                out = Path(tmp) / f"{name}{i}"
                wall, cpu = time.perf_counter(), time.process_time()
                verdicts[name].add(fn(out))
                took = (time.perf_counter() - wall, time.process_time() - cpu)
                if i:  # the first round is the warm-up
                    times[name].append(took)
                print(f"  {name:<6} run {i}{' (warm-up)' if not i else ''}: "
                      f"wall {took[0]:.2f} s, cpu {took[1]:.2f} s", flush=True)  # fmt: skip
    med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
           for k, v in times.items()}  # fmt: skip
    print(f"\nmedians over {args.repeats} runs each (tabular project, every check):")
    print(f"  {'':<8}{'wall s':>9}{'cpu s':>9}  verdict")
    for k in ("api", "recipe"):
        print(f"  {k:<8}{med[k][0]:>9.2f}{med[k][1]:>9.2f}  {', '.join(sorted(verdicts[k]))}")
    ratio = med["api"][0] / med["recipe"][0]
    cpu_ratio = med["api"][1] / med["recipe"][1]
    print(f"  api / recipe: wall {ratio:.3f}, cpu {cpu_ratio:.3f} (target: wall <= 1.10)")
    return 0 if ratio <= 1.10 else 1


if __name__ == "__main__":
    sys.exit(main())
