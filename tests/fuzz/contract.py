"""The contract every `nncheck run` keeps, whatever it is given, and a harness to check it.

A run ends in exactly one of two ways: exit 0/1 with a complete, strict-JSON results.json
in which no check crashed (status `error` is a bug in nncheck), or exit 2 with ONE short
line `nncheck: error: ...`. Never a traceback, never a hang, and nothing outside the report
directory changes. The fuzz tests feed mutated recipes, recipe texts and data files to the
CLI's own ``main`` in this process (fast: no interpreter start per case) under a per-case
timeout.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from nncheck.cli import main
from tests.conftest import WINE

# A case that takes longer than this is a hang (the tiny data below audits in ~0.5 s).
CASE_TIMEOUT_S = 60
# Exit 2 is one line; a message quoting a 300 kB cell is not "short".
MAX_MESSAGE = 600
# Folders a case may write: the report directory and the places a mutated report.dir names.
REPORT_PLACES = {"report", "reports", "sub"}


class CaseTimeout(BaseException):
    """Raised by SIGALRM inside a case (a BaseException, so no check swallows it)."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    def expire(signum: int, frame: object) -> None:
        raise CaseTimeout(f"the case ran past {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def tiny_wine_text() -> str:
    """60 rows of the real wine table (20 per class): every check runs, in about 0.5 s."""
    return pd.read_csv(WINE).groupby("label").head(20).to_csv(index=False)


def tiny_wine(folder: Path) -> Path:
    path = folder / "d.csv"
    path.write_text(tiny_wine_text())
    return path


def base_recipe() -> dict:
    return {
        "name": "fuzz",
        "seed": 0,
        "data": {"train": "d.csv", "target": "label", "test": {"fraction": 0.25}},
        "model": {"hidden": [8], "activation": "tanh"},
        "train": {"optimizer": "adam", "lr": 0.01, "batch_size": 8, "steps": 20},
        "checks": {"overfit.one_batch": {"max_steps": 200}},
        "report": {"dir": "report"},
    }


def snapshot(
    folder: Path, reports: tuple[Path, ...] = (), before: dict[str, str] | None = None
) -> dict[str, str]:
    """Every entry outside the report places (and outside ``reports``, the folders a run
    wrote its report into, with the parents it made for them), with a hash of its bytes."""
    before = before or {}
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if rel.parts[0] in REPORT_PLACES or rel.parts[0].startswith(".nncheck-"):
            continue
        if any(path == r or r in path.parents for r in reports):
            continue
        if any(path in r.parents for r in reports) and rel.as_posix() not in before:
            continue  # a parent folder the run made for its report
        out[rel.as_posix()] = (
            "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
        )
    return out


def run_case(folder: Path, recipe: Path, *args: str) -> tuple[int, str]:
    """Run the CLI on ``recipe`` and assert the contract; returns (exit code, stderr)."""
    before = snapshot(folder)
    err, out = io.StringIO(), io.StringIO()
    with (
        time_limit(CASE_TIMEOUT_S),
        contextlib.redirect_stderr(err),
        contextlib.redirect_stdout(out),
    ):
        code = main(["run", str(recipe), "--quiet", *args])
    stderr = err.getvalue()
    assert "Traceback" not in stderr + out.getvalue(), stderr
    if code == 2:
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert len(lines) == 1, f"exit 2 must say one thing, got:\n{stderr}"
        assert lines[0].startswith("nncheck: error: "), lines[0]
        assert len(lines[0]) <= MAX_MESSAGE, f"a {len(lines[0])}-character message"
    else:
        assert code in (0, 1), f"exit {code}: {stderr}"
        reports = [p for p in folder.rglob("results.json") if ".nncheck-" not in str(p)]
        assert reports, "exit 0/1 without a results.json"
        newest = max(reports, key=lambda p: p.stat().st_mtime)
        results = json.loads(newest.read_text(), parse_constant=_bare_constant)
        assert results["exit_code"] == code
        crashed = {c["id"]: c["message"] for c in results["checks"] if c["status"] == "error"}
        assert not crashed, f"checks crashed: {crashed}"
        # a recipe may name any report folder (`[/x]` is the folder `x]` in `[`)
        # — but never a folder that held the user's files before the run
        written = (newest.parent,)
        inside = [
            k
            for k in before
            if (folder / k) == newest.parent or newest.parent in (folder / k).parents
        ]
        assert not inside, f"the report replaced a folder of user files: {inside[:5]}"
        after = snapshot(folder, written, before)
        assert after == before, "files outside the report directory changed"
    if code == 2:
        assert snapshot(folder) == before, "files outside the report directory changed"
    leftovers = [p.name for p in folder.rglob(".nncheck-partial-*")]
    assert not leftovers, leftovers
    return code, stderr


def _bare_constant(name: str) -> None:
    raise AssertionError(f"results.json holds a bare {name}")
