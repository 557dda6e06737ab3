"""Tables through load_dataset: roles, one-hot encoding fitted on train, missing values,
row names, groups, unseen categories, and the recipe options that choose columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nncheck.data.build import load_dataset
from nncheck.errors import DataError
from nncheck.recipe.schema import DataSection
from tests import table_files
from tests.conftest import DATA

TITANIC = str(DATA / "titanic.csv")
PENGUINS = str(DATA / "penguins.csv")


def _load(train, **data):
    return load_dataset(DataSection(train=str(train), **data), 0)


def test_titanic_columns_roles_and_one_hot_names():
    ds = _load(TITANIC, missing="impute")
    assert ds.feature_names == (
        "Pclass", "Sex=female", "Sex=male", "Age", "Age=<missing>", "SibSp", "Parch", "Fare",
        "Embarked=C", "Embarked=Q", "Embarked=S", "Embarked=<missing>",
    )  # fmt: skip
    kinds = dict(zip(ds.feature_names, ds.feature_kinds))
    assert kinds["Sex=male"] == "onehot" and kinds["Age=<missing>"] == "missing_indicator"
    assert kinds["Age"] == "numeric"
    roles = {c.name: c.role for c in ds.table.columns}
    assert [n for n, r in roles.items() if r == "identifier"] == [
        "PassengerId", "Name", "Ticket", "Cabin",
    ]  # fmt: skip
    assert ds.table.record_columns == ("Name", "Ticket", "Cabin")  # PassengerId is positional
    assert any(n.startswith("table columns: 5 numeric") for n in ds.notes)
    # one-hot stays 0/1 through standardize; numeric features are standardized on train
    j = ds.feature_names.index("Sex=male")
    assert set(np.unique(ds.train.x[:, j])) == {0.0, 1.0}
    age = ds.feature_names.index("Age")
    assert abs(float(ds.train.x[:, age].mean())) < 1e-5
    assert not np.isnan(ds.train.x).any() and not np.isnan(ds.test.x).any()
    # imputed with the train median, and the indicator says where
    raw = pd.read_csv(TITANIC)
    rows = ds.train.indices
    missing = raw["Age"].isna().to_numpy()[rows]
    np.testing.assert_array_equal(ds.train.x_raw[:, age + 1], missing)
    fill = ds.table.column("Age").fill
    assert fill == float(np.median(raw["Age"].to_numpy()[rows][~missing]))
    assert np.all(ds.train.x_raw[missing, age] == fill)


def test_missing_error_keeps_nan_and_drop_removes_rows():
    ds = _load(PENGUINS)
    assert ds.table.missing_mode == "error"
    assert np.isnan(ds.train.x).any() or np.isnan(ds.test.x).any()
    sex = [j for j, n in enumerate(ds.feature_names) if n.startswith("sex=")]
    rows_nan = np.isnan(np.concatenate([ds.train.x_raw, ds.test.x_raw])[:, sex]).all(axis=1)
    assert rows_nan.sum() == 11  # a missing category is NaN across its one-hot block
    dropped = _load(PENGUINS, missing="drop")
    assert len(dropped.train) + len(dropped.test) == 344 - 11
    assert dropped.table.dropped.count == 11 and 3 in dropped.table.dropped.rows
    all_rows = np.concatenate([dropped.train.indices, dropped.test.indices])
    assert 3 not in all_rows and 271 not in all_rows  # source rows still number the file
    assert dropped.table.sparse.rows == (3, 271)  # every measurement missing


def test_question_marks_are_missing_values(tmp_path):
    path = table_files.penguins_with_question_marks(tmp_path / "p.csv")
    ds = _load(path, missing="impute")
    sex = ds.table.column("sex")
    assert sex.missing == 11 and sex.markers == {"?": 11} and sex.missing_level
    assert "sex=<missing>" in ds.feature_names and "sex=?" not in ds.feature_names


def test_r_row_names_are_left_out_and_keep_is_honoured(tmp_path):
    path = table_files.r_iris(tmp_path / "iris.csv")
    ds = _load(path)
    assert ds.feature_names == ("Sepal.Length", "Sepal.Width", "Petal.Length", "Petal.Width")
    assert ds.table.identifiers == (("Unnamed: 0", ds.table.identifiers[0][1]),)
    assert ds.classes == ("setosa", "versicolor", "virginica")
    kept = _load(path, identifiers="keep")
    assert kept.feature_names[0] == "Unnamed: 0"
    assert kept.table.identifiers_kept == ("Unnamed: 0",)
    listed = _load(path, features=["Unnamed: 0", "Petal.Length"])
    assert listed.feature_names == ("Unnamed: 0", "Petal.Length")


def test_headerless_file_with_question_mark_categories(tmp_path):
    path = table_files.adult_headerless(tmp_path / "adult.csv")
    ds = _load(path, missing="impute")
    assert ds.table.column("col_2").markers == {"?": ds.table.column("col_2").missing}
    assert "col_2=Private" in ds.feature_names and "col_2=<missing>" in ds.feature_names
    assert ds.classes == ("<=50K", ">50K") and len(ds.train) + len(ds.test) == 400


def test_rare_values_share_one_feature_and_the_width_is_capped(tmp_path):
    values = ["a"] * 40 + ["b"] * 30 + ["c"] * 20 + ["d"] * 3 + ["e"] * 2 + ["f"] * 1
    path = table_files.colours(tmp_path / "c.csv", values)
    ds = _load(path, one_hot={"min_count": 5, "max_levels": 2}, test={"fraction": 0.25})
    names = [n for n in ds.feature_names if n.startswith("colour=")]
    assert names == ["colour=a", "colour=b", "colour=<rare>"]
    col = ds.table.column("colour")
    assert col.levels == ("a", "b") and set(col.rare) >= {"c", "d"}
    rare = ds.feature_names.index("colour=<rare>")
    is_rare = ~np.isin(pd.read_csv(path)["colour"].to_numpy()[ds.train.indices], ["a", "b"])
    np.testing.assert_array_equal(ds.train.x_raw[:, rare], is_rare)
    # the raw rows keep the values apart: d and e are different rows for the duplicate check
    codes = ds.train.x_identity[:, 0]
    assert len(np.unique(codes[is_rare])) == len(set(np.array(values)[ds.train.indices][is_rare]))


def test_unseen_test_categories_are_counted(tmp_path):
    train = table_files.colours(tmp_path / "train.csv", ["red", "green", "blue"] * 20)
    test = table_files.colours(tmp_path / "test.csv", ["red"] * 10 + ["purple"] * 4 + ["teal"])
    ds = load_dataset(DataSection(train=str(train), test=str(test)), 0)
    col = ds.table.column("colour")
    assert col.unseen == 5 and col.unseen_values == {"purple": 4, "teal": 1}
    assert col.unseen_rows == (10, 11, 12, 13, 14) and ds.table.unseen.count == 5
    block = [j for j, n in enumerate(ds.feature_names) if n.startswith("colour=")]
    assert np.all(ds.test.x_raw[10:, block] == 0)  # no rare bucket: no feature at all


def test_ordinal_and_declared_categorical_and_na_values(tmp_path):
    rng = np.random.default_rng(0)
    n = 40
    df = pd.DataFrame(
        {
            "size": rng.choice(["S", "M", "L"], n),
            "grade": rng.integers(1, 4, n),
            "pressure": np.where(np.arange(n) < 4, 0, rng.integers(60, 90, n)),
            "label": rng.integers(0, 2, n),
        }
    )
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    ds = _load(
        path,
        ordinal={"size": ["S", "M", "L"]},
        categorical=["grade"],
        na_values={"pressure": [0]},
        missing="impute",
        normalize="none",
    )
    assert ds.feature_names[:4] == ("size", "grade=1", "grade=2", "grade=3")
    ranks = ds.train.x_raw[:, 0]
    expected = df["size"].map({"S": 0, "M": 1, "L": 2}).to_numpy()[ds.train.indices]
    np.testing.assert_array_equal(ranks, expected)
    pressure = ds.table.column("pressure")
    assert pressure.declared == {"0": 4} and pressure.missing == 4 and pressure.indicator
    df.loc[7, "size"] = "XL"
    df.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"data\.ordinal\.size: value 'XL' .*line 9.* order"):
        _load(path, ordinal={"size": ["S", "M", "L"]})


def test_recipe_columns_must_exist(tmp_path):
    with pytest.raises(DataError, match=r"data\.drop\[0\]: column 'Cabn' not found.*'Cabin'"):
        _load(TITANIC, drop=["Cabn"])
    with pytest.raises(DataError, match=r"data\.categorical\[0\]: 'Survived' is the target"):
        _load(TITANIC, categorical=["Survived"])
    with pytest.raises(DataError, match=r"data\.groups: column 'Tikcet' not found"):
        _load(TITANIC, groups="Tikcet")
    with pytest.raises(DataError, match=r"column options need a table"):
        np.savez(tmp_path / "a.npz", x=np.zeros((4, 2)), y=np.array([0, 1, 0, 1]))
        _load(tmp_path / "a.npz", drop=["x"])


def test_drop_and_features_choose_columns():
    ds = _load(TITANIC, drop=["Fare", "Embarked"], missing="impute")
    assert "Fare" not in ds.feature_names and not any("Embarked" in n for n in ds.feature_names)
    assert ds.table.column("Fare").role == "dropped" and ds.table.column("Fare").why == "data.drop"
    only = _load(TITANIC, features=["Sex", "Pclass"])
    assert only.feature_names == ("Pclass", "Sex=female", "Sex=male")


def test_group_split_keeps_each_patient_on_one_side(tmp_path):
    path = table_files.visits(tmp_path / "v.csv")
    ds = _load(path, groups="patient")
    patients = pd.read_csv(path)["patient"].to_numpy()
    assert not set(patients[ds.train.indices]) & set(patients[ds.test.indices])
    assert 0.15 < len(ds.test) / (len(ds.train) + len(ds.test)) < 0.25
    assert "groups patient" in ds.test.source
    assert "patient" not in ds.feature_names
    again = _load(path, groups="patient")
    np.testing.assert_array_equal(ds.test.indices, again.test.indices)
    plain = _load(path)  # without groups, a random split puts patients on both sides
    assert set(patients[plain.train.indices]) & set(patients[plain.test.indices])


def test_decimal_comma_latin1_and_a_parquet_table(tmp_path):
    ds = _load(table_files.european(tmp_path / "de.csv"))
    assert ds.feature_names[:3] == ("Stadt=Genève", "Stadt=Köln", "Stadt=Zürich")
    assert 150 < ds.train.x_raw[:, 3].mean() < 190  # Größe, read from "170,3"
    pytest.importorskip("pyarrow")
    frame = pd.read_csv(PENGUINS)
    frame.to_parquet(tmp_path / "p.parquet")
    pq = _load(tmp_path / "p.parquet", missing="impute")
    assert pq.feature_names == _load(PENGUINS, missing="impute").feature_names


def test_64_bit_integers_that_floats_merge_are_named_and_exact_ones_are_not(tmp_path):
    # nanosecond timestamps near 2**62 in a CSV with one "?": the engines see floats, and
    # floats merge neighbouring integers; small integers and big round floats stay silent
    n = 120
    rng = np.random.default_rng(0)
    stamp = (2**62 + rng.permutation(n) * 7).astype(object)
    stamp[5] = "?"
    frame = pd.DataFrame(
        {
            "stamp": stamp,
            "count": rng.integers(0, 50, n),
            "mass": rng.normal(size=n) * 1e20,  # beyond 2**53, but written as floats
            "label": np.arange(n) % 2,
        }
    )
    path = tmp_path / "stamps.csv"
    frame.to_csv(path, index=False)
    ds = _load(path, target="label", missing="impute")
    lost = [note for note in ds.notes if "not exact as floats" in note]
    assert len(lost) == 1, ds.notes
    assert lost[0].startswith("feature 'stamp': integers up to 4.61e+18")
    floats = np.unique(np.delete(stamp, 5).astype(np.int64).astype(np.float64)).size
    assert floats == 2 and lost[0].endswith(f"its {n - 1} distinct values become {floats}")


def test_a_dataframe_of_int64_ids_says_what_floats_lose():
    from nncheck.data.tables import parse_column

    ids = pd.Series(2**62 + np.arange(200, dtype=np.int64))
    col = parse_column("ids", ids)
    assert col.inexact is not None and col.inexact[:2] == (200, 1)
    assert parse_column("small", pd.Series(np.arange(200, dtype=np.int64))).inexact is None
