"""data.class_balance: imbalance (with and without a zero output bias) and label shift."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nncheck.checks.registry import load_all
from nncheck.checks.runner import run_one
from nncheck.recipe.load import parse_recipe
from nncheck.run import build_context
from tests.conftest import ROOT, check_by_id, read_results, run_cli, write_recipe

CHECK = "data.class_balance"


def _run(
    tmp_path: Path,
    train: pd.DataFrame,
    test: pd.DataFrame | None = None,
    cli: bool = False,
    **model,
) -> dict:
    """The check on ``train`` (and a ``test`` file, else a 25% split), in process or via the
    CLI, as the dict results.json holds."""
    train.to_csv(tmp_path / "train.csv", index=False)
    data: dict = {"train": str(tmp_path / "train.csv"), "target": "label"}
    if test is not None:
        test.to_csv(tmp_path / "test.csv", index=False)
        data["test"] = str(tmp_path / "test.csv")
    recipe = {"data": data, "report": {"dir": str(tmp_path / "report")}}
    if model:
        recipe["model"] = model
    if not cli:
        res = _in_process(recipe)
        return {k: getattr(res, k) for k in ("status", "message", "hint", "metrics", "examples")}
    proc = run_cli("run", str(write_recipe(tmp_path, recipe)), "--quiet", "--only", CHECK)
    assert proc.returncode in (0, 1), proc.stderr
    return check_by_id(read_results(tmp_path / "report"), CHECK)


def _in_process(recipe_dict: dict) -> object:
    ctx = build_context(parse_recipe(recipe_dict, base_dir=ROOT))
    spec = load_all()[CHECK]
    return run_one(spec, ctx, dict(spec.defaults))


@pytest.mark.parametrize("name", ["wine", "breast_cancer", "digits", "iris"])
def test_healthy_datasets_pass(name: str, data_dir: Path) -> None:
    res = _in_process({"data": {"train": str(data_dir / f"{name}.csv"), "target": "label"}})
    assert res.status == "pass", res.message
    assert res.metrics["label_shift_tvd"] < 0.03  # stratified split
    assert res.metrics["imbalance_ratio"] < 2
    assert res.artifacts["tables"]["class counts"]["rows"]


def _imbalanced_breast_cancer(data_dir: Path) -> pd.DataFrame:
    """All 357 benign (1) rows and 18 malignant (0): about 1:20."""
    frame = pd.read_csv(data_dir / "breast_cancer.csv")
    rare = frame[frame["label"] == 0].iloc[:18]
    return pd.concat([rare, frame[frame["label"] == 1]])


def _imbalanced_digits(data_dir: Path) -> pd.DataFrame:
    """Digit 0 cut to 9 rows, the other digits ~180 each: about 1:20."""
    frame = pd.read_csv(data_dir / "digits.csv")
    return pd.concat([frame[frame["label"] == 0].iloc[:9], frame[frame["label"] != 0]])


@pytest.mark.parametrize("make", [_imbalanced_breast_cancer, _imbalanced_digits])
def test_one_to_twenty_with_prior_bias_warns(make, tmp_path: Path, data_dir: Path) -> None:
    check = _run(tmp_path, make(data_dir), output_bias="prior")
    assert check["status"] == "warn", check["message"]
    ratio = check["metrics"]["imbalance_ratio"]
    assert 17 <= ratio <= 23, ratio
    assert f"imbalance {ratio:.1f}:1" in check["message"]
    assert "per-class" in check["hint"]


@pytest.mark.parametrize("make", [_imbalanced_breast_cancer, _imbalanced_digits])
def test_one_to_twenty_with_zero_bias_fails(make, tmp_path: Path, data_dir: Path) -> None:
    check = _run(tmp_path, make(data_dir), cli=True, output_bias="zero")
    assert check["status"] == "fail", check["message"]
    assert "output_bias: zero" in check["message"] and "output_bias: prior" in check["hint"]
    m = check["metrics"]
    counts = np.array(list(m["counts_train"].values()), dtype=float)
    prior = counts / counts.sum()
    expected = math.log(len(prior)) + float((prior * np.log(prior)).sum())
    assert m["zero_bias_cost_nats"] == pytest.approx(expected, rel=1e-9)
    assert f"{expected:.3f} nats/sample" in check["message"]


def test_zero_bias_cost_of_binary_one_to_twenty_is_half_a_nat(
    tmp_path: Path, data_dir: Path
) -> None:
    check = _run(tmp_path, _imbalanced_breast_cancer(data_dir), output_bias="zero")
    # log 2 - H(1/21): the loss a zero bias adds per sample at init
    assert check["metrics"]["zero_bias_cost_nats"] == pytest.approx(0.50, abs=0.02)


def test_wine_test_from_other_class_mix_fails(tmp_path: Path, data_dir: Path) -> None:
    frame = pd.read_csv(data_dir / "wine.csv")
    test = frame[frame["label"] == 0].iloc[:30]  # test only of class 0
    train = frame.drop(test.index)
    check = _run(tmp_path, train, test)
    assert check["status"] == "fail", check["message"]
    counts = train["label"].value_counts(normalize=True)
    expected_tvd = 1.0 - counts[0]  # test is 100% class 0
    assert check["metrics"]["label_shift_tvd"] == pytest.approx(expected_tvd, abs=1e-9)
    assert f"TVD {expected_tvd:.3f}" in check["message"]
    assert "Stratify" in check["hint"]


def test_digits_test_of_half_the_classes_fails(tmp_path: Path, data_dir: Path) -> None:
    frame = pd.read_csv(data_dir / "digits.csv")
    test = frame[frame["label"] < 5].sample(frac=0.3, random_state=0)
    train = frame.drop(test.index)
    check = _run(tmp_path, train, test)
    assert check["status"] == "fail", check["message"]
    tvd = check["metrics"]["label_shift_tvd"]
    assert 0.4 < tvd < 0.6, tvd  # half of train's mass sits on classes 5-9, absent in test
    assert check["metrics"]["classes_missing_in_test"] == ["5", "6", "7", "8", "9"]


def test_moderate_label_shift_warns(tmp_path: Path, data_dir: Path) -> None:
    frame = pd.read_csv(data_dir / "digits.csv")
    rng = np.random.default_rng(0)
    # test: 60 of each digit, plus 120 more of digit 1 -> TVD about 0.13
    parts = [frame[frame["label"] == c].sample(60, random_state=c) for c in range(10)]
    extra = frame[frame["label"] == 1].drop(parts[1].index).sample(110, random_state=11)
    test = pd.concat(parts + [extra]).sample(frac=1.0, random_state=int(rng.integers(100)))
    check = _run(tmp_path, frame.drop(test.index), test)
    assert check["status"] == "warn", check["message"]
    assert 0.1 <= check["metrics"]["label_shift_tvd"] < 0.3


@pytest.mark.slow
def test_mnist_official_split_passes(data_dir: Path) -> None:
    mnist = data_dir / "mnist"
    data = {
        split: {
            "images": str(mnist / f"{stem}-images-idx3-ubyte.gz"),
            "labels": str(mnist / f"{stem}-labels-idx1-ubyte.gz"),
        }
        for split, stem in (("train", "train"), ("test", "t10k"))
    }
    res = _in_process({"data": {**data, "classes": 10, "normalize": "scale255"}})
    assert res.status == "pass", res.message
    assert res.metrics["label_shift_tvd"] == pytest.approx(0.0076, abs=5e-4)
    assert res.metrics["counts_train"]["5"] == 5421  # the shared README's counts
