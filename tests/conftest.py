"""Shared test helpers: run the CLI as a user does, and build recipes in temp dirs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
# The real datasets the tests read, bundled in the repository (data/README.md gives origins).
DATA = ROOT / "data"
WINE = DATA / "wine.csv"


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """`nncheck ARGS` in a subprocess, exactly as a user (or CI) runs it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "nncheck", *args],
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def write_recipe(directory: Path, recipe: dict[str, Any], name: str = "recipe.yaml") -> Path:
    """Write ``recipe`` as YAML into ``directory``. A recipe that names no report directory
    gets ``report.dir: <stem>-report`` beside it, so a test's report never lands in the
    checkout (pass ``report: {}`` to exercise the default)."""
    path = directory / name
    if "report" not in recipe:
        recipe = {**recipe, "report": {"dir": f"{path.stem}-report"}}
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


def wine_recipe(tmp_path: Path, **sections: Any) -> dict[str, Any]:
    """The bundled wine recipe with absolute paths, sections overridden (merged one level)."""
    recipe: dict[str, Any] = yaml.safe_load((ROOT / "recipes" / "wine.yaml").read_text())
    recipe["data"]["train"] = str(WINE)
    recipe["report"] = {"dir": str(tmp_path / "report")}
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(recipe.get(key), dict):
            recipe[key] = {**recipe[key], **value}
        else:
            recipe[key] = value
    return recipe


def read_results(report_dir: Path) -> dict[str, Any]:
    return json.loads((report_dir / "results.json").read_text())


def check_by_id(results: dict[str, Any], check_id: str) -> dict[str, Any]:
    return next(c for c in results["checks"] if c["id"] == check_id)


@pytest.fixture
def data_dir() -> Path:
    """The bundled datasets folder (data/)."""
    return DATA


def _checkout_entries() -> set[str]:
    """What a test could leave in the checkout: top-level entries and report folders."""
    reports = ROOT / "reports"
    entries = {p.name for p in ROOT.iterdir()}
    if reports.is_dir():
        entries |= {f"reports/{p.name}" for p in reports.iterdir()}
    return entries


@pytest.fixture(autouse=True)
def _leaves_nothing_in_the_checkout(request: pytest.FixtureRequest):
    """Every test writes under tmp_path only: a new file or report folder in the checkout
    fails the test that made it (two directory listings per test, no measurable cost)."""
    before = _checkout_entries()
    yield
    ignored = {".pytest_cache", ".ruff_cache", ".hypothesis", "__pycache__"}
    new = sorted(e for e in _checkout_entries() - before if e.split("/")[-1] not in ignored)
    assert not new, f"{request.node.nodeid} left {new} in the checkout; write under tmp_path"
