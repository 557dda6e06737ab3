"""nncheck's data stage against cleanlab on the same arrays, side by side.

Two comparisons. The first (the default) times the data stage against cleanlab's Datalab
on MNIST; the second (``--label-errors``) plants label noise and scores the label-error
suspects of both (see ``benchmarks/label_noise.py``)::

    python benchmarks/cleanlab_compare.py --label-errors [--datasets digits mnist]
                                          [--rates 0.02 0.05 0.1] [--out FILE]

writes the precision / recall / seconds table to benchmarks/results/label_errors.md.

The issue's target: the data stage is >= 20x faster than cleanlab's Datalab on the issue
types both look for (near duplicates, outliers, class imbalance). This script measures it::

    python benchmarks/cleanlab_compare.py [RECIPE] [--n 60000] [--repeats 3]
                                          [--cleanlab-repeats 1] [--json FILE]

Three sides, each run in its own fresh process (so that one side's caches, thread pools
and memory peak never leak into the other's figures), interleaved repeat by repeat so that
load from other jobs hits them alike:

- ``nncheck data stage``: every registered ``data.*`` check, exactly as ``nncheck run``
  runs them (same registry, runner and shared memo): integrity, exact duplicates,
  train/test leakage, label conflicts, near duplicates, outliers, label errors (a 5-fold
  MLP), class balance, features. It does more than Datalab is asked to do here.
- ``nncheck matched``: only the checks that answer Datalab's three questions:
  ``data.near_duplicates``, ``data.outliers``, ``data.class_balance`` (plus the shared
  neighbour search they need, paid by the first of them).
- ``cleanlab Datalab``: ``Datalab(data={"label": y}).find_issues(features=X,
  issue_types={"near_duplicate": {}, "outlier": {}, "class_imbalance": {}})`` with X the
  same normalized, flattened pixels nncheck's checks see (pixels / 255, float32), no
  ``pred_probs`` (those issue types do not need them). Needs ``pip install -e '.[bench]'``.

Both get the same ``--n`` training rows (a seeded random subset when fewer than all;
nncheck also gets the test split, scaled to n/6 rows, which it checks for leakage and
shift: extra work on its side only). Timed: the audit itself, after the data is loaded and
the libraries are imported (both reported apart); peak RSS of each child process
(``os.wait4``), which includes the loaded data. Medians over repeats; the ratio is
Datalab's median over nncheck's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MATCHED = ("data.near_duplicates", "data.outliers", "data.class_balance")
SIDES = ("nncheck", "matched", "cleanlab")
SIDE_NAMES = {
    "nncheck": "nncheck data stage (all data checks)",
    "matched": "nncheck matched checks (" + ", ".join(MATCHED) + ")",
    "cleanlab": "cleanlab Datalab (near_duplicate + outlier + class_imbalance)",
}
TARGET_RATIO = 20.0


def run_child(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``cmd``; its exit code, merged output, wall time, peak RSS (MiB) and CPU time.

    ``os.wait4`` gives this one child's resource usage (``RUSAGE_CHILDREN`` would be the
    maximum over every child this process has waited for).
    """
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=str(ROOT)
    )
    assert proc.stdout is not None
    out = proc.stdout.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "rc": proc.returncode,
        "output": out,
        "wall_s": wall,
        "peak_rss_mib": usage.ru_maxrss / 1024.0,  # KiB on Linux
        "cpu_s": usage.ru_utime + usage.ru_stime,
    }


def _subset(n_total: int, n: int, seed: int) -> Any:
    import numpy as np

    if n >= n_total:
        return np.arange(n_total)
    return np.sort(np.random.default_rng(seed).choice(n_total, n, replace=False))


def _load(recipe_path: str, n: int) -> tuple[Any, Any, float]:
    """The recipe's dataset cut to n training rows (and n/6 test rows)."""
    from dataclasses import replace

    from nncheck.data.build import load_dataset
    from nncheck.recipe.load import read_recipe

    recipe = read_recipe(recipe_path)
    start = time.perf_counter()
    ds = load_dataset(recipe.data, recipe.seed)
    if n < len(ds.train):
        tr = _subset(len(ds.train), n, 1)
        te = _subset(len(ds.test), max(n // 6, 1), 2)
        cut = [
            replace(
                s,
                x=s.x[i],
                y=s.y[i],
                x_raw=s.x_raw[i],
                y_raw=s.y_raw[i],
                indices=s.indices[i],
                y2=None if s.y2 is None else s.y2[i],
            )
            for s, i in ((ds.train, tr), (ds.test, te))
        ]
        ds = replace(ds, train=cut[0], test=cut[1])
    return recipe, ds, time.perf_counter() - start


def child(side: str, recipe_path: str, n: int) -> int:
    """One side, once; prints one ``RESULT {json}`` line."""
    sys.path.insert(0, str(ROOT))
    t0 = time.perf_counter()
    import numpy as np

    recipe, ds, load_s = _load(recipe_path, n)
    out: dict[str, Any] = {"side": side, "n_train": len(ds.train), "n_test": len(ds.test)}
    if side in ("nncheck", "matched"):
        from nncheck.checks.context import Context
        from nncheck.checks.registry import load_all
        from nncheck.checks.runner import run_checks
        from nncheck.engines import engine_config, engine_factory
        from nncheck.recipe.checks_section import parse_checks_section

        all_specs = load_all()
        thresholds, _, _ = parse_checks_section(recipe.checks, all_specs)
        specs = [s for s in all_specs.values() if s.stage == "data"]
        if side == "matched":
            specs = [s for s in specs if s.id in MATCHED]
        ctx = Context(recipe, ds, engine_config(recipe, ds), engine_factory(recipe))
        setup_s = time.perf_counter() - t0 - load_s
        start = time.perf_counter()
        results = run_checks(ctx, specs, thresholds)
        out["audit_s"] = time.perf_counter() - start
        out["found"] = {r.id: f"{r.status}: {r.message[:160]}" for r in results}
    else:
        import pandas as pd  # noqa: F401  (Datalab's dependency, imported untimed)
        from cleanlab import Datalab

        x = ds.train.x.reshape(len(ds.train), -1).astype(np.float32)
        y = ds.train.y
        setup_s = time.perf_counter() - t0 - load_s
        start = time.perf_counter()
        lab = Datalab(data={"label": y}, label_name="label", verbosity=0)
        lab.find_issues(
            features=x,
            issue_types={"near_duplicate": {}, "outlier": {}, "class_imbalance": {}},
        )
        out["audit_s"] = time.perf_counter() - start
        summary = lab.get_issue_summary()
        out["found"] = {
            str(row["issue_type"]): f"{int(row['num_issues'])} issues (score {row['score']:.3f})"
            for _, row in summary.iterrows()
        }
    out["load_s"] = load_s
    out["setup_s"] = setup_s
    print("RESULT " + json.dumps(out), flush=True)
    return 0


def _parse(res: dict[str, Any]) -> dict[str, Any] | None:
    for line in res["output"].splitlines():
        if line.startswith("RESULT "):
            return {**json.loads(line[7:]), **{k: v for k, v in res.items() if k != "output"}}
    return None


def compare(recipe: str, n: int, repeats: int, cleanlab_repeats: int) -> dict[str, Any]:
    """Run the sides interleaved; per side the list of runs (or an error)."""
    try:
        import cleanlab  # noqa: F401
        import datasets  # noqa: F401  (Datalab needs it: cleanlab[datalab])
    except ImportError:
        have_cleanlab = False
    else:
        have_cleanlab = True
    runs: dict[str, list[dict[str, Any]]] = {s: [] for s in SIDES}
    errors: dict[str, str] = {}
    if not have_cleanlab:
        errors["cleanlab"] = "not installed: pip install -e '.[bench]'"
    me = [sys.executable, str(Path(__file__).resolve()), recipe, "--n", str(n), "--child"]
    for i in range(max(repeats, cleanlab_repeats)):
        for side in SIDES:
            want = cleanlab_repeats if side == "cleanlab" else repeats
            if i >= want or side in errors:
                continue
            res = run_child([*me, side])
            parsed = _parse(res)
            if res["rc"] != 0 or parsed is None:
                errors[side] = res["output"][-2000:]
                continue
            runs[side].append(parsed)
            print(
                f"  [{side} run {i + 1}] audit {parsed['audit_s']:.2f} s, "
                f"peak RSS {parsed['peak_rss_mib']:.0f} MiB",
                flush=True,
            )
    return {"n": n, "runs": runs, "errors": errors}


def summarize(res: dict[str, Any]) -> dict[str, Any]:
    """Medians per side and the ratios Datalab / nncheck."""
    out: dict[str, Any] = {"n": res["n"], "sides": {}, "errors": res["errors"]}
    for side, runs in res["runs"].items():
        if not runs:
            continue
        out["sides"][side] = {
            "name": SIDE_NAMES[side],
            "repeats": len(runs),
            "n_train": runs[0]["n_train"],
            "n_test": runs[0]["n_test"],
            "audit_s": statistics.median(r["audit_s"] for r in runs),
            "audit_min_s": min(r["audit_s"] for r in runs),
            "setup_s": statistics.median(r["setup_s"] for r in runs),
            "load_s": statistics.median(r["load_s"] for r in runs),
            "peak_rss_mib": max(r["peak_rss_mib"] for r in runs),
            "found": runs[-1]["found"],
        }
    s = out["sides"]
    if "cleanlab" in s:
        for side in ("nncheck", "matched"):
            if side in s:
                out[f"ratio_{side}"] = s["cleanlab"]["audit_s"] / s[side]["audit_s"]
    return out


def print_summary(summary: dict[str, Any]) -> None:
    print(f"\n{'side':68s} {'n train':>7s} {'median s':>9s} {'peak RSS':>9s}")
    for side in summary["sides"].values():
        print(
            f"{side['name']:68s} {side['n_train']:7d} {side['audit_s']:9.2f} "
            f"{side['peak_rss_mib']:6.0f} MiB  ({side['repeats']} runs)"
        )
    for side in ("nncheck", "matched"):
        key = f"ratio_{side}"
        if key in summary:
            verdict = "meets" if summary[key] >= TARGET_RATIO else "BELOW"
            print(
                f"Datalab / {SIDE_NAMES[side]}: {summary[key]:.1f}x "
                f"({verdict} the {TARGET_RATIO:.0f}x target)"
            )
    for side, err in summary["errors"].items():
        print(f"{side}: not measured: {err.strip().splitlines()[-1] if err.strip() else '?'}")
    for side in summary["sides"].values():
        print(f"\nwhat {side['name']} reported:")
        for k, v in side["found"].items():
            print(f"  {k:22s} {v}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("recipe", nargs="?", default=str(ROOT / "recipes" / "mnist.yaml"))
    ap.add_argument("--n", type=int, default=60000, help="training rows for both sides")
    ap.add_argument("--repeats", type=int, default=3, help="runs of each nncheck side")
    ap.add_argument("--cleanlab-repeats", type=int, default=1, help="runs of Datalab")
    ap.add_argument("--json", default=None, help="also write the summary here")
    ap.add_argument("--child", choices=SIDES, default=None, help=argparse.SUPPRESS)
    ap.add_argument(
        "--label-errors",
        action="store_true",
        help="plant label noise and compare the suspects of nncheck and cleanlab",
    )
    ap.add_argument("--datasets", nargs="+", default=None, help="with --label-errors")
    ap.add_argument("--rates", nargs="+", type=float, default=None, help="with --label-errors")
    ap.add_argument("--out", default=None, help="with --label-errors: the Markdown file")
    args = ap.parse_args(argv)
    if args.child:
        return child(args.child, args.recipe, args.n)
    if args.label_errors:
        return label_errors(args)
    print(f"recipe {args.recipe}, n = {args.n} training rows for every side", flush=True)
    summary = summarize(compare(args.recipe, args.n, args.repeats, args.cleanlab_repeats))
    print_summary(summary)
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))
    return 0 if "cleanlab" not in summary["errors"] else 1


def label_errors(args: argparse.Namespace) -> int:
    """Planted label noise: precision, recall and time of nncheck and cleanlab."""
    import platform
    import tempfile

    sys.path.insert(0, str(ROOT))
    from benchmarks import label_noise
    from benchmarks.bugzoo.datasets import DATA_DIR, available

    if not available(DATA_DIR):
        print(f"datasets not found at {DATA_DIR}: nothing measured", file=sys.stderr)
        return 0
    try:
        import cleanlab
        import sklearn
    except ImportError:
        print("cleanlab and scikit-learn are needed: pip install -e '.[bench]'", file=sys.stderr)
        return 1
    datasets = tuple(args.datasets or label_noise.DATASETS)
    rates = tuple(args.rates or label_noise.RATES)
    load_before = os.getloadavg()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="label-noise-") as tmp:
        rows = label_noise.run_all(Path(tmp), datasets, rates)
    wall = time.perf_counter() - start
    load_after = os.getloadavg()
    lines = [
        "# Label errors: nncheck vs cleanlab on planted noise",
        "",
        "`python benchmarks/cleanlab_compare.py --label-errors` (see benchmarks/label_noise.py"
        " for what is planted and how each side is called).",
        "",
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, cleanlab "
        f"{cleanlab.__version__}, scikit-learn {sklearn.__version__}; load average "
        f"{load_before[0]:.1f} before and {load_after[0]:.1f} after the run (the cores were "
        f"shared with other jobs: wall times are inflated alike for every side); "
        f"{wall:.0f} s in all.",
        "",
        *label_noise.markdown(rows),
    ]
    out = Path(args.out) if args.out else ROOT / "benchmarks" / "results" / "label_errors.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
