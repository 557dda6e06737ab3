"""The exports writer: tables checks export become CSV files in the report directory."""

from __future__ import annotations

import csv
from pathlib import Path

from nncheck.results import CheckResult, RunResult
from nncheck.writers import exports


def _run(*checks: CheckResult) -> RunResult:
    return RunResult(
        recipe={"name": "demo"},
        started="2026-01-01T00:00:00+00:00",
        duration_s=1.0,
        checks=list(checks),
        nncheck_version="0",
    )


def _table(*rows: list) -> dict:
    return {"columns": ["row", "note"], "rows": [list(r) for r in rows]}


def test_exported_tables_become_csv_files_with_quoting(tmp_path: Path) -> None:
    check = CheckResult(
        "data.label_errors",
        "data",
        "pass",
        "ok",
        artifacts={"exports": {"label_issues.csv": _table([3, "a, b"], [7, 'say "x"'])}},
    )
    (path,) = exports.write(_run(check), tmp_path)
    assert path == tmp_path / "label_issues.csv"
    with path.open(newline="") as fh:
        assert list(csv.reader(fh)) == [["row", "note"], ["3", "a, b"], ["7", 'say "x"']]


def test_a_name_used_twice_is_prefixed_and_paths_stay_inside(tmp_path: Path) -> None:
    a = CheckResult("data.a", "data", "pass", "", artifacts={"exports": {"x.csv": _table([1, ""])}})
    b = CheckResult(
        "data.b", "data", "pass", "", artifacts={"exports": {"../../x.csv": _table([2, ""])}}
    )
    names = sorted(p.name for p in exports.write(_run(a, b), tmp_path))
    assert names == ["data.a-x.csv", "data.b-x.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == names


def test_checks_without_exports_write_nothing(tmp_path: Path) -> None:
    assert exports.write(_run(CheckResult("data.a", "data", "pass", "")), tmp_path) == []
    assert list(tmp_path.iterdir()) == []
