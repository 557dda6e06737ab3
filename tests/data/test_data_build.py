"""load_dataset end to end: real datasets, task inference, label encoding, splits."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nncheck.data.build import encode_labels, infer_task, load_dataset
from nncheck.errors import DataError
from nncheck.recipe.schema import DataSection, PairSource
from tests.conftest import ROOT

# From ../shared/datasets/README.md
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def _csv(path: Path, header: str, rows: list[str]) -> str:
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return str(path)


def _labels_csv(tmp_path: Path, labels: list[str], name: str = "l.csv") -> str:
    rows = [f"{i},{(i * 7) % 5},{lab}" for i, lab in enumerate(labels)]
    return _csv(tmp_path / name, "a,b,label", rows)


# --------------------------------------------------------------------------- real data


def test_wine(datasets):
    ds = load_dataset(DataSection(train=str(datasets / "wine.csv"), test={"fraction": 0.25}), 0)
    assert len(ds.train) + len(ds.test) == 178
    assert ds.input_shape == (13,) and ds.n_features == 13
    assert ds.feature_names[0] == "alcohol" and len(ds.feature_names) == 13
    assert ds.task == "classification" and ds.task_inferred
    assert ds.classes == ("0", "1", "2") and not ds.classes_declared
    assert "task inferred: classification (3 distinct integer labels 0..2)" in ds.notes
    assert np.bincount(np.concatenate([ds.train.y, ds.test.y])).tolist() == [59, 71, 48]
    test_counts = np.bincount(ds.test.y)
    assert np.all(np.abs(test_counts - np.array([59, 71, 48]) * 0.25) <= 1)
    assert ds.train.x.dtype == np.float32 and ds.train.x_raw.dtype == np.float64
    assert ds.train.y.dtype == np.int64
    assert ds.test.source.endswith("wine.csv (fraction 0.25, seed 0)")
    assert ds.train.source.endswith("wine.csv") and not ds.is_image
    # normalization fitted on train only
    np.testing.assert_allclose(ds.train.x.mean(axis=0), 0, atol=1e-5)
    assert np.abs(ds.test.x.mean(axis=0)).max() > 0.01
    # indices point back at source rows
    src = np.loadtxt(datasets / "wine.csv", delimiter=",", skiprows=1)
    np.testing.assert_allclose(ds.test.x_raw, src[ds.test.indices, :13])
    np.testing.assert_array_equal(ds.test.y_raw, src[ds.test.indices, 13])


def test_wine_split_depends_on_seed(datasets):
    sec = DataSection(train=str(datasets / "wine.csv"))
    a, b, c = load_dataset(sec, 0), load_dataset(sec, 0), load_dataset(sec, 1)
    np.testing.assert_array_equal(a.test.indices, b.test.indices)
    assert not np.array_equal(a.test.indices, c.test.indices)


def test_diabetes_regression_inferred(datasets):
    ds = load_dataset(DataSection(train=str(datasets / "diabetes.csv")), 0)
    assert ds.task == "regression" and ds.task_inferred and ds.classes is None
    assert ds.n_outputs == 1 and ds.input_shape == (10,)
    assert ds.train.y.dtype == np.float32
    assert any(n.startswith("task inferred: regression") for n in ds.notes)
    assert any("'target'" in n for n in ds.notes)
    assert len(ds.train) + len(ds.test) == 442


def test_digits_stays_tabular(datasets):
    ds = load_dataset(DataSection(train=str(datasets / "digits.csv"), normalize="minmax"), 0)
    assert ds.input_shape == (64,) and not ds.is_image
    assert ds.classes == tuple(str(i) for i in range(10))
    assert len(ds.train) + len(ds.test) == 1797
    assert ds.train.x.min() >= 0 and ds.train.x.max() <= 1


def test_mnist(datasets):
    m = datasets / "mnist"
    sec = DataSection(
        train=PairSource(
            images=str(m / "train-images-idx3-ubyte.gz"),
            labels=str(m / "train-labels-idx1-ubyte.gz"),
        ),
        test=PairSource(
            images=str(m / "t10k-images-idx3-ubyte.gz"),
            labels=str(m / "t10k-labels-idx1-ubyte.gz"),
        ),
    )
    ds = load_dataset(sec, 0)  # load time is measured in benchmarks/, not asserted here
    assert ds.is_image and ds.input_shape == (28, 28) and ds.feature_names is None
    assert ds.train.x.shape == (60000, 28, 28) and ds.test.x.shape == (10000, 28, 28)
    assert ds.train.x.dtype == np.float32 and ds.train.x_raw.dtype == np.uint8
    assert ds.classes == tuple(str(i) for i in range(10)) and ds.task == "classification"
    assert np.bincount(ds.train.y).tolist() == MNIST_TRAIN_COUNTS
    assert np.bincount(ds.test.y).tolist() == MNIST_TEST_COUNTS
    assert abs(float(ds.train.x.mean())) < 1e-3 and abs(float(ds.train.x.std()) - 1) < 1e-3
    np.testing.assert_array_equal(ds.test.indices, np.arange(10000))


# --------------------------------------------------------------------------- labels


def test_declared_count_marks_out_of_range_as_invalid(tmp_path):
    path = _labels_csv(tmp_path, ["0", "1", "2", "3", "", "x", "1.0", "2.5"] * 2)
    ds = load_dataset(DataSection(train=path, classes=3, test={"fraction": 0.5}), 0)
    assert ds.classes == ("0", "1", "2") and ds.classes_declared
    y = np.empty(16, np.int64)
    y[ds.train.indices], y[ds.test.indices] = ds.train.y, ds.test.y
    assert y[:8].tolist() == [0, 1, 2, -1, -1, -1, 1, -1]
    assert ds.task == "classification" and ds.task_inferred


def test_declared_names(tmp_path):
    classes, y, _ = encode_labels(
        np.array(["cat", "dog", 1, 0, 5, None, "bird"], dtype=object), ["cat", "dog"]
    )
    assert classes == ("cat", "dog")
    assert y.tolist() == [0, 1, 1, 0, -1, -1, -1]
    # integer-named classes match by name first; a non-name integer is an index
    classes, y, _ = encode_labels(np.array([1, 2, 3, 0, 7]), [1, 2, 3])
    assert classes == ("1", "2", "3") and y.tolist() == [0, 1, 2, 0, -1]


def test_undeclared_one_to_ten_stays_ten_classes():
    y_raw = np.arange(1, 11).repeat(3)
    classes, y, _ = encode_labels(y_raw, None)
    assert classes == tuple(str(i) for i in range(1, 11))
    assert y.min() == 0 and y.max() == 9
    assert infer_task(y_raw) == ("classification", "10 distinct integer labels 1..10")
    assert infer_task(np.arange(1, 11))[0] == "regression"  # every row distinct
    assert infer_task(np.arange(60).repeat(3))[0] == "regression"  # > 50 distinct


def test_undeclared_numbers_sorted_numerically_and_floats_named_as_ints():
    classes, y, _ = encode_labels(np.array([10.0, 2.0, np.nan, 1.0, 2.0]), None)
    assert classes == ("1", "2", "10")
    assert y.tolist() == [2, 1, -1, 0, 1]


def test_string_labels_and_missing(tmp_path):
    path = _labels_csv(tmp_path, ["setosa", "virginica", "", "versicolor"] * 5)
    ds = load_dataset(DataSection(train=path), 0)
    assert ds.task == "classification"
    assert ds.classes == ("setosa", "versicolor", "virginica")
    assert "task inferred: classification (3 distinct string labels)" in ds.notes
    all_y = np.concatenate([ds.train.y, ds.test.y])
    assert np.sum(all_y == -1) == 5
    raw = np.concatenate([ds.train.y_raw, ds.test.y_raw])
    assert sum(isinstance(v, float) and np.isnan(v) for v in raw) == 5


def test_numeric_labels_with_a_sentinel(tmp_path):
    path = _labels_csv(tmp_path, ["0", "1", "2"] * 10 + ["?"])
    ds = load_dataset(DataSection(train=path), 0)
    assert ds.task == "classification" and ds.classes == ("0", "1", "2")
    assert np.sum(np.concatenate([ds.train.y, ds.test.y]) == -1) == 1
    assert any("'?'" in n for n in ds.notes)


def test_test_file_classes_join_train_classes(tmp_path):
    train = _labels_csv(tmp_path, ["a", "b"] * 4, "train.csv")
    test = _labels_csv(tmp_path, ["a", "c"], "test.csv")
    ds = load_dataset(DataSection(train=train, test=test), 0)
    assert ds.classes == ("a", "b", "c")
    assert ds.test.y.tolist() == [0, 2] and ds.test.source == test
    np.testing.assert_array_equal(ds.test.indices, [0, 1])


def test_bool_labels():
    task, why = infer_task(np.array([True, False, True]))
    assert task == "classification" and "boolean" in why
    classes, y, _ = encode_labels(np.array([True, False, True]), None)
    assert classes == ("False", "True") and y.tolist() == [1, 0, 1]


def test_integer_labels_are_factorized_like_pandas_without_importing_it():
    """Integer labels (MNIST's, most image datasets') are encoded by NumPy alone: the same
    codes as pandas.factorize, in a run that never imports pandas."""
    import pandas as pd

    from nncheck.data.build import _factorize, _label_key

    rng = np.random.default_rng(0)
    for raw in (rng.integers(-3, 7, 500).astype(np.int16), np.array([9, 1, 9, 2], np.uint8)):
        codes, keys = _factorize(raw)
        expected, uniques = pd.factorize(raw, use_na_sentinel=True)
        assert codes.tolist() == expected.tolist()
        assert keys == [_label_key(u) for u in uniques]
    code = (
        "import sys, numpy as np\n"
        "from nncheck.data.build import encode_labels\n"
        "classes, y, _ = encode_labels(np.array([3, 1, 3, 2]), None)\n"
        "assert classes == ('1', '2', '3') and y.tolist() == [2, 0, 2, 1]\n"
        "assert 'pandas' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# --------------------------------------------------------------------------- regression


def test_regression_sentinel_becomes_nan(tmp_path):
    rows = [f"{(i * 7) % 11},{(i * 3) % 5},{i * 1.5 + 0.25}" for i in range(40)] + ["4,0,?"]
    path = _csv(tmp_path / "r.csv", "a,b,target", rows)
    ds = load_dataset(DataSection(train=path, task="regression", test={"fraction": 0.5}), 0)
    assert not ds.task_inferred and ds.classes is None
    y = np.concatenate([ds.train.y, ds.test.y])
    raw = np.concatenate([ds.train.y_raw, ds.test.y_raw])
    assert y.dtype == np.float32 and np.sum(np.isnan(y)) == 1
    assert "?" in raw.tolist()
    # without a declared task the mostly-numeric column is still a regression target
    inferred = load_dataset(DataSection(train=path), 0)
    assert inferred.task == "regression"
    assert any("non-numeric values such as '?'" in n for n in inferred.notes)


# --------------------------------------------------------------------------- train/test


def test_test_file_reuses_guessed_target_and_reorders_columns(tmp_path):
    train = _csv(tmp_path / "train.csv", "a,b,y", ["1,2,0", "3,4,1", "5,6,0", "7,8,1"])
    test = _csv(tmp_path / "test.csv", "b,a,y", ["20,10,1", "40,30,0"])
    ds = load_dataset(DataSection(train=train, test=test, normalize="none"), 0)
    np.testing.assert_array_equal(ds.test.x, [[10, 20], [30, 40]])
    assert "test: feature columns reordered to match train" in ds.notes


def test_test_file_with_other_columns(tmp_path):
    train = _csv(tmp_path / "train.csv", "a,b,label", ["1,2,0", "3,4,1"])
    test = _csv(tmp_path / "test.csv", "a,c,label", ["1,2,0"])
    with pytest.raises(DataError) as err:
        load_dataset(DataSection(train=train, test=test), 0)
    msg = str(err.value)
    assert "test.csv" in msg and "train.csv" in msg and "'b'" in msg and "'c'" in msg


def test_test_arrays_with_other_shape(tmp_path):
    np.savez(tmp_path / "tr.npz", x=np.zeros((4, 3)), y=np.array([0, 1, 0, 1]))
    np.savez(tmp_path / "te.npz", x=np.zeros((2, 5)), y=np.array([0, 1]))
    sec = DataSection(train=str(tmp_path / "tr.npz"), test=str(tmp_path / "te.npz"))
    with pytest.raises(DataError, match=r"te\.npz: test samples have shape \(5,\).*\(3,\)"):
        load_dataset(sec, 0)


def test_second_annotation_is_encoded_like_y(tmp_path):
    rows = [f"{(i * 7) % 9},{['a', 'b'][i % 2]},{['a', 'b', 'a'][i % 3]}" for i in range(20)]
    path = _csv(tmp_path / "s.csv", "f,label,label_b", rows)
    ds = load_dataset(
        DataSection(train=path, target="label", second_annotation="label_b"),
        0,
    )
    assert ds.feature_names == ("f",) and ds.classes == ("a", "b")
    assert ds.train.y2 is not None and ds.train.y2.dtype == np.int64
    expected = np.array([[0, 1, 0][i % 3] for i in range(20)])
    np.testing.assert_array_equal(ds.train.y2, expected[ds.train.indices])
    np.testing.assert_array_equal(ds.test.y2, expected[ds.test.indices])


def test_image_npz_split_and_global_standardize(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (40, 6, 6), dtype=np.uint8)
    x[:, 0, :] = 0
    np.savez(tmp_path / "img.npz", images=x, y=np.arange(40) % 4)
    ds = load_dataset(DataSection(train=str(tmp_path / "img.npz")), 7)
    assert ds.is_image and ds.input_shape == (6, 6) and ds.train.x_raw.dtype == np.uint8
    assert np.all(np.isfinite(ds.train.x))
    assert ds.test.source.endswith("img.npz (fraction 0.2, seed 7)")


def test_single_sample_cannot_be_split(tmp_path):
    path = _csv(tmp_path / "one.csv", "a,label", ["1,0"])
    with pytest.raises(DataError, match=r"one\.csv: 1 sample"):
        load_dataset(DataSection(train=path), 0)
