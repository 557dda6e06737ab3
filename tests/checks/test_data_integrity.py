"""data.integrity on data a user really has: NaN cells, shifted labels, sentinels."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.conftest import WINE, check_by_id, read_results, run_cli, wine_recipe, write_recipe


def _run(tmp_path: Path, frame: pd.DataFrame, **data) -> dict:
    csv = tmp_path / "data.csv"
    frame.to_csv(csv, index=False)
    recipe = wine_recipe(tmp_path, data={"train": str(csv), **data})
    proc = run_cli("run", str(write_recipe(tmp_path, recipe)), "--quiet")
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr
    return read_results(tmp_path / "report")


def test_nan_and_inf_features_fail_with_counts(tmp_path: Path) -> None:
    frame = pd.read_csv(WINE)
    frame.loc[[3, 50, 51], "ash"] = float("nan")
    frame.loc[7, "proline"] = float("inf")
    res = _run(tmp_path, frame)
    check = check_by_id(res, "data.integrity")
    assert check["status"] == "fail"
    total_nan = check["metrics"]["train_nan"] + check["metrics"]["test_nan"]
    total_inf = check["metrics"]["train_inf"] + check["metrics"]["test_inf"]
    assert (total_nan, total_inf) == (3, 1)
    assert "NaN" in check["message"] and "inf" in check["message"]
    rows = {e["row"] for e in check["examples"]}
    assert rows == {3, 50, 51, 7}
    # model checks cannot use NaN inputs: they skip and point at data.integrity
    init = check_by_id(res, "skeleton.init_loss")
    assert init["status"] == "skip" and "data.integrity" in init["message"]


def test_labels_1_to_3_declared_as_3_classes_fail(tmp_path: Path) -> None:
    frame = pd.read_csv(WINE)
    frame["label"] += 1
    res = _run(tmp_path, frame, classes=3)
    check = check_by_id(res, "data.integrity")
    assert check["status"] == "fail"
    n_bad = int((frame["label"] == 3).sum())
    assert (
        check["metrics"]["train_invalid_labels"] + check["metrics"]["test_invalid_labels"] == n_bad
    )
    assert "outside the declared classes" in check["message"] and "3" in check["message"]


def test_undeclared_labels_1_to_3_are_not_0_to_k_minus_1(tmp_path: Path) -> None:
    frame = pd.read_csv(WINE)
    frame["label"] += 1
    check = check_by_id(_run(tmp_path, frame), "data.integrity")
    assert check["status"] == "fail"
    assert "1..3 are not 0..2" in check["message"]
    assert "classes" in check["hint"]


def test_string_labels_are_fine(tmp_path: Path) -> None:
    frame = pd.read_csv(WINE)
    frame["label"] = frame["label"].map({0: "barolo", 1: "grignolino", 2: "barbera"})
    res = _run(tmp_path, frame)
    check = check_by_id(res, "data.integrity")
    assert check["status"] == "pass", check["message"]
    assert set(check["metrics"]["classes"]) == {"barolo", "grignolino", "barbera"}
    assert check_by_id(res, "overfit.one_batch")["status"] == "pass"


def test_regression_sentinel_target_fails(tmp_path: Path) -> None:
    frame = pd.read_csv(WINE).drop(columns="label")
    frame["target"] = frame["alcohol"].astype(str)
    frame.loc[[5, 9], "target"] = "?"
    frame = frame.drop(columns="alcohol")
    res = _run(tmp_path, frame, target="target", task="regression")
    check = check_by_id(res, "data.integrity")
    assert check["status"] == "fail"
    assert check["metrics"]["train_bad_targets"] + check["metrics"]["test_bad_targets"] == 2
    assert "'?'" in check["message"]


def test_single_class_fails(tmp_path: Path) -> None:
    frame = pd.read_csv(WINE)
    frame = frame[frame["label"] == 1]
    frame.loc[frame.index[:3], "label"] = 0  # a second class, but only in a few rows
    res = _run(tmp_path, frame.assign(label=1), classes=["0", "1"], test=str(WINE))
    check = check_by_id(res, "data.integrity")
    assert check["status"] == "fail" and "single class" in check["message"]
