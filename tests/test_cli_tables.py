"""Tables as a new user meets them: `nncheck init FILE && nncheck run FILE.yaml`, unchanged."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests import table_files
from tests.conftest import DATA, check_by_id, read_results, run_cli


@pytest.mark.parametrize("name", ["titanic", "penguins"])
def test_init_then_run_a_real_table(tmp_path: Path, name: str) -> None:
    data = tmp_path / f"{name}.csv"
    shutil.copy(DATA / f"{name}.csv", data)
    init = run_cli("init", str(data), cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    recipe_path = tmp_path / f"{name}.yaml"
    recipe = yaml.safe_load(recipe_path.read_text())
    assert recipe["data"]["missing"] == "impute"
    run = run_cli("run", str(recipe_path), "--quiet", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    results = read_results(tmp_path / "reports" / name)
    assert results["summary"]["fail"] == 0 and results["summary"]["error"] == 0
    html = (tmp_path / "reports" / name / "index.html").read_text()
    missing = check_by_id(results, "data.missing_values")["message"]
    categories = check_by_id(results, "data.categories")["message"]
    identifiers = check_by_id(results, "data.identifiers")["message"]
    if name == "titanic":
        assert recipe["data"]["target"] == "Survived"
        assert "PassengerId" in identifiers and "Name" in identifiers and "Ticket" in identifiers
        assert "Age 177" in missing and "Embarked 2" in missing
        assert "Sex (2: female, male)" in categories and "Embarked" in categories
    else:
        assert recipe["data"]["target"] == "species"
        assert identifiers == "no identifier columns among 7 columns"
        assert "sex 11" in missing and "(3, 271)" in missing
        assert "island (3: Biscoe, Dream, Torgersen)" in categories
    for text in (missing, categories, identifiers):
        assert text.split(";")[0].replace("&", "&amp;").replace("'", "&#39;") in html


def test_init_names_a_headerless_target_and_takes_target(tmp_path: Path) -> None:
    data = table_files.adult_headerless(tmp_path / "adult.csv", n=200)
    init = run_cli("init", str(data), cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    text = (tmp_path / "adult.yaml").read_text()
    assert "# Target: 'col_7' (the last column, a category with 2 values)" in text
    assert yaml.safe_load(text)["data"]["csv"] == {"header": False}
    init = run_cli("init", str(data), "--target", "col_4", "--force", cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    assert yaml.safe_load((tmp_path / "adult.yaml").read_text())["data"]["target"] == "col_4"
    run = run_cli("run", str(tmp_path / "adult.yaml"), "--quiet", "--only", "data", cwd=tmp_path)
    assert run.returncode in (0, 1) and "Traceback" not in run.stderr
    bad = run_cli("init", str(data), "--target", "col_9", "--force", cwd=tmp_path)
    assert bad.returncode == 2 and "target column 'col_9' not found" in bad.stderr


@pytest.mark.parametrize("name", ["titanic", "penguins"])
def test_bundled_table_recipes_are_healthy(tmp_path: Path, name: str) -> None:
    report = tmp_path / "report"
    run = run_cli("run", f"recipes/{name}.yaml", "--quiet", "--report-dir", str(report))
    assert run.returncode == 0, run.stdout + run.stderr
    results = read_results(report)
    assert results["summary"]["fail"] == 0 and results["summary"]["error"] == 0
    warned = {c["id"] for c in results["checks"] if c["status"] == "warn"}
    if name == "titanic":
        assert warned == {"data.identifiers", "data.missing_values", "data.label_errors"}
        leak = check_by_id(results, "data.leakage")
        assert leak["metrics"]["group_column"] == "Ticket" and leak["metrics"]["group_leaked"] == 0
    else:
        assert warned == {"data.missing_values"}
