"""data.integrity on data a user really has: NaN cells, shifted labels, sentinels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tests.conftest import WINE, check_by_id, read_results, run_cli, wine_recipe, write_recipe


def _run(tmp_path: Path, frame: pd.DataFrame, model: dict | None = None, **data) -> dict:
    csv = tmp_path / "data.csv"
    frame.to_csv(csv, index=False)
    recipe = wine_recipe(tmp_path, data={"train": str(csv), **data}, model=model or {})
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
    # the wine recipe's cross_entropy has no targets on a regression task (exit 2)
    res = _run(tmp_path, frame, model={"loss": "mse"}, target="target", task="regression")
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


# --------------------------------------------------------------------------- D6 on more data


def _integrity(tmp_path: Path, data: dict, cli: bool = False) -> dict:
    """Only data.integrity on ``data`` (a recipe's data section), in process or through the
    CLI, as the dict results.json holds."""
    recipe = {"data": data, "report": {"dir": str(tmp_path / "report")}}
    if not cli:
        from nncheck.checks.context import Context
        from nncheck.checks.registry import load_all
        from nncheck.checks.runner import run_one
        from nncheck.data.build import load_dataset
        from nncheck.recipe.load import parse_recipe

        parsed = parse_recipe(recipe, base_dir=tmp_path)
        ctx = Context(parsed, load_dataset(parsed.data, parsed.seed), None, None)
        spec = load_all()["data.integrity"]
        res = run_one(spec, ctx, dict(spec.defaults))
        return {k: getattr(res, k) for k in ("status", "message", "hint", "metrics", "examples")}
    proc = run_cli(
        "run", str(write_recipe(tmp_path, recipe)), "--quiet", "--only", "data.integrity"
    )
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr
    return check_by_id(read_results(tmp_path / "report"), "data.integrity")


def test_digits_nan_and_inf_pixels_fail(tmp_path: Path, data_dir: Path) -> None:
    frame = pd.read_csv(data_dir / "digits.csv").astype({"px10": float, "px20": float})
    frame.loc[[5, 100], "px10"] = float("nan")
    frame.loc[7, "px20"] = float("-inf")
    frame.to_csv(tmp_path / "digits.csv", index=False)
    check = _integrity(tmp_path, {"train": str(tmp_path / "digits.csv")})
    assert check["status"] == "fail"
    m = check["metrics"]
    assert (m["train_nan"] + m["test_nan"], m["train_inf"] + m["test_inf"]) == (2, 1)
    assert {e["row"] for e in check["examples"]} == {5, 7, 100}
    assert {c for e in check["examples"] for c in e["columns"]} == {10, 20}


def test_digits_labels_1_to_10_fail_with_counts(tmp_path: Path, data_dir: Path) -> None:
    frame = pd.read_csv(data_dir / "digits.csv")
    frame["label"] += 1
    frame.to_csv(tmp_path / "digits.csv", index=False)
    check = _integrity(tmp_path, {"train": str(tmp_path / "digits.csv")}, cli=True)
    assert check["status"] == "fail"
    n_ten = int((frame["label"] == 10).sum())  # 180 nines became 10
    assert check["metrics"]["labels_outside_range"] == n_ten
    assert f"1..10 are not 0..9: {n_ten} samples" in check["message"]
    assert check["examples"] and all(e["label"] == 10 for e in check["examples"])
    assert all(frame.loc[e["row"], "label"] == 10 for e in check["examples"])


def test_mnist_labels_1_to_10_declared_as_10_classes_fail(tmp_path: Path, data_dir: Path) -> None:
    from nncheck.data.idx import read_idx

    rng = np.random.default_rng(0)
    data = {"task": "classification", "classes": 10, "normalize": "scale255"}
    n_ten = 0
    for split, stem, n in (("train", "train", 2000), ("test", "t10k", 500)):
        images = read_idx(str(data_dir / "mnist" / f"{stem}-images-idx3-ubyte.gz"))
        labels = read_idx(str(data_dir / "mnist" / f"{stem}-labels-idx1-ubyte.gz"), "labels")
        rows = np.sort(rng.choice(len(images), n, replace=False))
        y = labels[rows].astype(np.int64) + 1
        n_ten += int((y == 10).sum())
        np.savez(tmp_path / f"{split}.npz", x=images[rows], y=y)
        data[split] = str(tmp_path / f"{split}.npz")
    check = _integrity(tmp_path, data)
    assert check["status"] == "fail"
    m = check["metrics"]
    assert m["train_invalid_labels"] + m["test_invalid_labels"] == n_ten
    assert "outside the declared classes 0..9: 10" in check["message"]


def test_breast_cancer_stray_label_fails_when_classes_declared(
    tmp_path: Path, data_dir: Path
) -> None:
    frame = pd.read_csv(data_dir / "breast_cancer.csv")
    frame.loc[[10, 20], "label"] = 2
    frame.loc[[0, 1, 2], "mean_area"] = float("nan")
    frame.to_csv(tmp_path / "bc.csv", index=False)
    check = _integrity(tmp_path, {"train": str(tmp_path / "bc.csv"), "classes": 2})
    assert check["status"] == "fail"
    m = check["metrics"]
    assert m["train_invalid_labels"] + m["test_invalid_labels"] == 2
    assert m["train_nan"] + m["test_nan"] == 3
    assert "{0, 1}: 2" in check["message"]


def test_diabetes_sentinel_target_and_inf_feature_fail(tmp_path: Path, data_dir: Path) -> None:
    frame = pd.read_csv(data_dir / "diabetes.csv")
    frame["target"] = frame["target"].astype(object)
    frame.loc[[4, 8], "target"] = "?"
    frame.loc[11, "bmi"] = float("inf")
    frame.to_csv(tmp_path / "diabetes.csv", index=False)
    data = {"train": str(tmp_path / "diabetes.csv"), "target": "target", "task": "regression"}
    check = _integrity(tmp_path, data, cli=True)
    assert check["status"] == "fail"
    m = check["metrics"]
    assert m["train_bad_targets"] + m["test_bad_targets"] == 2
    assert m["train_inf"] + m["test_inf"] == 1
    assert "'?'" in check["message"] and "inf" in check["message"]
