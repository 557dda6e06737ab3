"""Writers: atomic report directory, JSON without NaN, escaping in Markdown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nncheck.results import CheckResult, RunResult
from nncheck.writers import json_results, summary_md
from nncheck.writers.report_dir import MARKER, atomic_directory


def _run(**kw) -> RunResult:
    checks = [
        CheckResult("data.integrity", "data", "pass", "fine", metrics={"x": float("nan")}),
        CheckResult("overfit.one_batch", "overfit", "fail", "a | b <b>bold</b>", hint="lower lr"),
    ]
    return RunResult(
        recipe={"name": "demo"},
        started="2026-01-01T00:00:00+00:00",
        duration_s=1.0,
        checks=checks,
        nncheck_version="0",
        **kw,
    )


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_interrupted_write_keeps_the_previous_report(tmp_path: Path, exc: type) -> None:
    final = tmp_path / "report"
    with atomic_directory(final) as tmp:
        (tmp / "results.json").write_text("old")
    with pytest.raises(exc):
        with atomic_directory(final) as tmp:
            (tmp / "results.json").write_text("new, half written")
            raise exc()
    assert (final / "results.json").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report"]  # no partial folder left


def test_a_report_replaces_the_old_one_whole(tmp_path: Path) -> None:
    final = tmp_path / "report"
    with atomic_directory(final) as tmp:
        (tmp / "stale.txt").write_text("from an older run")
    with atomic_directory(final) as tmp:
        (tmp / "results.json").write_text("{}")
    assert sorted(p.name for p in final.iterdir()) == [MARKER, "results.json"]


def test_results_json_is_strict_json_with_nan_as_string(tmp_path: Path) -> None:
    path = json_results.write(_run(), tmp_path)
    data = json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"bare {c}"))
    assert data["checks"][0]["metrics"]["x"] == "NaN"
    assert data["summary"] == {"pass": 1, "warn": 0, "fail": 1, "skip": 0, "error": 0}
    assert data["exit_code"] == 1 and data["verdict"] == "fail"


def test_summary_md_escapes_pipes_and_html() -> None:
    text = summary_md.render(_run())
    row = next(line for line in text.splitlines() if "overfit.one_batch" in line)
    assert "a \\| b &lt;b&gt;bold&lt;/b&gt;" in row
    assert "FAIL" in text and "lower lr" in text


def test_exit_code_follows_fail_on() -> None:
    warn_only = RunResult(
        recipe={},
        started="",
        duration_s=0.0,
        nncheck_version="0",
        checks=[CheckResult("data.x", "data", "warn", "hmm")],
    )
    assert warn_only.exit_code == 0
    warn_only.fail_on = "warn"
    assert warn_only.exit_code == 1
