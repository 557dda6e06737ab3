"""Identifier columns, the guessed target, and sentinel codes, on columns as read."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nncheck.data.roles import find_identifiers, guess_target
from nncheck.data.sentinels import find_sentinels
from nncheck.data.tables import Column, parse_column
from tests.conftest import DATA


def _col(name: str, values) -> Column:
    return parse_column(name, pd.Series(values, dtype=object).astype(str))


def _ids(columns: list[Column]) -> dict[str, str]:
    return {i.column: i.why for i in find_identifiers(columns)}


def test_row_numbers_ids_names_and_tickets_are_identifiers():
    n = 60
    rng = np.random.default_rng(0)
    cols = [
        _col("PassengerId", np.arange(1, n + 1)),
        _col("shuffled", rng.permutation(n) + 100),
        _col("stamp", np.sort(rng.choice(10**6, n, replace=False))),
        _col("customer_id", rng.choice(10**6, n, replace=False)),
        _col("Name", [f"Person {i}" for i in range(n)]),
        _col("Ticket", [f"T{i // 2}" for i in range(n)]),  # 30 values, shared by two rows
        _col("", np.arange(n)),  # R's and pandas' row-name column
    ]
    found = _ids(cols)
    assert found["PassengerId"] == "row numbers 1..60 in file order"
    assert found["shuffled"] == "a shuffle of 100..159: one number per row"
    assert found["stamp"].startswith("grows with the row order (rank correlation 1.000")
    assert found["customer_id"].startswith("named like an id")
    assert found["Name"] == "unique per row: 60 distinct values in 60 rows"
    assert found["Ticket"].startswith("30 distinct values in 60 rows")
    assert found[""].startswith("row names")
    positional = {i.column: i.positional for i in find_identifiers(cols)}
    assert positional == {
        "PassengerId": True, "shuffled": True, "stamp": True, "customer_id": False,
        "Name": False, "Ticket": False, "": True,
    }  # fmt: skip


def test_features_are_not_identifiers():
    n = 60
    rng = np.random.default_rng(1)
    cols = [
        _col("year", np.repeat([2007, 2008, 2009], n // 3)),  # grows, but not distinct
        _col("length", np.sort(rng.normal(40, 5, n)).round(2)),  # sorted floats: a measurement
        _col("income", rng.choice(10**6, n, replace=False)),  # unique ints, not named an id
        _col("paid", rng.choice(10**6, n, replace=False)),  # 'id' inside a word
        _col("island", rng.choice(["Biscoe", "Dream", "Torgersen"], n)),
    ]
    assert _ids(cols) == {}
    small = [_col("a", [1, 2, 3, 4]), _col("name", ["w", "x", "y", "z"])]
    assert _ids(small) == {}  # too few rows to tell


def test_penguins_and_titanic_identifiers():
    titanic = pd.read_csv(DATA / "titanic.csv", dtype=str, keep_default_na=False)
    cols = [parse_column(c, titanic[c]) for c in titanic.columns if c != "Survived"]
    assert set(_ids(cols)) == {"PassengerId", "Name", "Ticket", "Cabin"}
    penguins = pd.read_csv(DATA / "penguins.csv", dtype=str, keep_default_na=False)
    assert _ids([parse_column(c, penguins[c]) for c in penguins.columns]) == {}


def test_guessed_target():
    n = 40
    rng = np.random.default_rng(2)
    x = _col("x", rng.normal(size=n).round(3))
    kind = _col("kind", rng.choice(["a", "b", "c"], n))
    grade = _col("grade", rng.integers(1, 4, n))
    price = _col("price", rng.normal(100, 10, n).round(2))
    name = _col("Name", [f"n{i}" for i in range(n)])
    assert guess_target([x, _col("Outcome", rng.integers(0, 2, n)), price])[0] == "Outcome"
    assert guess_target([x, price, kind]) == ("kind", "the last column, a category with 3 values")
    assert guess_target([kind, x, grade]) == ("kind", "the first column, a category with 3 values")
    assert guess_target([x, price, grade]) == ("grade", "the last column, 3 distinct integers")
    assert guess_target([name, x, price]) == ("price", "the last column that is not an identifier")
    assert guess_target([x, price, name])[0] == "price"


def test_a_column_with_one_value_per_row_is_not_a_guessed_class():
    # statsmodels' cpunish: 17 states, one row each, first; too few rows for identifier rules
    states = _col("STATE", [f"state {i}" for i in range(17)])
    rate = _col("DEGREE", np.linspace(0.1, 0.3, 17).round(3))
    executions = _col("EXECUTIONS", np.arange(17) % 5)
    assert guess_target([states, executions, rate]) == (
        "DEGREE",
        "the last column that is not an identifier",
    )
    # the same shape with each value twice is a category
    kinds = _col("kind", [f"k{i % 8}" for i in range(16)])
    assert guess_target([kinds, _col("v", np.arange(16.0) / 3)])[0] == "kind"


def test_sentinel_zeros_next_to_a_count_with_honest_zeros():
    rng = np.random.default_rng(3)
    n = 500
    pregnancies = rng.poisson(3, n).astype(float)
    pressure = rng.normal(72, 12, n).clip(24, 122).round()
    pressure[:23] = 0
    insulin = rng.lognormal(4.8, 0.6, n).clip(14, 846).round()
    insulin[rng.random(n) < 0.45] = 0
    gain = np.where(rng.random(n) < 0.9, 0, rng.choice([114, 401, 594, 914, 991, 2174], n))
    zoning = np.where(rng.random(n) < 0.74, 0, rng.choice([12.5, 17.5, 20, 25, 30, 40], n))
    assert find_sentinels(pregnancies, 3, 4.0) == []
    assert find_sentinels(gain.astype(float), 3, 4.0) == []  # steps of ~70 from 114
    assert find_sentinels(zoning, 3, 4.0) == []  # 0 in most rows: the main value
    (s,) = find_sentinels(pressure, 3, 4.0)
    assert s.value == 0 and s.count == 23 and "start at" in s.why
    (s,) = find_sentinels(insulin, 3, 4.0)
    assert s.value == 0 and 0.4 * n < s.count < 0.5 * n


def test_negative_and_nines_codes():
    rng = np.random.default_rng(4)
    days = rng.integers(1, 30, 200).astype(float)
    days[:40] = -1
    (s,) = find_sentinels(days, 3, 4.0)
    assert s.value == -1 and s.count == 40
    age = rng.integers(18, 90, 200).astype(float)
    age[:5] = 999
    (s,) = find_sentinels(age, 3, 4.0)
    assert s.value == 999 and "far above" in s.why
    plus_minus = rng.choice([-1.0, 1.0], 200)  # a coding, not a sentinel
    assert find_sentinels(plus_minus, 3, 4.0) == []
    honest_max = np.concatenate([np.arange(0, 100, dtype=float)] * 2)  # 99 is just the top
    assert find_sentinels(honest_max, 3, 4.0) == []


def test_breast_cancer_concavities_have_honest_zeros(data_dir):
    """Smooth contours have no concavity: 13 zeros whose smallest positive neighbour is
    0.002 of a median 0.01-0.03 are measurements, not codes (the bug zoo's healthy breast
    cancer recipe warned on them); a 0 blood pressure beside values from 24 stays one."""
    import pandas as pd

    frame = pd.read_csv(data_dir / "breast_cancer.csv")
    for column in ("mean_concave_points", "concavity_error", "worst_concave_points"):
        values = frame[column].to_numpy(float)
        assert np.count_nonzero(values == 0) == 13
        assert find_sentinels(values, 3, 4.0) == [], column
    pressure = np.r_[np.zeros(13), np.random.default_rng(0).normal(72, 12, 556).clip(24).round()]
    assert [s.value for s in find_sentinels(pressure, 3, 4.0)] == [0.0]
