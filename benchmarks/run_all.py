"""Run every benchmark and write benchmarks/results/perf.md: what nncheck costs, measured.

::

    python benchmarks/run_all.py [--repeats 3] [--quick] [--out benchmarks/results/perf.md]
                                 [--cleanlab-n 60000] [--skip NAME ...]

Each benchmark runs in its own subprocess (fresh interpreter, nothing cached, its own
memory peak), one after the other:

- ``e2e-mnist``: ``nncheck run recipes/mnist.yaml --quiet`` (all stages), ``--repeats``
  times (nncheck's default: checks on one BLAS thread), interleaved with the same run with
  the BLAS library's own thread count (``NNCHECK_BLAS_THREADS=0``): wall
  time, peak RSS of the child (``os.wait4``), CPU time, and a per-stage breakdown from its
  results.json (the sum of the check durations per stage; "load + setup" = the run's own
  duration minus its checks; "process" = wall minus the run's own duration: interpreter
  start, imports, report writing, exit).
- ``e2e-wine``: the same for ``recipes/wine.yaml``.
- ``data-stage``: ``benchmarks/data_stage.py`` (every data check on MNIST, per-check times,
  peak allocation, scikit-learn's exact brute-force kNN on the same arrays, recall of
  planted near duplicates).
- ``table-stage``: ``benchmarks/table_stage.py`` (loading and every data check on a
  50,000-row table with 15 columns, 8 of them categorical).
- ``cleanlab``: ``benchmarks/cleanlab_compare.py`` (the data stage vs cleanlab's Datalab,
  near_duplicate + outlier + class_imbalance, the same ``--cleanlab-n`` MNIST rows).
- ``model-stage``: ``benchmarks/model_stage.py`` (the model checks on MNIST).
- ``engine-step``: ``benchmarks/engine_step.py`` (numpy engine step vs plain torch on CPU,
  and the torch engine behind nncheck's interface vs plain torch).
- ``import``: ``python -X importtime -c "import nncheck"``.

The machine is described at the top of perf.md, with the load average at the start and
the end and the CPU time other processes used while the benchmarks ran (from /proc/stat,
minus this script's own children): figures taken while others load the cores are slower
than the machine can do, and perf.md says so. ``--quick`` (1 repeat, scikit-learn timed on
2,000 queries, Datalab on 10,000 rows, 100 engine steps) takes a few minutes; the default
takes ~5-10 minutes on 2 cores, most of it scikit-learn's and Datalab's neighbour searches.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from cleanlab_compare import SIDE_NAMES, print_summary, run_child  # noqa: E402

BENCHES = (
    "e2e-mnist",
    "e2e-wine",
    "data-stage",
    "table-stage",
    "cleanlab",
    "model-stage",
    "engine-step",
)
E2E_TARGET_S = 30.0
CLEANLAB_TARGET = 20.0
# nncheck runs its checks on one BLAS thread by default; this variant gives the BLAS library
# its own thread count back, to show what that default buys.
LIBRARY_THREADS = {"NNCHECK_BLAS_THREADS": "0"}
LIBRARY_LABEL = "library BLAS threads"


# ---------------------------------------------------------------- the machine and its load


def _busy_jiffies() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0.0, 0.0
    vals = [float(v) for v in fields]
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0.0)  # idle + iowait
    tick = os.sysconf("SC_CLK_TCK")
    total = sum(vals[:8])  # guest time is already counted in user
    return (total - idle) / tick, total / tick


def _own_cpu() -> float:
    """CPU seconds used by this process and every child it has waited for."""
    s = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def machine() -> dict[str, Any]:
    """CPU model, cores, RAM and the versions that decide the speed of the numbers."""
    info: dict[str, Any] = {"python": platform.python_version(), "os": platform.platform()}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        m = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
        info["cpu"] = m.group(1).strip() if m else platform.processor()
        flags = re.search(r"^flags\s*:\s*(.+)$", cpuinfo, re.M)
        simd = [f for f in ("avx2", "avx512f", "fma") if flags and f in flags.group(1).split()]
        info["simd"] = " ".join(simd)
    except OSError:
        info["cpu"] = platform.processor() or platform.machine()
    info["cores"] = os.cpu_count()
    info["usable_cores"] = len(os.sched_getaffinity(0))
    try:
        mem = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
        info["ram_gib"] = int(mem.group(1)) / 2**20 if mem else None
    except OSError:
        info["ram_gib"] = None
    import numpy as np

    info["numpy"] = np.__version__
    try:
        from threadpoolctl import threadpool_info

        blas = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        info["blas"] = ", ".join(
            f"{p.get('internal_api')} {p.get('version')} ({p.get('architecture')}, "
            f"{p.get('num_threads')} threads)"
            for p in blas
        )
    except ImportError:
        info["blas"] = "?"
    for mod in ("torch", "sklearn", "cleanlab"):
        try:
            info[mod] = __import__(mod).__version__
        except ImportError:
            info[mod] = "not installed"
    return info


# ---------------------------------------------------------------- end-to-end runs


def _nncheck_cmd() -> list[str]:
    exe = shutil.which("nncheck")
    return [exe] if exe else [sys.executable, "-m", "nncheck"]


def e2e_once(recipe: str, report_dir: Path, env_extra: dict[str, str]) -> dict[str, Any]:
    """One ``nncheck run``: wall, peak RSS, CPU, and its stages from results.json."""
    if report_dir.exists():
        shutil.rmtree(report_dir)
    env = {**os.environ, **env_extra}
    cmd = [*_nncheck_cmd(), "run", recipe, "--quiet", "--report-dir", str(report_dir)]
    res = run_child(cmd, env=env)
    out: dict[str, Any] = {k: res[k] for k in ("rc", "wall_s", "peak_rss_mib", "cpu_s")}
    try:
        data = json.loads((report_dir / "results.json").read_text())
    except (OSError, ValueError):
        out["error"] = res["output"][-1500:]
        return out
    stages: dict[str, float] = {}
    for c in data["checks"]:
        stages[c["stage"]] = stages.get(c["stage"], 0.0) + float(c.get("duration_s") or 0.0)
    checks_s = sum(stages.values())
    out["stages"] = stages
    out["checks"] = {c["id"]: float(c.get("duration_s") or 0.0) for c in data["checks"]}
    out["load_setup_s"] = float(data["duration_s"]) - checks_s
    out["process_s"] = res["wall_s"] - float(data["duration_s"])
    out["summary"] = data["summary"]
    out["n_checks"] = sum(1 for c in data["checks"] if c["status"] != "skip")
    return out


def e2e(recipe: str, repeats: int, variants: dict[str, dict[str, str]], tmp: Path) -> dict:
    """``repeats`` runs per variant, interleaved; medians (peak RSS: the maximum)."""
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    for i in range(repeats):
        for name, env in variants.items():
            r = e2e_once(recipe, tmp / f"{Path(recipe).stem}-{name}-{i}", env)
            runs[name].append(r)
            print(
                f"  [{Path(recipe).name} {name} run {i + 1}] {r['wall_s']:.1f} s wall, "
                f"peak RSS {r['peak_rss_mib']:.0f} MiB, rc {r['rc']}",
                flush=True,
            )
    out = {}
    for name, rs in runs.items():
        ok = [r for r in rs if "stages" in r]
        if not ok:
            out[name] = {"error": rs[-1].get("error", "?")}
            continue
        med = statistics.median
        stage_names = list(ok[0]["stages"])
        out[name] = {
            "repeats": len(ok),
            "wall_s": med(r["wall_s"] for r in ok),
            "wall_min_s": min(r["wall_s"] for r in ok),
            "wall_max_s": max(r["wall_s"] for r in ok),
            "walls": [r["wall_s"] for r in ok],
            "cpu_s": med(r["cpu_s"] for r in ok),
            "peak_rss_mib": max(r["peak_rss_mib"] for r in ok),
            "stages": {s: med(r["stages"].get(s, 0.0) for r in ok) for s in stage_names},
            "checks": {c: med(r["checks"][c] for r in ok) for c in ok[0]["checks"]},
            "load_setup_s": med(r["load_setup_s"] for r in ok),
            "process_s": med(r["process_s"] for r in ok),
            "summary": ok[-1]["summary"],
            "n_checks": ok[-1]["n_checks"],
            "rc": [r["rc"] for r in rs],
        }
    return out


# ---------------------------------------------------------------- the benchmark scripts


def script(name: str, args: list[str], env_extra: dict[str, str] | None = None) -> dict:
    res = run_child(
        [sys.executable, str(HERE / name), *args], env={**os.environ, **(env_extra or {})}
    )
    print(res["output"].rstrip(), flush=True)
    return res


def _num(pattern: str, text: str) -> float | None:
    m = re.search(pattern, text, re.M)
    return float(m.group(1)) if m else None


def engine_step(repeats: int) -> dict[str, Any]:
    res = script("engine_step.py", [f"--repeats={repeats}"])
    t = res["output"]
    return {
        "output": t,
        "numpy_ms": _num(r"^numpy\s*:\s*([\d.]+) ms", t),
        "torch_ms": _num(r"^torch\s*:\s*([\d.]+) ms", t),
        "ratio": _num(r"^ratio\s*:\s*([\d.]+)\s+\(numpy/torch", t),
        "engine_ms": _num(r"^engine\s*:\s*([\d.]+) ms", t),
        "plain_ms": _num(r"^plain\s*:\s*([\d.]+) ms", t),
        "engine_ratio": _num(r"^ratio\s*:\s*([\d.]+)\s+\(engine/plain", t),
        "engine_ratio_p10": _num(r"\(engine/plain.*p10 ([\d.]+)\)", t),
        "torch_threads": _num(r"torch \S+ \(threads (\d+)", t),
    }


def model_stage(repeats: int) -> dict[str, Any]:
    res = script("model_stage.py", [f"--repeats={repeats}"])
    t = res["output"]
    checks = re.findall(r"^((?:skeleton|overfit|evaluate)\.\S+)\s+(\w+)\s+([\d.]+)\s", t, re.M)
    return {
        "output": t,
        "total_s": _num(r"^total \(median\)\s+([\d.]+)", t),
        "total_min_s": _num(r"^total \(median\)\s+[\d.]+\s+([\d.]+)", t),
        "n_checks": sum(1 for _, status, _ in checks if status != "skip"),
        "checks": {c: (status, float(s)) for c, status, s in checks},
    }


def import_time() -> float | None:
    res = run_child([sys.executable, "-X", "importtime", "-c", "import nncheck"])
    return _num(r"^import time:\s+\d+\s+\|\s+(\d+)\s+\|\s+nncheck\s*$", res["output"])


# ---------------------------------------------------------------- perf.md


def _f(v: float | None, fmt: str = ".2f", unit: str = "") -> str:
    return "n/a" if v is None else f"{v:{fmt}}{unit}"


def _loads(loads: Any) -> str:
    return ", ".join(f"{x:.2f}" for x in loads)


def write_md(path: Path, r: dict[str, Any]) -> None:
    m, lines = r["machine"], []
    # Measured, not guessed: the load average also counts this session's own recent work.
    busy = r["others_share"] >= 0.15
    lines += [
        "# nncheck performance",
        "",
        f"Generated by `{' '.join(['python benchmarks/run_all.py', *r['argv']])}` "
        f"on {r['started']} in {r['elapsed_s'] / 60:.1f} min. "
        + (f"Medians over {r['repeats']} repeats" if r["repeats"] > 1 else "One run of each")
        + " unless noted; every benchmark ran in its own process.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        f"| CPU | {m['cpu']} ({m.get('simd', '')}) |",
        f"| cores | {m['cores']} ({m['usable_cores']} usable) |",
        f"| RAM | {_f(m['ram_gib'], '.1f')} GiB |",
        f"| OS | {m['os']} |",
        f"| Python / NumPy | {m['python']} / {m['numpy']} |",
        f"| BLAS | {m['blas']} |",
        f"| torch / scikit-learn / cleanlab | {m['torch']} / {m['sklearn']} / {m['cleanlab']} |",
        f"| load average (1, 5, 15 min) at start | {_loads(r['load_start'])} |",
        f"| load average at end | {_loads(r['load_end'])} |",
        f"| CPU used by other processes during the run | {r['others_cpu_s']:.0f} core-s of "
        f"{r['avail_cpu_s']:.0f} available ({r['others_share']:.0%}) |",
        "",
    ]
    if busy:
        lines += [
            f"**The machine was busy**: other processes used {r['others_share']:.0%} of its "
            "CPU time while these benchmarks ran (load average at start "
            f"{r['load_start'][0]:.2f} on {m['cores']} cores). The wall times below are "
            "slower than the machine can do, multi-threaded BLAS suffers most (its threads "
            "wait on each other while the OS runs someone else); ratios measured side by "
            "side are less affected. Re-run on a quiet machine for reference figures.",
            "",
        ]
    else:
        lines += ["The machine was quiet during the run (other processes < 15% of its CPU).", ""]

    # ---- summary table
    lines += ["## Summary", "", "| what | figure | target | command |", "|---|---|---|---|"]
    mn = r.get("e2e-mnist", {})
    d, one = mn.get("default", {}), mn.get(LIBRARY_LABEL, {})
    if "wall_s" in d:
        ok = "met" if d["wall_s"] <= E2E_TARGET_S else "**missed**"
        lines.append(
            f"| `nncheck run recipes/mnist.yaml`, 60k + 10k images, {d['n_checks']} checks run, "
            f"all stages | {d['wall_s']:.1f} s wall (min {d['wall_min_s']:.1f}, max "
            f"{d['wall_max_s']:.1f}), "
            f"{d['peak_rss_mib']:.0f} MiB peak RSS | <= {E2E_TARGET_S:.0f} s on 2 cores: {ok} "
            "| `nncheck run recipes/mnist.yaml --quiet` |"
        )
    if "wall_s" in one:
        lines.append(
            f"| the same with the BLAS library's own threads | {one['wall_s']:.1f} s wall (min "
            f"{one['wall_min_s']:.1f}, max {one['wall_max_s']:.1f}), "
            f"{one['peak_rss_mib']:.0f} MiB | | "
            "`NNCHECK_BLAS_THREADS=0 nncheck run recipes/mnist.yaml --quiet` |"
        )
    w = r.get("e2e-wine", {}).get("default", {})
    if "wall_s" in w:
        lines.append(
            f"| `nncheck run recipes/wine.yaml`, {w['n_checks']} checks run, startup included | "
            f"{w['wall_s']:.2f} s wall, {w['peak_rss_mib']:.0f} MiB peak RSS | | "
            "`nncheck run recipes/wine.yaml --quiet` |"
        )
    ds = r.get("data-stage", {})
    if "total_s" in ds:
        n_checks = sum(1 for c in ds["checks"].values() if c["status"] != "skip")
        lines.append(
            f"| data stage on MNIST ({n_checks} checks) | {ds['total_s']:.2f} s "
            f"(CPU {ds['cpu_s']:.2f} s); peak allocation {ds['peak_alloc_mib']:.0f} MiB (an "
            f"n x n matrix would be {ds['nxn_gib']:.1f} GiB) | <= 7 s | "
            "`python benchmarks/data_stage.py` |"
        )
    if "sklearn" in ds:
        sk = ds["sklearn"]
        extra = (
            ""
            if sk["queries"] >= ds["n_train"]
            else (f"; train->train timed on {sk['queries']} queries, extrapolated")
        )
        lines.append(
            f"| scikit-learn exact brute-force kNN, same arrays (neighbour search alone: "
            f"test->train + train->train{extra}) | {sk['cross_s'] + sk['within_s']:.1f} s "
            f"({(sk['cross_s'] + sk['within_s']) / ds['total_s']:.0f}x the whole data stage) "
            "| | same script |"
        )
    if "recall_leak" in ds:
        lines.append(
            f"| planted near duplicates / leaks found (re-encoded, +-1 grey level, noise "
            f"sigma 3-5, 1-pixel shifts) | {ds['found']} of {ds['planted']} "
            f"(leaks {ds['recall_leak']:.1%}, train copies {ds['recall_dup']:.1%}), "
            f"{ds['false_leaks']} false flags | >= 99% | same script |"
        )
    ts = r.get("table-stage", {})
    if "total_s" in ts:
        lines.append(
            f"| loading + data stage on a {ts['rows']:,}-row table, 15 columns (8 categorical"
            f" -> {ts['features']} features) | {ts['total_s']:.2f} s (loading"
            f" {ts['load_s']:.2f} s, checks {ts['checks_s']:.2f} s; CPU {ts['cpu_s']:.2f} s)"
            " | <= 5 s | `python benchmarks/table_stage.py` |"
        )
    cl = r.get("cleanlab", {})
    for side in ("nncheck", "matched"):
        key = f"ratio_{side}"
        if key in cl:
            s, c = cl["sides"][side], cl["sides"]["cleanlab"]
            ok = "met" if cl[key] >= CLEANLAB_TARGET else "**missed**"
            lines.append(
                f"| cleanlab Datalab (near_duplicate + outlier + class_imbalance) vs "
                f"{SIDE_NAMES[side]}, {cl['n']} MNIST rows each | {c['audit_s']:.1f} s vs "
                f"{s['audit_s']:.2f} s: **{cl[key]:.0f}x** faster | >= {CLEANLAB_TARGET:.0f}x: "
                f"{ok} | `python benchmarks/cleanlab_compare.py` |"
            )
    if cl.get("errors", {}).get("cleanlab"):
        lines.append(
            f"| cleanlab Datalab | not measured: "
            f"{cl['errors']['cleanlab'].strip().splitlines()[-1]} | >= 20x | "
            "`pip install -e '.[bench]'` |"
        )
    ms = r.get("model-stage", {})
    if ms.get("total_s") is not None:
        lines.append(
            f"| model stages on MNIST ({ms['n_checks']} checks, 784-512-10, 500 RMSprop "
            f"steps, shared trainings) | {ms['total_s']:.2f} s (min {_f(ms['total_min_s'])}) "
            "| <= 20 s | "
            "`python benchmarks/model_stage.py` |"
        )
    es = r.get("engine-step", {})
    if es.get("numpy_ms") is not None:
        lines.append(
            f"| numpy engine step vs torch CPU (784-512-10, batch 128, Adam) | "
            f"{es['numpy_ms']:.2f} vs {_f(es['torch_ms'])} ms: ratio {_f(es['ratio'], '.2f')} "
            "| <= 1.0 | `python benchmarks/engine_step.py` |"
        )
    if es.get("engine_ms") is not None:
        lines.append(
            f"| torch engine step through nncheck's interface vs plain torch | "
            f"{es['engine_ms']:.2f} vs {_f(es['plain_ms'])} ms: ratio "
            f"{_f(es['engine_ratio'])} (p10 ratio {_f(es['engine_ratio_p10'])}) | <= 1.1 | "
            "same script |"
        )
    if r.get("import_us") is not None:
        lines.append(
            f"| `import nncheck` | {r['import_us'] / 1000:.2f} ms | | "
            '`python -X importtime -c "import nncheck"` |'
        )
    lines.append("")

    for label, run in (("nncheck's default (one BLAS thread)", d), (LIBRARY_LABEL, one)):
        if "wall_max_s" in run and run["wall_max_s"] > E2E_TARGET_S:
            lines += [
                f"One MNIST run with {label} took {run['wall_max_s']:.1f} s, over the "
                f"{E2E_TARGET_S:.0f} s target: on cores busy with other work, multi-threaded "
                "OpenBLAS in the shared 500-step training slows down several times over.",
                "",
            ]

    # ---- per-stage breakdown
    if mn:
        lines += [
            "## `nncheck run recipes/mnist.yaml`: where the time goes",
            "",
            "Per stage: the sum of its checks' durations (results.json; a training shared "
            "by several checks is paid by the first that needs it). *load + setup*: the "
            "run's own duration minus its checks (reading the recipe, loading and "
            "normalizing the data, building the engine config). *process*: wall minus the "
            "run's own duration (interpreter start, imports, writing the report, exit).",
            "",
        ]
        names = [n for n in mn if "wall_s" in mn[n]]
        lines += ["| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        stages = list(mn[names[0]]["stages"]) if names else []
        for s in stages:
            lines.append(
                f"| {s} | " + " | ".join(f"{mn[n]['stages'][s]:.2f} s" for n in names) + " |"
            )
        for key, label in (("load_setup_s", "load + setup"), ("process_s", "process")):
            lines.append(f"| {label} | " + " | ".join(f"{mn[n][key]:.2f} s" for n in names) + " |")
        lines.append(
            "| **wall** | " + " | ".join(f"**{mn[n]['wall_s']:.2f} s**" for n in names) + " |"
        )
        lines.append(
            "| CPU (user + sys) | " + " | ".join(f"{mn[n]['cpu_s']:.2f} s" for n in names) + " |"
        )
        lines.append(
            "| peak RSS | " + " | ".join(f"{mn[n]['peak_rss_mib']:.0f} MiB" for n in names) + " |"
        )
        lines.append(
            "| wall of each run | "
            + " | ".join(", ".join(f"{w:.1f}" for w in mn[n]["walls"]) + " s" for n in names)
            + " |"
        )
        lines += [
            "",
            "Slowest checks (median s): "
            + ", ".join(
                f"{n}: "
                + ", ".join(
                    f"`{c}` {t:.2f}"
                    for c, t in sorted(mn[n]["checks"].items(), key=lambda kv: -kv[1])[:4]
                )
                for n in names
            ),
            "",
        ]
        for n in names:
            s = mn[n]["summary"]
            lines.append(
                f"Statuses ({n}): " + ", ".join(f"{v} {k}" for k, v in s.items() if v) + "."
            )
        lines.append("")

    # ---- data stage per check
    if "checks" in ds:
        lines += [
            "## Data stage on MNIST, per check",
            "",
            f"{ds['n_train']} train + {ds['n_test']} test; data loading {ds['load_s']:.2f} s "
            f"(not counted); process peak RSS {ds['peak_rss_mib']:.0f} MiB, the normalized "
            f"data itself {ds['data_mib']:.0f} MiB.",
            "",
            "| check | status | median s |",
            "|---|---|---|",
        ]
        for c, v in ds["checks"].items():
            lines.append(f"| `{c}` | {v['status']} | {v['median_s']:.2f} |")
        lines.append(f"| **total** | | **{ds['total_s']:.2f}** |")
        lines.append("")

    # ---- cleanlab
    if cl.get("sides"):
        lines += [
            "## The data stage vs cleanlab's Datalab",
            "",
            f"Same {cl['n']} MNIST training rows for every side (pixels / 255, flattened, "
            "float32; nncheck also gets the test split and checks it, extra work on its "
            "side). Each side in a fresh process, interleaved; timed: the audit alone, after "
            "loading the data and importing the libraries. Datalab gets `features=` and the "
            "labels, no `pred_probs` (its near_duplicate, outlier and class_imbalance issue "
            "types do not need them); its defaults otherwise. Datalab's neighbour search is "
            "exact and brute force (scikit-learn `NearestNeighbors`, cosine metric, its default "
            "above 3 features), quadratic in n, so the ratio grows with n"
            + (
                f": at {cl['n']} rows it is smaller than on the full 60000 the target means."
                if cl["n"] < 60000
                else "."
            ),
            "",
            "| side | n train | runs | median s | peak RSS |",
            "|---|---|---|---|---|",
        ]
        for s in cl["sides"].values():
            lines.append(
                f"| {s['name']} | {s['n_train']} | {s['repeats']} | {s['audit_s']:.2f} | "
                f"{s['peak_rss_mib']:.0f} MiB |"
            )
        lines += ["", "What each reported:", ""]
        for s in cl["sides"].values():
            lines.append(f"- {s['name']}:")
            for k, v in s["found"].items():
                lines.append(f"  - `{k}` {v}")
        lines.append("")

    # ---- raw outputs
    lines += ["## Raw output", ""]
    for name in ("data-stage", "table-stage", "cleanlab", "model-stage", "engine-step"):
        out = r.get(name, {}).get("output")
        if out:
            lines += [
                f"<details><summary>{name}</summary>",
                "",
                "```",
                out.rstrip(),
                "```",
                "",
                "</details>",
                "",
            ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--repeats", type=int, default=None, help="default 3 (1 with --quick)")
    ap.add_argument("--quick", action="store_true", help="fewer repeats, smaller side runs")
    ap.add_argument("--cleanlab-n", type=int, default=None, help="default 60000 (10000 quick)")
    ap.add_argument("--cleanlab-repeats", type=int, default=1)
    ap.add_argument("--skip", nargs="*", default=[], choices=BENCHES)
    ap.add_argument("--out", default=str(HERE / "results" / "perf.md"))
    args = ap.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    cl_n = args.cleanlab_n or (10000 if args.quick else 60000)
    sk_q = 2000 if args.quick else 10000
    steps = 100 if args.quick else 300

    r: dict[str, Any] = {
        "argv": sys.argv[1:] if argv is None else argv,
        "repeats": repeats,
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "load_start": os.getloadavg(),
    }
    t0, busy0, cpu0 = time.perf_counter(), _busy_jiffies()[0], _own_cpu()
    r["machine"] = machine()
    print(f"machine: {r['machine']}\nload average at start: {r['load_start']}", flush=True)
    mnist, wine = str(ROOT / "recipes" / "mnist.yaml"), str(ROOT / "recipes" / "wine.yaml")
    with tempfile.TemporaryDirectory(prefix="nncheck-bench-") as tmp:
        if "e2e-mnist" not in args.skip:
            print("\n== end to end: MNIST", flush=True)
            r["e2e-mnist"] = e2e(
                mnist, repeats, {"default": {}, LIBRARY_LABEL: LIBRARY_THREADS}, Path(tmp)
            )
        if "e2e-wine" not in args.skip:
            print("\n== end to end: wine", flush=True)
            r["e2e-wine"] = e2e(wine, max(repeats, 3), {"default": {}}, Path(tmp))
        if "data-stage" not in args.skip:
            print("\n== data stage", flush=True)
            js = Path(tmp) / "data_stage.json"
            res = script(
                "data_stage.py",
                [f"--repeats={repeats}", f"--sklearn-queries={sk_q}", f"--json={js}"],
            )
            r["data-stage"] = json.loads(js.read_text()) if js.exists() else {}
            r["data-stage"]["output"] = res["output"]
        if "table-stage" not in args.skip:
            print("\n== data stage on a table", flush=True)
            js = Path(tmp) / "table_stage.json"
            res = script("table_stage.py", [f"--repeats={repeats}", f"--json={js}"])
            r["table-stage"] = json.loads(js.read_text()) if js.exists() else {}
            r["table-stage"]["output"] = res["output"]
        if "cleanlab" not in args.skip:
            print("\n== data stage vs cleanlab Datalab", flush=True)
            js = Path(tmp) / "cleanlab.json"
            res = script(
                "cleanlab_compare.py",
                [
                    f"--n={cl_n}",
                    f"--repeats={repeats}",
                    f"--cleanlab-repeats={args.cleanlab_repeats}",
                    f"--json={js}",
                ],
            )
            r["cleanlab"] = json.loads(js.read_text()) if js.exists() else {}
            r["cleanlab"]["output"] = res["output"]
        if "model-stage" not in args.skip:
            print("\n== model stages", flush=True)
            r["model-stage"] = model_stage(repeats)
        if "engine-step" not in args.skip:
            print("\n== engine step", flush=True)
            r["engine-step"] = engine_step(steps)
        r["import_us"] = import_time()
    r["elapsed_s"] = time.perf_counter() - t0
    r["load_end"] = os.getloadavg()
    others = (_busy_jiffies()[0] - busy0) - (_own_cpu() - cpu0)
    r["others_cpu_s"] = max(others, 0.0)
    r["avail_cpu_s"] = r["elapsed_s"] * (r["machine"]["usable_cores"] or 1)
    r["others_share"] = r["others_cpu_s"] / r["avail_cpu_s"]
    out = Path(args.out)
    write_md(out, r)
    print(
        f"\nload average at end: {r['load_end']}; other processes used "
        f"{r['others_share']:.0%} of the CPU during the run"
    )
    if r.get("cleanlab", {}).get("sides"):
        print_summary(r["cleanlab"])
    print(f"wrote {out} ({r['elapsed_s'] / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
