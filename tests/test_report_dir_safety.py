"""The report directory never costs a user a file, and every problem with it is exit 2.

nncheck replaces its report directory as a whole (atomically), so pointing `report.dir` at
`.`, at the data folder or at any folder of the user's own would delete everything in it.
These tests run the CLI as a user does and check, byte for byte, that nothing of the user's
changed; and that an unusable report directory is a one-line exit 2 before any training.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from nncheck.cli import main
from nncheck.writers.report_dir import MARKER
from tests.conftest import WINE, read_results, run_cli, wine_recipe, write_recipe

FAST = ("--only", "data.integrity")


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry below ``folder`` with a hash of its bytes (folders as 'dir')."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        out[rel] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def user_folder(tmp_path: Path) -> tuple[Path, Path]:
    """A project folder as a user has it: the recipe, the data and files of their own."""
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    shutil.copy(WINE, project / "data" / "wine.csv")
    (project / "notes.txt").write_text("my notes, not backed up anywhere\n")
    (project / "src").mkdir()
    (project / "src" / "train.py").write_text("print('training')\n")
    recipe = wine_recipe(tmp_path)
    recipe["data"]["train"] = "data/wine.csv"
    del recipe["report"]
    path = project / "wine.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return project, path


def assert_exit2(proc, *needles: str) -> None:
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "Traceback" not in out
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, (needle, proc.stderr)


# --------------------------------------------------------------------------- data loss


@pytest.mark.parametrize("target", [".", "data", "src", "..", "~"])
def test_a_folder_of_the_users_is_never_replaced(tmp_path: Path, target: str) -> None:
    project, recipe = user_folder(tmp_path)
    raw = yaml.safe_load(recipe.read_text())
    raw["report"] = {"dir": target}
    recipe.write_text(yaml.safe_dump(raw))
    home = tmp_path / "home"
    (home / "documents").mkdir(parents=True)
    (home / "documents" / "thesis.tex").write_text("\\section{}")
    before_project, before_home = snapshot(tmp_path), snapshot(home)
    env_home = os.environ.get("HOME")
    os.environ["HOME"] = str(home)
    try:
        proc = run_cli("run", str(recipe), *FAST, cwd=project)
    finally:
        if env_home is None:
            del os.environ["HOME"]
        else:
            os.environ["HOME"] = env_home
    assert_exit2(proc, "report directory")
    assert snapshot(tmp_path) == before_project  # byte for byte, and nothing new
    assert snapshot(home) == before_home


def test_report_dir_flag_naming_a_users_folder_is_refused(tmp_path: Path) -> None:
    project, recipe = user_folder(tmp_path)
    before = snapshot(tmp_path)
    proc = run_cli("run", str(recipe), *FAST, "--report-dir", str(project / "src"))
    assert_exit2(proc, "not an nncheck report", "src")
    assert snapshot(tmp_path) == before


def test_a_report_dir_holding_the_data_is_refused_even_if_it_looks_like_a_report(
    tmp_path: Path,
) -> None:
    project, recipe = user_folder(tmp_path)
    (project / "data" / MARKER).write_text("{}")
    before = snapshot(tmp_path)
    proc = run_cli("run", str(recipe), *FAST, "--report-dir", str(project / "data"))
    assert_exit2(proc, "wine.csv")
    assert snapshot(tmp_path) == before


def test_a_previous_report_is_replaced_and_an_empty_folder_is_used(tmp_path: Path) -> None:
    report = tmp_path / "report"
    report.mkdir()  # empty: fine
    recipe = write_recipe(tmp_path, wine_recipe(tmp_path))
    first = run_cli("run", str(recipe), *FAST)
    assert first.returncode == 0, first.stderr
    assert (report / MARKER).is_file() and (report / "results.json").is_file()
    (report / "stale.txt").write_text("left by a person in the old report")
    second = run_cli("run", str(recipe), "--only", "data.duplicates")
    assert second.returncode == 0, second.stderr
    assert not (report / "stale.txt").exists()
    assert [c["id"] for c in read_results(report)["checks"] if c["status"] != "skip"] == [
        "data.duplicates"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["recipe.yaml", "report"]


# --------------------------------------------------------------------------- exit 2


def test_report_dir_whose_parent_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    recipe = write_recipe(tmp_path, wine_recipe(tmp_path, report={"dir": "afile/report"}))
    assert_exit2(run_cli("run", str(recipe), *FAST), "afile", "is a file")


def test_report_dir_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "report").write_text("x")
    recipe = write_recipe(tmp_path, wine_recipe(tmp_path))
    assert_exit2(run_cli("run", str(recipe), *FAST), "is a file")


def test_report_dir_in_an_unwritable_place(tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path, wine_recipe(tmp_path, report={"dir": "/proc/nncheck/r"}))
    assert_exit2(run_cli("run", str(recipe), *FAST), "cannot write the report to /proc")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_report_dir_without_permission(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        recipe = write_recipe(tmp_path, wine_recipe(tmp_path, report={"dir": "locked/r"}))
        assert_exit2(run_cli("run", str(recipe), *FAST), "Permission denied")
    finally:
        locked.chmod(0o700)


def test_report_dir_name_too_long(tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path, wine_recipe(tmp_path, report={"dir": "r" * 300}))
    assert_exit2(run_cli("run", str(recipe), *FAST), "300 bytes", "shorter report.dir")


def test_a_long_recipe_name_gets_a_safe_default_folder(tmp_path: Path) -> None:
    names = ["n" * 400 + "-a", "n" * 400 + "-b"]
    folders = set()
    for i, name in enumerate(names):
        recipe = wine_recipe(tmp_path, name=name)
        recipe.pop("report")
        path = tmp_path / f"r{i}.yaml"
        path.write_text(yaml.safe_dump(recipe))
        proc = run_cli("run", str(path), *FAST)
        assert proc.returncode == 0, proc.stderr
        folders |= {p.name for p in (tmp_path / "reports").iterdir()}
    assert len(folders) == 2  # distinct names keep distinct folders
    assert all(len(f) <= 80 for f in folders)


def test_null_byte_in_report_dir(tmp_path: Path, capsys) -> None:
    recipe = write_recipe(tmp_path, wine_recipe(tmp_path, report={"dir": "a\0b"}))
    assert_exit2(run_cli("run", str(recipe), *FAST), "null byte", "report.dir")
    good = write_recipe(tmp_path, wine_recipe(tmp_path), name="good.yaml")
    assert main(["run", str(good), *FAST, "--report-dir", "x\0y"]) == 2
    err = capsys.readouterr().err
    assert "null byte" in err and "Traceback" not in err


@pytest.mark.parametrize("blank", ["", " ", "\t"])
def test_blank_report_dir_is_refused_not_made(tmp_path: Path, blank: str) -> None:
    # found by tests/fuzz: `report.dir: ' '` made a folder named " " beside the recipe
    recipe = write_recipe(tmp_path, wine_recipe(tmp_path, report={"dir": blank}))
    assert_exit2(run_cli("run", str(recipe), *FAST), "report.dir", "blank")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["recipe.yaml"]


def test_default_report_dir_is_beside_the_recipe(tmp_path: Path) -> None:
    recipe = wine_recipe(tmp_path, name="beside")
    recipe.pop("report")
    folder = tmp_path / "recipes"
    folder.mkdir()
    path = folder / "beside.yaml"
    path.write_text(yaml.safe_dump(recipe))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = run_cli("run", str(path), *FAST, cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr
    assert (folder / "reports" / "beside" / "results.json").is_file()
    assert list(elsewhere.iterdir()) == []


# --------------------------------------------------------------------------- junit.xml


def test_control_characters_keep_junit_parseable(tmp_path: Path) -> None:
    csv = tmp_path / "labels.csv"
    rows = WINE.read_text().splitlines()
    header, body = rows[0], rows[1:]
    names = {"0": "red\x1b[31m", "1": "bell\x07", "2": "unit\x1fsep"}  # (NUL: a binary file)
    label_col = header.split(",").index("label")
    fixed = []
    for row in body:
        cells = row.split(",")
        cells[label_col] = names[cells[label_col]]
        fixed.append(",".join(cells))
    csv.write_text("\n".join([header, *fixed]) + "\n")
    recipe = wine_recipe(tmp_path, name="a\x1b[31mb\x07c\x00d")
    recipe["data"]["train"] = str(csv)
    path = write_recipe(tmp_path, recipe)
    proc = run_cli("run", str(path), "--only", "data")
    assert proc.returncode in (0, 1), proc.stderr
    report = tmp_path / "report"
    suite = ET.parse(report / "junit.xml").getroot().find("testsuite")
    results = read_results(report)
    assert int(suite.get("tests")) == len(results["checks"]) == len(suite.findall("testcase"))
    assert suite.get("name") == "nncheck.a\\x1b[31mb\\x07c\\x00d"


def test_permission_denied_is_exit_2_even_as_root(tmp_path: Path, monkeypatch, capsys) -> None:
    """Root ignores folder permissions, so the refusal is simulated where it happens."""
    import nncheck.writers.report_dir as report_dir

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(report_dir.tempfile, "mkdtemp", refuse)
    recipe = write_recipe(tmp_path, wine_recipe(tmp_path))
    assert main(["run", str(recipe), *FAST, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "cannot write the report to" in err and "Permission denied" in err
    assert not (tmp_path / "report").exists()
