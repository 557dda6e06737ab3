"""data.identifiers, data.missing_values, data.categories and table-aware duplicates and
leakage (raw rows, record keys, data.groups), on real and real-shaped tables (T1-T3)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests import table_files
from tests.checks.test_data_duplicates_leakage import run_data_checks
from tests.conftest import DATA

TABLE = ("data.identifiers", "data.missing_values", "data.categories")
ROWS = ("data.duplicates", "data.leakage", "data.label_conflicts", "data.near_duplicates")


def test_identifiers_warn_with_the_evidence_and_pass_when_dropped(tmp_path):
    res = run_data_checks(tmp_path, DATA / "titanic.csv", ids=TABLE, missing="impute")
    ident = res["data.identifiers"]
    assert ident.status == "warn"
    assert ident.message.startswith("4 identifier columns left out of the features: PassengerId")
    assert "Name (unique per row: 891 distinct values in 891 rows)" in ident.message
    assert ident.metrics["identifiers_left_out"] == ["PassengerId", "Name", "Ticket", "Cabin"]
    table = ident.artifacts["tables"]["columns"]
    cabin = next(r for r in table["rows"] if r[0] == "Cabin")
    assert cabin[:3] == ["Cabin", "categorical", "identifier"] and cabin[4] == 687
    assert "data.drop" in ident.hint
    dropped = run_data_checks(
        tmp_path,
        DATA / "titanic.csv",
        ids=TABLE,
        missing="impute",
        drop=["PassengerId", "Name", "Ticket", "Cabin"],
    )["data.identifiers"]
    assert dropped.status == "pass"
    assert dropped.message.endswith("dropped by the recipe: PassengerId, Name, Ticket, Cabin")


def test_identifiers_kept_still_warn(tmp_path):
    path = table_files.r_iris(tmp_path / "iris.csv")
    res = run_data_checks(tmp_path, path, ids=TABLE, identifiers="keep")["data.identifiers"]
    assert res.status == "warn" and "kept as features (data.identifiers: keep)" in res.message
    assert "leak the file's order" in res.hint


def test_r_export_finds_iris_duplicate_pair_once_row_names_are_left_out(tmp_path):
    path = table_files.r_iris(tmp_path / "iris.csv")
    res = run_data_checks(tmp_path, path, ids=("data.duplicates", "data.leakage"))
    rows = [e["rows"] for e in res["data.duplicates"].examples]
    rows += [[e["test_row"], e["train_row"]] for e in res["data.leakage"].examples]
    assert [101, 142] in [sorted(r) for r in rows]
    kept = run_data_checks(
        tmp_path, path, ids=("data.duplicates", "data.leakage"), identifiers="keep"
    )
    assert kept["data.duplicates"].metrics["train_duplicate_groups"] == 0  # hidden by row names


def test_missing_values_fail_by_default_and_say_what_impute_did(tmp_path):
    res = run_data_checks(tmp_path, DATA / "penguins.csv", ids=TABLE)["data.missing_values"]
    assert res.status == "fail" and "data.missing is error" in res.message
    assert "sex 11 (3.2%, 'NA' x11)" in res.message
    assert "data.missing: impute" in res.hint
    res = run_data_checks(tmp_path, DATA / "penguins.csv", ids=TABLE, missing="impute")
    mv = res["data.missing_values"]
    assert mv.status == "warn"
    assert "imputed from train: bill_length_mm: median" in mv.message
    assert "sex: its own value sex=<missing>" in mv.message
    assert "2 rows miss at least half of their feature values (3, 271)" in mv.message
    assert mv.metrics["missing_by_column"]["sex"] == 11
    sex = next(e for e in mv.examples if e.get("column") == "sex")
    assert sex["written"] == {"NA": 11} and len(sex["rows"]) == 11
    assert [r[0] for r in mv.artifacts["tables"]["missing values"]["rows"]][-1] == "sex"


def test_sentinel_zeros_are_named_and_the_count_column_is_not(tmp_path):
    path = table_files.clinical(tmp_path / "pima.csv")
    mv = run_data_checks(tmp_path, path, ids=TABLE)["data.missing_values"]
    assert mv.status == "warn"
    assert set(mv.metrics["sentinels"]) == {"Glucose", "BloodPressure", "BMI", "Insulin"}
    assert "Pregnancies" not in mv.message
    assert "BloodPressure: 23 zeros in an otherwise positive column" in mv.message
    assert "data.na_values: {Glucose: [0]}" in mv.hint
    declared = run_data_checks(
        tmp_path,
        path,
        ids=TABLE,
        na_values={"Glucose": [0], "BloodPressure": [0], "BMI": [0], "Insulin": [0]},
        missing="impute",
    )["data.missing_values"]
    assert declared.metrics["sentinels"] == {}
    assert declared.metrics["missing_by_column"]["BloodPressure"] == 23
    assert "'0' (declared) x23" in declared.message


def test_words_among_numbers_and_all_missing_rows_in_error_mode(tmp_path):
    rng = np.random.default_rng(0)
    n = 60
    df = pd.DataFrame({"a": rng.normal(size=n).round(3), "b": rng.normal(size=n).round(3)})
    df["c"] = rng.normal(size=n).round(3)
    df["label"] = rng.integers(0, 2, n)
    text = df.astype(str)
    text.loc[5, "a"] = "unknown"
    text.loc[9, ["a", "b", "c"]] = ["", "NA", "?"]
    path = tmp_path / "t.csv"
    text.to_csv(path, index=False)
    mv = run_data_checks(tmp_path, path, ids=TABLE)["data.missing_values"]
    assert mv.status == "fail"
    assert "'unknown' (a word among numbers) x1" in mv.message and "empty x1" in mv.message
    assert "1 row miss at least half of their feature values (9)" in mv.message
    assert mv.metrics["rows_with_missing"] == 2


def test_categories_report_values_and_unseen_test_values(tmp_path):
    res = run_data_checks(tmp_path, DATA / "titanic.csv", ids=TABLE, missing="impute")
    cat = res["data.categories"]
    assert cat.status == "pass"
    assert cat.message.startswith("2 categorical columns one-hot encoded into 6 features")
    assert "Sex (2: female, male)" in cat.message
    train = table_files.colours(tmp_path / "train.csv", ["red", "green", "blue"] * 20)
    test = table_files.colours(tmp_path / "test.csv", ["red"] * 10 + ["purple"] * 4 + ["teal"])
    cat = run_data_checks(tmp_path, train, test, ids=TABLE)["data.categories"]
    assert cat.status == "fail"  # a third of the test rows: another source
    assert cat.message.startswith("5 test rows (33.3%) hold a value never seen in train")
    assert cat.examples == [
        {
            "column": "colour",
            "unseen_test_rows": 5,
            "values": {"purple": 4, "teal": 1},
            "test_rows": [10, 11, 12, 13, 14],
        }
    ]
    few = table_files.colours(tmp_path / "few.csv", ["red"] * 18 + ["purple"] * 2)
    cat = run_data_checks(tmp_path, train, few, ids=TABLE)["data.categories"]
    assert cat.status == "warn" and "2 test rows (10.0%)" in cat.message


def test_table_checks_skip_on_arrays(tmp_path):
    np.savez(
        tmp_path / "a.npz", x=np.random.default_rng(0).normal(size=(40, 3)), y=np.arange(40) % 2
    )
    res = run_data_checks(tmp_path, tmp_path / "a.npz", ids=TABLE)
    assert all(r.status == "skip" and "needs a table" in r.message for r in res.values())


def test_titanic_look_alikes_are_not_copies_but_a_doubled_file_is(tmp_path):
    res = run_data_checks(tmp_path, DATA / "titanic.csv", ids=ROWS, missing="impute")
    dup = res["data.duplicates"]
    assert dup.status == "pass" and dup.metrics["lookalike_train_rows"] > 50
    assert "look-alikes, not copies" in dup.message
    assert res["data.leakage"].status == "pass" and res["data.label_conflicts"].status == "pass"
    assert res["data.near_duplicates"].status == "pass"
    frame = pd.read_csv(DATA / "titanic.csv")
    doubled = tmp_path / "doubled.csv"
    pd.concat([frame, frame.iloc[:200]]).to_csv(doubled, index=False)
    res = run_data_checks(tmp_path, doubled, ids=ROWS, missing="impute")
    assert res["data.duplicates"].status == "fail"  # the same passengers twice
    assert res["data.leakage"].status == "fail"


def test_group_leakage_from_a_test_file_sharing_patients(tmp_path):
    path = table_files.visits(tmp_path / "v.csv")
    split = run_data_checks(tmp_path, path, ids=("data.leakage",), groups="patient")
    leak = split["data.leakage"]
    assert leak.metrics["group_leaked"] == 0 and "no test row shares its patient" in leak.message
    frame = pd.read_csv(path)
    patients = frame["patient"].unique()
    train = frame[frame["patient"].isin(patients[:45])]
    test = pd.concat([frame[frame["patient"].isin(patients[45:])], train.iloc[:12]])
    train.to_csv(tmp_path / "train.csv", index=False)
    test.assign(a=test["a"] + 0.5).to_csv(tmp_path / "test.csv", index=False)  # not copies
    res = run_data_checks(
        tmp_path, tmp_path / "train.csv", tmp_path / "test.csv", ids=("data.leakage",),
        groups="patient",
    )["data.leakage"]  # fmt: skip
    assert res.status == "fail" and res.metrics["group_leaked"] == 12
    assert "12 test rows" in res.message and "share their patient with train rows" in res.message
    assert "Split by patient" in res.hint
    assert {e["kind"] for e in res.examples} == {"same patient"}
