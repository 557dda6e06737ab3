"""The example projects (examples/projects/) pass their audit three ways, with no warning.

Each project is audited by its own pytest test (the Python API), by ``pytest --nncheck``
on its recipe (one test per check, read back from the JUnit XML), and by ``nncheck run``
on the recipe with factories. The tabular project's API audit runs in the default suite;
the rest (minutes on a shared machine) are marked slow.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytest.importorskip("torch")

from tests.conftest import ROOT, read_results, run_cli  # noqa: E402

PROJECTS = ROOT / "examples" / "projects"
RECIPES = {"tabular": "wine.yaml", "images": "mnist.yaml"}


def test_tabular_project_passes_through_the_api(monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(PROJECTS / "tabular"))
    from audit_wine import run_audit

    result = run_audit()
    bad = {c.id: (c.status, c.message) for c in result.checks if c.status in ("fail", "warn")}
    assert not bad, bad
    assert result["skeleton.optimizer_params"].status == "pass"
    assert result["skeleton.lr_schedule"].status == "pass"
    assert "label_smoothing=0.1" in result.run.recipe["train"]["loss"]
    # the expected loss at init is the user's smoothed loss of the class priors
    assert "CrossEntropyLoss" in result["skeleton.init_loss"].message


@pytest.mark.slow
@pytest.mark.parametrize("project", sorted(RECIPES))
def test_project_own_test_passes(project: str, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(PROJECTS / project),
         "--rootdir", str(PROJECTS / project), "-o", f"cache_dir={tmp_path}"],
        capture_output=True, text=True, cwd=tmp_path, timeout=3000,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "1 passed" in proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize("project", sorted(RECIPES))
def test_project_recipe_passes_under_pytest_nncheck(project: str, tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    recipe = PROJECTS / project / RECIPES[project]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nncheck",
         "--nncheck-fail-on", "warn", str(recipe), f"--junitxml={junit}",
         "--rootdir", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=3000,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:]
    cases = list(ET.parse(junit).getroot().iter("testcase"))
    names = {c.get("name") for c in cases}
    assert {"data.leakage", "skeleton.init_loss", "overfit.loss_decreases"} <= names
    assert not [c for c in cases if c.find("failure") is not None or c.find("error") is not None]


@pytest.mark.slow
@pytest.mark.parametrize("project", sorted(RECIPES))
def test_project_recipe_passes_nncheck_run(project: str, tmp_path: Path) -> None:
    report = tmp_path / "report"
    recipe = PROJECTS / project / RECIPES[project]
    proc = run_cli("run", str(recipe), "--quiet", "--fail-on", "warn", "--report-dir",
                   str(report), timeout=3000)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    checks = read_results(report)["checks"]
    assert not [c["id"] for c in checks if c["status"] in ("fail", "warn", "error")]
