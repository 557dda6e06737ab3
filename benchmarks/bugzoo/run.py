"""Write each case (data files + recipe) into a work folder, run nncheck on it in this
process, and record what every check said.

In-process runs (``nncheck.run.run_recipe``) share one import of numpy/torch across all
cases; a usage error (exit 2) is recorded with its message, as the CLI would print it.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import time
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from benchmarks.bugzoo.cases import BASE, Case
from benchmarks.bugzoo.datasets import DATA_DIR, Data, load

FLAGGED = ("warn", "fail")


@dataclass
class CaseResult:
    """What nncheck said about one case."""

    id: str
    bug: str
    dataset: str
    engine: str
    description: str
    public: bool
    expected: list[str]
    exit_code: int
    seconds: float
    usage_error: str = ""  # the exit-2 message, when nncheck stopped before any check
    checks: dict[str, dict[str, str]] = field(default_factory=dict)  # id -> status, message
    caught: bool = False
    error: str = ""  # an exception the zoo itself hit (never expected)

    @property
    def expected_flags(self) -> list[tuple[str, str]]:
        return [(c, self.checks[c]["status"]) for c in self.expected if c in self.checks]

    @property
    def other_flags(self) -> list[tuple[str, str]]:
        return [
            (c, r["status"])
            for c, r in self.checks.items()
            if c not in self.expected and r["status"] in (*FLAGGED, "error")
        ]


@cache
def dataset(name: str, root: str = str(DATA_DIR)) -> Data:
    return load(name, Path(root))


def case_data(case: Case, root: Path = DATA_DIR) -> Data:
    d = dataset(case.dataset, str(root))
    if case.inject is None:
        return d
    rng = np.random.default_rng(_seed(case.id))
    return case.inject(d, rng)


def _seed(text: str) -> int:
    """A stable seed per case id (``hash`` is salted per process)."""
    return zlib.crc32(text.encode())


def write_splits(
    d: Data, folder: Path, table: Callable[..., Any] | None = None, seed: int = 0
) -> tuple[str, str]:
    """The case's train and test files: npz for images, CSVs (features, then the target)
    for tables, with a table bug written into them."""
    if d.is_image:
        for split in ("train", "test"):
            np.savez(
                folder / f"{split}.npz", x=getattr(d, f"x_{split}"), y=getattr(d, f"y_{split}")
            )
        return "train.npz", "test.npz"
    import pandas as pd

    frames = []
    for split in ("train", "test"):
        frame = pd.DataFrame(getattr(d, f"x_{split}"), columns=list(d.feature_names or []))
        frame[d.target] = getattr(d, f"y_{split}")
        frames.append(frame)
    if table is not None:
        frames = list(table(*frames, np.random.default_rng(seed)))
    for split, frame in zip(("train", "test"), frames):
        frame.to_csv(folder / f"{split}.csv", index=False)
    return "train.csv", "test.csv"


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Sections merged one level deep; a None value removes the key."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    for section, values in over.items():
        if isinstance(values, dict):
            target = out.setdefault(section, {})
            for k, v in values.items():
                if v is None:
                    target.pop(k, None)
                else:
                    target[k] = v
        else:
            out[section] = values
    return out


def materialize(case: Case, folder: Path, root: Path = DATA_DIR) -> Path:
    """Write the case's data, model module and recipe into ``folder``; returns the recipe."""
    folder.mkdir(parents=True, exist_ok=True)
    d = case_data(case, root)
    base = BASE[case.dataset]
    train, test = write_splits(d, folder, case.table, _seed(case.id))
    data: dict[str, Any] = {
        "train": train,
        "test": test,
        "target": "y" if d.is_image else d.target,
        "task": d.task,
        **base["data"],
    }
    if case.data_factory:  # the user's Dataset/DataLoader, reading the case's train file
        assert case.model is not None
        data = {
            "factory": f"{case.model.stem}:{case.data_factory}",
            "kwargs": {"path": str((folder / train).resolve())},
            "task": d.task,
        }
    recipe: dict[str, Any] = {
        "name": case.id,
        "seed": 0,
        "data": data,
        "model": dict(base["model"]),
        "train": dict(base["train"]),
    }
    if case.model is not None:
        shutil.copy(case.model, folder / case.model.name)
        recipe["model"] = {
            "engine": "torch",
            "factory": f"{case.model.stem}:{case.factory}",
            "device": "cpu",
        }
    recipe = merge(recipe, case.recipe)
    recipe["report"] = {"dir": "report"}
    path = folder / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


@contextlib.contextmanager
def threads(n: int | None):
    """BLAS (and torch) limited to ``n`` threads for the duration; None leaves them alone.

    On a machine whose cores are busy with other work, multi-threaded BLAS slows the small
    products of these runs several times over (MNIST cases: 2.4 s on one thread vs 9 s on
    two, measured side by side while another benchmark ran); results do not change.
    """
    if not n:
        yield
        return
    import sys

    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else None
    with threadpool_limits(limits=n):
        if torch is not None:
            torch.set_num_threads(n)
        try:
            yield
        finally:
            if torch is not None and before is not None:
                torch.set_num_threads(before)


def run_case(
    case: Case,
    workdir: Path,
    only: tuple[str, ...] = (),
    root: Path = DATA_DIR,
    blas_threads: int | None = 1,
) -> CaseResult:
    """Materialize and run one case; never raises (a zoo error is recorded in ``error``)."""
    if case.engine == "torch":
        import torch  # noqa: F401 - imported before ``threads`` so that it is limited too
    from nncheck.errors import UsageError
    from nncheck.run import RunOptions, run_recipe

    folder = workdir / case.id
    if folder.exists():
        shutil.rmtree(folder)
    res = CaseResult(
        id=case.id,
        bug=case.bug,
        dataset=case.dataset,
        engine=case.engine,
        description=case.description,
        public=bool(case.public),
        expected=list(case.checks),
        exit_code=-1,
        seconds=0.0,
    )
    start = time.perf_counter()
    sink = io.StringIO()
    try:
        recipe = materialize(case, folder, root)
        options = RunOptions(only=list(only), quiet=True, report_dir=str(folder / "report"))
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            with threads(blas_threads):
                run, _ = run_recipe(str(recipe), options)
        res.exit_code = run.exit_code
        res.checks = {
            c.id: {"status": c.status, "message": c.message, "hint": c.hint or ""}
            for c in run.checks
        }
    except UsageError as exc:
        res.exit_code = exc.exit_code
        res.usage_error = str(exc)
    except Exception as exc:  # noqa: BLE001 - the zoo must report, not stop
        res.error = f"{type(exc).__name__}: {exc}"
    res.seconds = time.perf_counter() - start
    res.caught = is_caught(case, res)
    return res


def is_caught(case: Case, res: CaseResult) -> bool:
    """Caught = an expected check warned or failed; for exit-2 cases, exit 2 with a message
    naming the cause. A healthy case is 'caught' when nothing warned or failed."""
    if case.bug == "healthy":
        return res.exit_code == 0 and not any(
            r["status"] in (*FLAGGED, "error") for r in res.checks.values()
        )
    if case.exit2 and res.exit_code == 2:
        return all(w in res.usage_error for w in case.exit2)
    return any(res.checks.get(c, {}).get("status") in FLAGGED for c in case.checks)


def _worker(args: tuple[str, Path, tuple[str, ...], Path, int | None]) -> CaseResult:
    """One case in a worker process, named by id (injectors are closures: not picklable)."""
    from benchmarks.bugzoo.cases import by_id

    case_id, *rest = args
    return run_case(by_id([case_id])[0], *rest)


def run_all(
    cases: list[Case],
    workdir: Path,
    jobs: int = 1,
    only: tuple[str, ...] = (),
    root: Path = DATA_DIR,
    progress: Any = None,
    blas_threads: int | None = 1,
) -> list[CaseResult]:
    """Run every case (in ``jobs`` processes); results in the order of ``cases``."""
    workdir.mkdir(parents=True, exist_ok=True)
    results: list[CaseResult] = []
    if jobs <= 1:
        for c in cases:
            r = run_case(c, workdir, only, root, blas_threads)
            results.append(r)
            if progress:
                progress(r)
        return results
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    tasks = [(c.id, workdir, only, root, blas_threads) for c in cases]
    with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
        for r in pool.map(_worker, tasks):
            results.append(r)
            if progress:
                progress(r)
    return results


def save_json(results: list[CaseResult], path: Path) -> None:
    path.write_text(json.dumps([asdict(r) for r in results], indent=1))
