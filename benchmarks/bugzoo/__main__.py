"""``python -m benchmarks.bugzoo``: run the bug zoo and write benchmarks/results/bugzoo.md.

    python -m benchmarks.bugzoo                      # every case, every check (~2 min)
    python -m benchmarks.bugzoo --cases '^D2|^M4'    # a subset, by regular expression
    python -m benchmarks.bugzoo --fast               # the test suite's subset, --only checks
    python -m benchmarks.bugzoo --list               # the cases, without running them

Exit status: 0 when every case is caught and no healthy recipe fails, 1 otherwise,
0 with a message when the datasets are not there (data/, or NNCHECK_DATASETS).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bugzoo.cases import by_id
from benchmarks.bugzoo.datasets import DATA_DIR, ROOT, available

RESULTS = ROOT / "benchmarks" / "results" / "bugzoo.md"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.bugzoo", description=__doc__.split("\n")[0]
    )
    p.add_argument("--cases", metavar="REGEX", help="only the cases whose id matches")
    p.add_argument("--fast", action="store_true", help="the fast subset, with its --only checks")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    p.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        help="BLAS/torch threads per run (default 1; 0 leaves the libraries' defaults)",
    )
    p.add_argument("--workdir", help="write the cases here and keep them (default: a temp dir)")
    p.add_argument("--datasets", default=str(DATA_DIR), help="the datasets folder (default: data/)")
    p.add_argument(
        "--out",
        help="write the Markdown results here (default: benchmarks/results/bugzoo.md after a"
        " full run, nothing after --cases or --fast; '-' for none)",
    )
    p.add_argument("--json", help="also write every case's checks as JSON here")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    args = p.parse_args(argv)

    from benchmarks.bugzoo.cases import CASES

    cases = by_id(pattern=args.cases)
    if args.fast:
        cases = [c for c in cases if c.fast]
    if args.list:
        for c in cases:
            print(f"{c.id:45s} {c.engine:6s} {', '.join(c.checks):60s} {c.description}")
        print(f"{len(cases)} of {len(CASES)} cases")
        return 0
    root = Path(args.datasets)
    if not available(root):
        print(f"bugzoo: datasets not found at {root}; nothing to do", file=sys.stderr)
        return 0

    from benchmarks.bugzoo.report import markdown, terminal
    from benchmarks.bugzoo.run import run_all, run_case, save_json

    def progress(r) -> None:
        mark = "ok  " if r.caught else ("MISS" if r.bug != "healthy" else "ALARM")
        print(f"{mark} {r.id:45s} exit {r.exit_code} {r.seconds:5.1f} s", file=sys.stderr)

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bugzoo-") as tmp:
        work = Path(args.workdir) if args.workdir else Path(tmp)
        if args.fast:
            results = []
            for c in cases:
                r = run_case(c, work, only=c.checks, root=root, blas_threads=args.blas_threads)
                progress(r)
                results.append(r)
        else:
            results = run_all(
                cases,
                work,
                jobs=args.jobs,
                root=root,
                progress=progress,
                blas_threads=args.blas_threads or None,
            )
    wall = time.perf_counter() - start
    print(terminal(results, wall))
    command = "python -m benchmarks.bugzoo"
    if args.cases:
        command += f" --cases {shlex.quote(args.cases)}"
    if args.jobs != 1:
        command += f" --jobs {args.jobs}"
    if args.blas_threads != 1:
        command += f" --blas-threads {args.blas_threads}"
    out_path = args.out or (None if args.cases or args.fast else str(RESULTS))
    if out_path and out_path != "-":
        out = Path(out_path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(
            markdown(results, wall, command, jobs=args.jobs, blas_threads=args.blas_threads)
        )
        print(f"wrote {out}")
    if args.json:
        save_json(results, Path(args.json))
    bad = [r for r in results if not r.caught and r.bug != "healthy"]
    alarm = [
        r
        for r in results
        if r.bug == "healthy"
        and (r.exit_code != 0 or any(v["status"] in ("fail", "error") for v in r.checks.values()))
    ]
    return 1 if bad or alarm else 0


if __name__ == "__main__":
    sys.exit(main())
