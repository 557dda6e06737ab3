"""A streamed table's feature spikes (data.outliers) are judged over every row.

The seeded sample that the rest of the check reads would miss a unit error in a few rows
of a large table; the breast-cancer table (569 rows, 30 features: real measurements whose
healthy robust z-scores stay below 40) is streamed with a sample of 150 train rows, and
values x 1000 are planted in rows the sample leaves out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nncheck.data.python_data import sample_positions
from tests.conftest import DATA, check_by_id, read_results, run_cli, write_recipe

N_TRAIN = 450


def _write(folder: Path, x: np.ndarray, y: np.ndarray, fmt: str, names: list[str]) -> dict:
    sources = {}
    for split, rows, labels in (
        ("train", x[:N_TRAIN], y[:N_TRAIN]),
        ("test", x[N_TRAIN:], y[N_TRAIN:]),
    ):
        np.save(folder / f"{split}_y.npy", labels)
        if fmt == "npy":
            np.save(folder / f"{split}_x.npy", rows)
            sources[split] = {"images": f"{split}_x.npy", "labels": f"{split}_y.npy"}
        else:
            pa = pytest.importorskip("pyarrow", reason="parquet sources need pyarrow")
            import pyarrow.parquet as pq

            table = pa.table({n: rows[:, j] for j, n in enumerate(names)})
            pq.write_table(table, folder / f"{split}.parquet")
            sources[split] = {"images": f"{split}.parquet", "labels": f"{split}_y.npy"}
    return sources


def _outliers(folder: Path, sources: dict) -> dict:
    recipe = write_recipe(
        folder,
        {
            "data": {**sources, "classes": 2, "engine": "stream", "max_samples": 150},
            "model": {"hidden": [16]},
            "train": {"steps": 10},
        },
        name="table.yaml",
    )
    proc = run_cli("run", str(recipe), "--quiet", "--only", "data.outliers")
    assert proc.returncode in (0, 1), proc.stderr
    return check_by_id(read_results(folder / "table-report"), "data.outliers")


@pytest.mark.parametrize("fmt", ["npy", "parquet"])
def test_unit_errors_outside_the_sample_are_found_over_every_row(tmp_path: Path, fmt) -> None:
    table = pd.read_csv(DATA / "breast_cancer.csv")
    y = table.pop("label").to_numpy(np.int64)
    names = list(table.columns)
    x = table.to_numpy(np.float32)
    clean = _outliers(tmp_path, _write(tmp_path, x, y, fmt, names))
    assert clean["status"] == "pass", clean["message"]
    assert clean["metrics"]["train_feature_spikes_all"] == 0
    assert clean["metrics"]["train_max_feature_z_all"] < 100

    sampled = set(sample_positions(N_TRAIN, 150, 0, "train").tolist())
    outside = [r for r in range(N_TRAIN) if r not in sampled][:3]
    x = x.copy()
    area = names.index("mean_area")
    x[outside, area] *= 1000.0  # mm^2 stored as um^2
    x[N_TRAIN + 100, area] *= 1000.0  # test row 100 (the test sample holds all 119)
    (tmp_path / "table-report").rename(tmp_path / "clean-report")
    check = _outliers(tmp_path, _write(tmp_path, x, y, fmt, names))
    m = check["metrics"]
    assert m["train_feature_spikes_all"] == 3 and m["test_feature_spikes_all"] == 1
    assert check["status"] == "warn"
    assert "3 of all 450 train rows (0.7%) hold a value 100+ robust SDs" in check["message"]
    assert "1 of all 119 test rows (0.8%) holds a value" in check["message"]
    spikes = [e for e in check["examples"] if "robust SDs" in " ".join(e["problems"])]
    assert {(e["split"], e["row"]) for e in spikes} == {("train", r) for r in outside} | {
        ("test", 100)
    }
    named = "feature 'mean_area'" if fmt == "parquet" else f"feature {area}"
    assert all(e["problems"][0].startswith(named) for e in spikes)


def test_label_errors_of_a_streamed_table_are_scored_over_every_row(tmp_path: Path) -> None:
    """Flipped labels in train rows the sample leaves out are among the suspects: the fold
    models train on the 150-row sample and every other row is scored by their mean. They
    find the flips an in-memory audit of the whole table finds (5 of these 10, where the
    two classes overlap the others), with as few false suspects."""
    table = pd.read_csv(DATA / "breast_cancer.csv")
    y = table.pop("label").to_numpy(np.int64).copy()
    x = table.to_numpy(np.float32)
    sampled = set(sample_positions(N_TRAIN, 150, 0, "train").tolist())
    flipped = [r for r in range(N_TRAIN) if r not in sampled][5:15]
    y[flipped] = 1 - y[flipped]
    sources = _write(tmp_path, x, y, "npy", list(table.columns))
    found = {}
    for engine, max_samples in (("memory", 60_000), ("stream", 150)):
        data = {**sources, "classes": 2, "engine": engine, "max_samples": max_samples}
        recipe = write_recipe(
            tmp_path,
            {"data": data, "model": {"hidden": [16]}, "train": {"steps": 10}},
            name=f"{engine}.yaml",
        )
        proc = run_cli("run", str(recipe), "--quiet", "--only", "data.label_errors")
        assert proc.returncode in (0, 1), proc.stderr
        check = check_by_id(read_results(tmp_path / f"{engine}-report"), "data.label_errors")
        suspects = [(e["split"], e["row"]) for e in check["examples"] if e["flagged"]]
        found[engine] = {r for split, r in suspects if split == "train"} & set(flipped)
        assert len(suspects) <= len(found[engine]) + 2, check["message"]
    assert check["metrics"]["streamed"] and check["metrics"]["n_checked"] == len(y)
    assert "every row, streamed" in check["message"]
    assert len(found["memory"]) >= 4
    assert len(found["stream"]) >= len(found["memory"]) - 1, found


def test_a_near_pair_search_past_the_budget_is_said_in_the_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Evenly spread rows (random integers in 30 columns, where the index prunes little)
    and a budget below the search's cost: 1,000 of the 2,500 train rows query, and the
    message and metrics say so."""
    rng = np.random.default_rng(0)
    sources = {}
    for split, n in (("train", 2500), ("test", 300)):
        np.save(tmp_path / f"{split}_x.npy", rng.integers(0, 256, (n, 30)).astype(np.float32))
        np.save(tmp_path / f"{split}_y.npy", rng.integers(0, 2, n))
        sources[split] = {"images": f"{split}_x.npy", "labels": f"{split}_y.npy"}
    recipe = write_recipe(
        tmp_path,
        {"data": {**sources, "classes": 2, "engine": "stream"}, "model": {"hidden": [8]}},
        name="table.yaml",
    )
    monkeypatch.setenv("NNCHECK_SEARCH_BUDGET", "200000")
    proc = run_cli("run", str(recipe), "--quiet", "--only", "data.near_duplicates")
    assert proc.returncode in (0, 1), proc.stderr
    check = check_by_id(read_results(tmp_path / "table-report"), "data.near_duplicates")
    queries, rows, work = check["metrics"]["near_queries_sampled"]["train"]
    assert (queries, rows) == (1000, 2500) and work > 200_000
    assert "near pairs searched from a seeded 1,000 of 2,500 train rows" in check["message"]
    monkeypatch.setenv("NNCHECK_SEARCH_BUDGET", "lots")
    proc = run_cli("run", str(recipe), "--quiet", "--only", "data.near_duplicates")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "NNCHECK_SEARCH_BUDGET: expected a count of row comparisons, got 'lots'" in proc.stderr
