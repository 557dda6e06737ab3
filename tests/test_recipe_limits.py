"""Hostile or broken recipes: duplicate keys, deep nesting, alias bombs, huge files,
booleans where numbers go, sizes that cannot be allocated. Each is exit 2 with one short
message naming the key or line, fast, and never a traceback."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from nncheck.recipe.yaml_loader import MAX_VALUES
from tests.conftest import ROOT, WINE, run_cli, wine_recipe, write_recipe
from tests.usage_errors import assert_exit2

DIABETES = ROOT / "data" / "diabetes.csv"


def _run_text(tmp_path: Path, text: str, timeout: float = 60) -> tuple:
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    start = time.perf_counter()
    proc = run_cli("run", str(path), "--quiet", timeout=timeout)
    return proc, time.perf_counter() - start


def _wine_text(tmp_path: Path, **sections) -> str:
    return yaml.safe_dump(wine_recipe(tmp_path, **sections), sort_keys=False)


# --------------------------------------------------------------------------- duplicate keys


@pytest.mark.parametrize(
    "snippet, key, line",
    [
        ("train:\n  lr: 0.1\n  lr: 10\n", "'lr'", "line 3"),
        ("train: {lr: 0.1, steps: 5, lr: 10}\n", "'lr'", "line 1"),
        ("model:\n  kwargs: {outer: {a: 1, a: 2}}\n", "'a'", "line 2"),
        ("checks:\n  skip: [data.outliers]\n  skip: [data.features]\n", "'skip'", "line 3"),
    ],
)
def test_duplicate_keys_are_refused_with_their_line(
    tmp_path: Path, snippet: str, key: str, line: str
) -> None:
    text = f"data:\n  train: {WINE}\nreport:\n  dir: {tmp_path / 'r'}\n"
    proc, _ = _run_text(tmp_path, snippet + text)
    assert_exit2(proc, "recipe.yaml", "duplicate key", key, line)


def test_duplicate_top_level_section(tmp_path: Path) -> None:
    text = f"data:\n  train: {WINE}\nseed: 1\ndata:\n  train: {WINE}\n"
    proc, _ = _run_text(tmp_path, text)
    assert_exit2(proc, "duplicate key 'data'", "line 4", "first on line 1")


def test_merge_keys_may_still_be_overridden(tmp_path: Path) -> None:
    # `<<: *base` then a key of the same name is YAML's way to override, not a duplicate.
    text = (
        f"data:\n  train: {WINE}\n  target: label\nreport:\n  dir: {tmp_path / 'r'}\n"
        "train: &base {optimizer: adam, lr: 0.01, steps: 5}\n"
        "model: {hidden: [4], kwargs: {<<: *base, lr: 0.1}}\n"
    )
    proc, _ = _run_text(tmp_path, text)
    assert proc.returncode in (0, 1), proc.stderr


# --------------------------------------------------------------------------- nesting, bombs


@pytest.mark.parametrize("flow", [True, False])
def test_deep_nesting_is_refused_not_a_recursion_error(tmp_path: Path, flow: bool) -> None:
    if flow:
        deep = "[" * 3000 + "]" * 3000
        text = f"data:\n  train: {WINE}\nmodel:\n  kwargs:\n    deep: {deep}\n"
    else:
        nested = "".join(" " * (i + 4) + f"k{i}:\n" for i in range(1200))  # 0.7 MB
        text = f"data:\n  train: {WINE}\nmodel:\n  kwargs:\n{nested}"
    proc, _ = _run_text(tmp_path, text)
    assert_exit2(proc, "recipe.yaml", "line", "nested more than 100 levels")


def _bomb(levels: int = 9, width: int = 9) -> str:
    """A "billion laughs" flow sequence: width ** (levels + 1) values from ~1 kB of YAML."""
    inner = "[" + ", ".join(["lol"] * width) + "]"
    for i in range(levels):
        inner = f"[&a{i} {inner}, " + ", ".join([f"*a{i}"] * (width - 1)) + "]"
    return inner


@pytest.mark.parametrize(
    "where",
    [
        "data:\n  train: {wine}\n  classes: {bomb}\n",
        "data:\n  train: {wine}\nmodel:\n  kwargs: {{lol: {bomb}}}\n",
        "data:\n  train: {wine}\nchecks:\n  skip: {bomb}\n",
        "data:\n  train: {wine}\n  test: {bomb}\n",
    ],
    ids=["classes", "kwargs", "skip", "test"],
)
def test_alias_bomb_is_refused_quickly(tmp_path: Path, where: str) -> None:
    text = where.format(wine=WINE, bomb=_bomb())
    assert len(text) < 2000  # ~3.5e9 values once expanded
    proc, seconds = _run_text(tmp_path, text, timeout=60)
    assert_exit2(proc, "recipe.yaml", "line", f"more than {MAX_VALUES:,} values", "alias")
    assert seconds < 30


def test_alias_that_contains_itself(tmp_path: Path) -> None:
    text = f"data:\n  train: {WINE}\nmodel:\n  kwargs: {{a: &loop [1, *loop]}}\n"
    proc, _ = _run_text(tmp_path, text)
    assert_exit2(proc, "recipe.yaml", "line 4", "recursive anchor")


def test_moderate_aliases_are_still_fine(tmp_path: Path) -> None:
    # 9**4 = 6561 values through aliases: a legitimate (if odd) use, well under the cap.
    text = (
        f"data: {{train: {WINE}, target: label}}\nreport: {{dir: {tmp_path / 'r'}}}\n"
        f"model: {{hidden: [4], kwargs: {{x: {_bomb(3)}}}}}\n"
    )
    proc, _ = _run_text(tmp_path, text)
    assert proc.returncode in (0, 1), proc.stderr


def test_huge_recipe_file_is_refused_before_parsing(tmp_path: Path) -> None:
    text = _wine_text(tmp_path) + "# " + "x" * (2 << 20) + "\n"
    proc, seconds = _run_text(tmp_path, text)
    assert_exit2(proc, "recipe.yaml", "larger than 1 MiB")


@pytest.mark.parametrize(
    "text, needles",
    [
        ("seed: 2020-13-45\ndata: {train: x.csv}\n", ["recipe.yaml", "month must be in 1..12"]),
        ("data: !!python/object/apply:os.system [ls]\n", ["line 1", "constructor"]),
        ("data: *" + "x" * 5000 + "\n", ["line 1", "undefined alias", "characters)"]),
        ("data:\n\ttrain: x\n", ["line 2", "invalid YAML"]),
        ("data: {train: a}\n---\ndata: {train: b}\n", ["invalid YAML", "single document"]),
        ("data: \x00\n", ["invalid YAML", "#x0000"]),
    ],
)
def test_odd_yaml(tmp_path: Path, text: str, needles: list[str]) -> None:
    proc, _ = _run_text(tmp_path, text)
    assert_exit2(proc, *needles)


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    "sections, needles",
    [
        ({"train": {"lr": True}}, ["train.lr", "not true/false"]),
        ({"model": {"init": "normal", "init_std": True}}, ["model.init_std", "not true/false"]),
        ({"seed": True}, ["seed", "not true/false"]),
        ({"train": {"steps": True}}, ["train.steps", "not true/false"]),
        ({"train": {"batch_size": True}}, ["train.batch_size", "not true/false"]),
        ({"data": {"test": {"fraction": True}}}, ["data.test.fraction", "not true/false"]),
        ({"data": {"target": True}}, ["data.target", "got True", "column name"]),
        ({"model": {"hidden": [8, True]}}, ["model.hidden[1]", "not true/false"]),
        ({"data": {"classes": True}}, ["data.classes", "got True"]),
        ({"data": {"classes": [True, False]}}, ["data.classes", "booleans"]),
        ({"train": {"lr": float("inf")}}, ["train.lr", "finite"]),
        ({"seed": -1}, ["seed", "greater than or equal to 0"]),
        ({"seed": 2**70}, ["seed", "less than or equal to"]),
        ({"train": {"steps": 10**9}}, ["train.steps", "less than or equal to 100000"]),
        ({"model": {"hidden": [4] * 500}}, ["model.hidden", "at most 100"]),
        ({"data": {"classes": 10**9}}, ["data.classes", "1,000,000,000 classes", "100,000"]),
        (
            {"data": {"target": "label", "second_annotation": "label"}},
            ["second_annotation", "the target itself"],
        ),
    ],
)
def test_bad_values_are_refused(tmp_path: Path, sections: dict, needles: list[str]) -> None:
    path = write_recipe(tmp_path, wine_recipe(tmp_path, **sections))
    assert_exit2(run_cli("run", str(path), "--quiet"), *needles)


def test_class_list_past_the_cap(tmp_path: Path) -> None:
    recipe = wine_recipe(tmp_path, data={"classes": list(range(100_001))})
    path = tmp_path / "recipe.yaml"
    path.write_text(json.dumps(recipe))  # JSON is YAML; flow style keeps it under 1 MiB
    assert_exit2(run_cli("run", str(path), "--quiet"), "data.classes", "100,001 classes")


def test_integer_where_a_float_goes_is_still_fine(tmp_path: Path) -> None:
    recipe = wine_recipe(tmp_path, train={"lr": 1, "steps": 5, "batch_size": 8.0})
    proc = run_cli("run", str(write_recipe(tmp_path, recipe)), "--quiet", "--only", "data")
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(
    "hidden, width", [([1_000_000_000], "13-1000000000-3"), ([100_000, 100_000], "100000-100000")]
)
def test_model_too_large_for_memory_is_refused_with_its_size(
    tmp_path: Path, hidden: list[int], width: str
) -> None:
    recipe = wine_recipe(tmp_path, model={"hidden": hidden})
    start = time.perf_counter()
    err = assert_exit2(run_cli("run", str(write_recipe(tmp_path, recipe))), "model.hidden")
    assert width in err and "parameters" in err and "GiB" in err and "limit" in err
    assert time.perf_counter() - start < 60


def test_cross_entropy_on_a_regression_target(tmp_path: Path) -> None:
    recipe = yaml.safe_load((ROOT / "recipes" / "diabetes.yaml").read_text())
    recipe["data"]["train"] = str(DIABETES)
    recipe["model"]["loss"] = "cross_entropy"
    recipe["report"] = {"dir": str(tmp_path / "r")}
    proc = run_cli("run", str(write_recipe(tmp_path, recipe)))
    assert_exit2(proc, "model.loss", "cross_entropy", "regression")
    assert not (tmp_path / "r").exists()


def test_cross_entropy_on_an_inferred_regression_target(tmp_path: Path) -> None:
    recipe = {"data": {"train": str(DIABETES)}, "model": {"loss": "cross_entropy"}}
    proc = run_cli("run", str(write_recipe(tmp_path, recipe)))
    assert_exit2(proc, "model.loss", "regression (inferred)")
