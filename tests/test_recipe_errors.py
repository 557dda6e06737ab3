"""Bad recipes: exit 2, the key path in one clear message, no traceback, no report lost."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import WINE, run_cli, wine_recipe, write_recipe


def assert_usage_error(proc, *needles: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    for needle in needles:
        assert needle in proc.stderr, f"{needle!r} not in {proc.stderr!r}"


@pytest.mark.parametrize(
    "sections, needles",
    [
        ({"model": {"hiden": [4]}}, ["model.hiden", "did you mean 'hidden'"]),
        ({"model": {"hidden": [8, 0]}}, ["model.hidden[1]", "greater than or equal to 1"]),
        ({"train": {"lr": "fast"}}, ["train.lr", "valid number", "'fast'"]),
        ({"model": {"activation": "relux"}}, ["model.activation", "'relu', 'tanh' or 'sigmoid'"]),
        ({"train": {"optimizer": "adamw"}}, ["train.optimizer", "'adam'"]),
        ({"data": {"test": {"fractio": 0.2}}}, ["data.test.fractio", "did you mean 'fraction'"]),
        ({"data": {"test": {"fraction": 1.5}}}, ["data.test.fraction", "less than 1"]),
        ({"data": {"train": 5}}, ["data.train", "expected a file path"]),
        ({"data": {"classes": 1}}, ["data.classes", "at least 2 classes"]),
        ({"seeed": 1}, ["seeed", "did you mean 'seed'"]),
        (
            {"checks": {"overfit.one_batch": {"max_los": 0.1}}},
            ["checks.overfit.one_batch.max_los", "did you mean 'max_loss'"],
        ),
        (
            {"checks": {"overfit.one_batch": {"max_loss": "low"}}},
            ["checks.overfit.one_batch.max_loss", "expected a number"],
        ),
        (
            {"checks": {"overfit.one_bach": {}}},
            ["checks.overfit.one_bach", "did you mean 'overfit.one_batch'"],
        ),
        (
            {"checks": {"skip": ["skeleton.init_los"]}},
            ["checks.skip[0]", "did you mean 'skeleton.init_loss'"],
        ),
        ({"model": {"engine": "torch"}}, ["model", "factory"]),
    ],
)
def test_bad_recipe_field(tmp_path: Path, sections: dict, needles: list[str]) -> None:
    recipe = write_recipe(tmp_path, wine_recipe(tmp_path, **sections))
    assert_usage_error(run_cli("run", str(recipe)), *needles)


def test_missing_data_file_names_key_and_path(tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path, {"data": {"train": "nowhere/wine.csv"}})
    proc = run_cli("run", str(recipe))
    assert_usage_error(proc, "data.train", str(tmp_path / "nowhere" / "wine.csv"))


def test_missing_idx_labels_file_names_nested_key(tmp_path: Path) -> None:
    recipe = write_recipe(
        tmp_path, {"data": {"train": {"images": str(WINE), "labels": "missing.gz"}}}
    )
    assert_usage_error(run_cli("run", str(recipe)), "data.train.labels", "missing.gz")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read files without read permission")
def test_unreadable_data_file(tmp_path: Path) -> None:
    data = tmp_path / "locked.csv"
    data.write_text("a,label\n1,0\n")
    data.chmod(0)
    recipe = write_recipe(tmp_path, {"data": {"train": "locked.csv"}})
    assert_usage_error(run_cli("run", str(recipe)), "data.train", "not readable")


def test_invalid_yaml_names_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("data:\n  train: a.csv\n  test: [unclosed\nmodel: {}\n")
    assert_usage_error(run_cli("run", str(path)), "broken.yaml", "line", "invalid YAML")


def test_recipe_not_a_mapping(tmp_path: Path) -> None:
    path = write_recipe(tmp_path, {"data": 1}, name="list.yaml")
    path.write_text("- just\n- a list\n")
    assert_usage_error(run_cli("run", str(path)), "list.yaml", "mapping")


def test_missing_recipe_file(tmp_path: Path) -> None:
    assert_usage_error(run_cli("run", str(tmp_path / "nope.yaml")), "recipe file not found")


def test_unknown_only_name_on_command_line(tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path, wine_recipe(tmp_path))
    proc = run_cli("run", str(recipe), "--only", "data.integrty")
    assert_usage_error(proc, "--only", "did you mean 'data.integrity'")


def test_bad_recipe_keeps_previous_report(tmp_path: Path) -> None:
    good = write_recipe(tmp_path, wine_recipe(tmp_path), name="good.yaml")
    assert run_cli("run", str(good), "--quiet").returncode in (0, 1)
    before = (tmp_path / "report" / "results.json").read_text()
    bad = write_recipe(tmp_path, wine_recipe(tmp_path, train={"lr": -1}), name="bad.yaml")
    assert_usage_error(run_cli("run", str(bad)), "train.lr")
    assert (tmp_path / "report" / "results.json").read_text() == before
