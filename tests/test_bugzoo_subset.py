"""The bug zoo (benchmarks/bugzoo) as a regression test: a case nncheck catches today must
stay caught, and a healthy recipe must stay quiet.

The fast subset (default suite) runs the zoo's wine/digits cases in this process, each
with ``--only`` the checks bug-classes.md names for its class, plus the healthy wine and
digits recipes with every check; the whole zoo (every case, every check, ~2 min on 2
cores) is the slow test. The datasets are the bundled ones in data/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.bugzoo.cases import CASES, CLASSES, Case, by_id, classes_in_catalogue
from benchmarks.bugzoo.datasets import DATA_DIR, ROOT, available
from benchmarks.bugzoo.run import run_all, run_case

CATALOGUE = ROOT / "docs" / "bug-classes.md"
FAST = [c for c in CASES if c.fast]
HEALTHY_FAST = by_id(["healthy.wine.numpy", "healthy.digits.numpy"])

needs_data = pytest.mark.skipif(not available(), reason=f"datasets not found at {DATA_DIR}")


def _needs_torch(case: Case) -> None:
    if case.engine == "torch":
        pytest.importorskip("torch")


def _explain(case: Case, res) -> str:
    said = {c: res.checks.get(c, {}) for c in case.checks}
    return (
        f"{case.id} ({case.description}) is no longer caught: exit {res.exit_code} "
        f"{res.usage_error or res.error}\n"
        + "\n".join(f"  {c}: {v.get('status')} {v.get('message', '')}" for c, v in said.items())
    )


def test_zoo_covers_every_bug_class_on_two_datasets() -> None:
    for bug in CLASSES:
        datasets = {c.dataset for c in CASES if c.bug == bug}
        assert len(datasets) >= 2, f"{bug} is injected into {sorted(datasets)} only"
    assert {c.dataset for c in CASES if c.bug == "healthy"} >= {
        "wine",
        "breast_cancer",
        "digits",
        "diabetes",
        "mnist",
    }
    assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique"
    for case in CASES:
        if case.bug != "healthy":
            assert case.checks, f"{case.id} has no expected check"


@pytest.mark.skipif(not CATALOGUE.is_file(), reason="bug-classes.md not found")
def test_zoo_classes_match_the_catalogue() -> None:
    """Every row of bug-classes.md is in the zoo, expecting the checks the row names."""
    catalogue = classes_in_catalogue(CATALOGUE)
    assert set(catalogue) == set(CLASSES)
    for bug, checks in catalogue.items():
        assert set(CLASSES[bug][1]) == set(checks), bug


@needs_data
@pytest.mark.parametrize("case", FAST, ids=[c.id for c in FAST])
def test_fast_case_is_still_caught(case: Case, tmp_path: Path) -> None:
    _needs_torch(case)
    res = run_case(case, tmp_path, only=case.checks)
    assert not res.error, res.error
    assert res.caught, _explain(case, res)
    if not case.exit2:
        flagged = [c for c, s in res.expected_flags if s in ("warn", "fail")]
        assert all(res.checks[c]["hint"] for c in flagged), f"{case.id}: a flag without a hint"


@needs_data
@pytest.mark.parametrize("case", HEALTHY_FAST, ids=[c.id for c in HEALTHY_FAST])
def test_healthy_recipe_stays_quiet(case: Case, tmp_path: Path) -> None:
    res = run_case(case, tmp_path)
    alarms = {c: v for c, v in res.checks.items() if v["status"] in ("warn", "fail", "error")}
    assert res.exit_code == 0 and not res.error, res.error or alarms
    assert not alarms, alarms


def test_fast_subset_covers_every_class() -> None:
    assert {c.bug for c in FAST} == set(CLASSES)
    assert {c.dataset for c in FAST} <= {"wine", "digits", "digits8x8"}


@pytest.mark.slow
@needs_data
def test_full_zoo(tmp_path: Path) -> None:
    """Every case with every check: all caught (the figures of benchmarks/results/bugzoo.md),
    no healthy recipe fails or warns."""
    pytest.importorskip("torch")
    results = run_all(CASES, tmp_path)
    cases = {c.id: c for c in CASES}
    missed = [r for r in results if r.bug != "healthy" and not r.caught]
    assert not missed, "\n".join(_explain(cases[r.id], r) for r in missed)
    errors = [f"{r.id}: {r.error}" for r in results if r.error]
    assert not errors, errors
    for r in results:
        if r.bug == "healthy":
            alarms = {c: v["message"] for c, v in r.checks.items() if v["status"] != "pass"}
            alarms = {c: m for c, m in alarms.items() if r.checks[c]["status"] != "skip"}
            assert r.exit_code == 0 and not alarms, f"{r.id}: {alarms}"
