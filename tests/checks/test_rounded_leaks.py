"""data.leakage: re-encoded copies (a file written with fewer decimals) count as leaks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from nncheck.data.hashing import MAX_DECIMALS, rounded_matches, row_decimals
from tests.conftest import DATA, check_by_id, read_results, run_cli, write_recipe


def test_row_decimals_reads_the_precision_a_row_was_written_with() -> None:
    x = np.array([[0.1, 2.0], [1.2345, 3.25], [np.pi, 1.0], [3.0, -7.0]])
    assert row_decimals(x).tolist() == [1, 4, MAX_DECIMALS, 0]
    # a float32 value holds ~7 significant digits: pi in float32 is "7 decimals"
    assert row_decimals(x.astype(np.float32)).tolist() == [1, 4, 7, 0]
    assert row_decimals(np.arange(6).reshape(3, 2)).tolist() == [0, 0, 0]


def test_rounded_matches_pairs_a_row_with_its_rounded_copy_either_way() -> None:
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(200, 4))
    query = np.vstack([np.round(ref[:5], 2), rng.normal(size=(5, 4)), ref[10:11]])
    match, places = rounded_matches(query, ref)
    assert match.tolist() == [0, 1, 2, 3, 4] + [-1] * 6  # an exact copy is not "rounded"
    assert places[:5].tolist() == [2] * 5
    # the reference holds the coarse copy: the finer query row is rounded instead
    back, _ = rounded_matches(ref[:3], np.round(ref[:3], 3))
    assert back.tolist() == [0, 1, 2]
    none, _ = rounded_matches(np.zeros((0, 4)), ref)  # every test row already an exact leak
    assert none.shape == (0,)


def _split(tmp_path: Path, test: pd.DataFrame, train: pd.DataFrame) -> dict:
    train.to_csv(tmp_path / "train.csv", index=False)
    test.to_csv(tmp_path / "test.csv", index=False)
    return {
        "name": "bc",
        "data": {
            "train": str(tmp_path / "train.csv"),
            "test": str(tmp_path / "test.csv"),
            "target": "label",
            "task": "classification",
            "normalize": "standardize",
        },
        "model": {"hidden": [16]},
        "report": {"dir": str(tmp_path / "report")},
    }


def _leakage(tmp_path: Path, recipe: dict) -> dict:
    proc = run_cli("run", str(write_recipe(tmp_path, recipe)), "--quiet", "--only", "data.leakage")
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return check_by_id(read_results(tmp_path / "report"), "data.leakage")


def test_train_rows_written_again_with_two_decimals_are_leaks(tmp_path: Path) -> None:
    frame = pd.read_csv(DATA / "breast_cancer.csv")
    features = [c for c in frame.columns if c != "label"]
    train, honest = frame.iloc[:450], frame.iloc[450:]
    copies = train.iloc[:10].copy()
    copies[features] = copies[features].round(2)  # re-encoded: the same rows, 2 decimals
    check = _leakage(tmp_path, _split(tmp_path, pd.concat([honest, copies]), train))
    m = check["metrics"]
    assert check["status"] == "fail", check["message"]
    assert m["leaked"] == 10 and m["exact"] == 0 and m["after_rounding"] >= 1
    assert (
        "after rounding to the coarser precision of the two rows (2 decimals)" in (check["message"])
    )
    rounded = [e for e in check["examples"] if e["kind"] == "after rounding"]
    assert len(rounded) == m["after_rounding"] and all(e["decimals"] == 2 for e in rounded)
    assert {e["train_row"] for e in check["examples"]} <= set(range(10))


def test_an_honest_test_set_written_with_fewer_decimals_leaks_nothing(tmp_path: Path) -> None:
    frame = pd.read_csv(DATA / "breast_cancer.csv")
    features = [c for c in frame.columns if c != "label"]
    test = frame.iloc[450:].copy()
    test[features] = test[features].round(2)
    check = _leakage(tmp_path, _split(tmp_path, test, frame.iloc[:450]))
    assert check["status"] == "pass", check["message"]
    assert check["metrics"]["after_rounding"] == 0
