"""data.features: un-normalized, wiped and shifted inputs, as the network would see them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nncheck.checks.context import Context
from nncheck.checks.registry import load_all
from nncheck.checks.runner import run_one
from nncheck.data.build import load_dataset
from nncheck.data.idx import read_idx
from nncheck.recipe.load import parse_recipe
from tests.conftest import ROOT, check_by_id, read_results, run_cli, write_recipe

CHECK = "data.features"


def _run(tmp_path: Path, data: dict, cli: bool = False) -> dict:
    """The check on a recipe's ``data`` section, in process or through the CLI, as the dict
    results.json holds."""
    recipe = {"data": data, "report": {"dir": str(tmp_path / "report")}}
    if not cli:
        res = _in_process(data)
        return {k: getattr(res, k) for k in ("status", "message", "hint", "metrics", "examples")}
    proc = run_cli("run", str(write_recipe(tmp_path, recipe)), "--quiet", "--only", CHECK)
    assert proc.returncode in (0, 1), proc.stderr
    return check_by_id(read_results(tmp_path / "report"), CHECK)


def _csv(tmp_path: Path, frame: pd.DataFrame, name: str = "data.csv") -> str:
    frame.to_csv(tmp_path / name, index=False)
    return str(tmp_path / name)


def _in_process(data: dict) -> object:
    recipe = parse_recipe({"data": data}, base_dir=ROOT)
    ctx = Context(recipe, load_dataset(recipe.data, recipe.seed), None, None)
    spec = load_all()[CHECK]
    return run_one(spec, ctx, dict(spec.defaults))


def _mnist_subset(tmp_path: Path, shared: Path, transform, n_train=3000, n_test=600) -> dict:
    """A seeded MNIST subset as .npz files, images passed through ``transform``."""
    rng = np.random.default_rng(0)
    data = {}
    for split, stem, n in (("train", "train", n_train), ("test", "t10k", n_test)):
        images = read_idx(str(shared / "mnist" / f"{stem}-images-idx3-ubyte.gz"))
        labels = read_idx(str(shared / "mnist" / f"{stem}-labels-idx1-ubyte.gz"), "labels")
        rows = np.sort(rng.choice(len(images), n, replace=False))
        path = tmp_path / f"{split}.npz"
        np.savez(path, x=transform(images[rows]), y=labels[rows])
        data[split] = str(path)
    return {**data, "task": "classification", "classes": 10}


# --------------------------------------------------------------------------- healthy


@pytest.mark.parametrize("name", ["wine", "breast_cancer", "digits", "iris", "diabetes"])
def test_healthy_tables_pass(name: str, data_dir: Path) -> None:
    target = "target" if name == "diabetes" else "label"
    res = _in_process({"train": str(data_dir / f"{name}.csv"), "target": target})
    assert res.status == "pass", res.message
    assert res.metrics["input_rms"] == pytest.approx(1.0, abs=0.05)  # standardized
    assert res.metrics["max_shift_std"] < 0.3
    assert res.artifacts["tables"]["features"]["rows"]


def test_digits_blank_pixels_are_reported_not_judged(data_dir: Path) -> None:
    res = _in_process({"train": str(data_dir / "digits.csv"), "target": "label"})
    assert res.status == "pass"
    assert res.metrics["constant_features"] == 3
    assert res.metrics["constant_feature_names"] == ["px0", "px32", "px39"]
    assert "3 constant in train (px0, px32, px39)" in res.message


# --------------------------------------------------------------------------- D5: scale


def test_wine_column_times_1e4_unnormalized_fails(tmp_path: Path, data_dir: Path) -> None:
    frame = pd.read_csv(data_dir / "wine.csv")
    frame["magnesium"] *= 1e4
    check = _run(tmp_path, {"train": _csv(tmp_path, frame), "normalize": "none"}, cli=True)
    assert check["status"] == "fail", check["message"]
    assert "(magnesium)" in check["message"]  # the largest-scale feature is named
    expected = frame["magnesium"].std(ddof=0) / frame.drop(columns="label").std(ddof=0).min()
    # the ratio is measured on the training split: same order of magnitude as the file's
    assert 0.5 * expected < check["metrics"]["scale_ratio"] < 2 * expected
    assert "standardize" in check["hint"]


def test_breast_cancer_unnormalized_fails(tmp_path: Path, data_dir: Path) -> None:
    data = {"train": str(data_dir / "breast_cancer.csv"), "normalize": "none"}
    check = _run(tmp_path, data)
    assert check["status"] == "fail", check["message"]
    assert check["metrics"]["scale_ratio"] > 1e5  # worst_area ~600 vs fractal_dim_error ~0.003
    assert "worst_area" in check["message"]


def test_digits_unnormalized_warns(tmp_path: Path, data_dir: Path) -> None:
    check = _run(tmp_path, {"train": str(data_dir / "digits.csv"), "normalize": "none"})
    assert check["status"] == "warn", check["message"]
    assert 7 < check["metrics"]["input_rms"] < 8.5  # 0..16 pixel values
    assert "raw float64 0..16" in check["message"]


def test_mnist_pixels_0_to_255_fail(tmp_path: Path, data_dir: Path) -> None:
    data = _mnist_subset(tmp_path, data_dir, lambda x: x)
    check = _run(tmp_path, {**data, "normalize": "none"})
    assert check["status"] == "fail", check["message"]
    assert 80 < check["metrics"]["input_rms"] < 90
    assert "raw uint8 0..255" in check["message"]


def test_mnist_divided_by_255_twice_fails(tmp_path: Path, data_dir: Path) -> None:
    data = _mnist_subset(tmp_path, data_dir, lambda x: x / 255.0 / 255.0)
    check = _run(tmp_path, {**data, "normalize": "none"})
    assert check["status"] == "fail", check["message"]
    assert "nearly all zero" in check["message"]
    assert check["metrics"]["input_rms"] == pytest.approx(0.335 / 255, rel=0.05)


# --------------------------------------------------------------------------- D8: wiped


def test_mnist_uint8_floor_divided_by_255_fails(tmp_path: Path, data_dir: Path) -> None:
    data = _mnist_subset(tmp_path, data_dir, lambda x: x // 255)
    check = _run(tmp_path, {**data, "normalize": "standardize"}, cli=True)
    assert check["status"] == "fail", check["message"]
    share = check["metrics"]["raw_zero_share"]
    assert share > 0.99
    assert f"{100 * share:.1f}% of the raw train values are exactly 0" in check["message"]
    assert "integer division" in check["hint"]


def test_digits_wiped_to_zero_fails(tmp_path: Path, data_dir: Path) -> None:
    frame = pd.read_csv(data_dir / "digits.csv")
    pixels = [c for c in frame.columns if c != "label"]
    frame[pixels] = frame[pixels] // 17  # 0..16 // 17 == 0 everywhere
    check = _run(tmp_path, {"train": _csv(tmp_path, frame)})
    assert check["status"] == "fail", check["message"]
    m = check["metrics"]
    assert m["constant_features"] == 64 and m["constant_samples_share"] == 1.0
    assert "64 of 64 features (100%) are constant" in check["message"]
    assert {"split", "row"} <= set(check["examples"][0])


def test_wine_integer_divided_by_1000_fails(tmp_path: Path, data_dir: Path) -> None:
    frame = pd.read_csv(data_dir / "wine.csv")
    cols = [c for c in frame.columns if c != "label"]
    frame[cols] = frame[cols] // 1000  # only proline (278..1680) keeps a value
    check = _run(tmp_path, {"train": _csv(tmp_path, frame)})
    assert check["status"] == "fail", check["message"]
    assert "12 of 13 features (92%) are constant" in check["message"]


# --------------------------------------------------------------------------- shift


def test_wine_test_file_in_other_units_fails(tmp_path: Path, data_dir: Path) -> None:
    frame = pd.read_csv(data_dir / "wine.csv")
    test = frame.sample(45, random_state=0)
    train = frame.drop(test.index)
    test = test.assign(alcohol=test["alcohol"] * 10)  # another unit in the test source
    data = {"train": _csv(tmp_path, train), "test": _csv(tmp_path, test, "test.csv")}
    check = _run(tmp_path, data)
    assert check["status"] == "fail", check["message"]
    shift = (test["alcohol"].mean() - train["alcohol"].mean()) / train["alcohol"].std(ddof=0)
    assert check["metrics"]["max_shift_feature"] == "alcohol"
    assert check["metrics"]["max_shift_std"] == pytest.approx(shift, rel=1e-3)
    assert f"alcohol {shift:.2f}" in check["message"]
    assert check["examples"][0]["feature"] == "alcohol"


def test_breast_cancer_shifted_column_warns(tmp_path: Path, data_dir: Path) -> None:
    frame = pd.read_csv(data_dir / "breast_cancer.csv")
    test = frame.sample(140, random_state=1)
    train = frame.drop(test.index)
    sd = train["mean_texture"].std(ddof=0)
    test = test.assign(mean_texture=test["mean_texture"] + 1.0 * sd)  # recalibrated sensor
    data = {"train": _csv(tmp_path, train), "test": _csv(tmp_path, test, "test.csv")}
    check = _run(tmp_path, data)
    assert check["status"] == "warn", check["message"]
    assert check["metrics"]["max_shift_feature"] == "mean_texture"
    assert 0.8 < check["metrics"]["max_shift_std"] < 1.3
    assert check["metrics"]["shifted_features"] == 1


def test_table_feature_constant_in_train_but_not_in_test_warns(
    tmp_path: Path, data_dir: Path
) -> None:
    frame = pd.read_csv(data_dir / "wine.csv")
    test = frame.sample(45, random_state=2)
    train = frame.drop(test.index).assign(ash=2.0)
    data = {"train": _csv(tmp_path, train), "test": _csv(tmp_path, test, "test.csv")}
    check = _run(tmp_path, data)
    assert check["status"] in ("warn", "fail"), check["message"]
    assert "1 feature(s) constant in train vary in test: ash" in check["message"]


@pytest.mark.slow
def test_mnist_recipe_passes() -> None:
    recipe = parse_recipe(
        __import__("yaml").safe_load((ROOT / "recipes" / "mnist.yaml").read_text()),
        base_dir=ROOT / "recipes",
    )
    ctx = Context(recipe, load_dataset(recipe.data, recipe.seed), None, None)
    spec = load_all()[CHECK]
    res = run_one(spec, ctx, dict(spec.defaults))
    assert res.status == "pass", res.message
    assert res.metrics["input_rms"] == pytest.approx(0.335, abs=0.005)
    assert res.metrics["constant_features"] == 67  # blank border pixels: reported only
    assert res.metrics["max_shift_std"] < 0.1
