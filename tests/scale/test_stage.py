"""The streaming data stage (nncheck.scale) on planted problems, from every kind of source,
in process and on a 2-worker Dask LocalCluster."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nncheck.errors import DataError
from nncheck.scale.sources import open_rows
from nncheck.scale.stage import StageFindings, run_stage

N_TR, N_TE, D = 2000, 400, 64


def _planted(tmp_path: Path) -> dict[str, np.ndarray]:
    """Random uint8 rows with exact and near duplicates, leaks and blanks planted."""
    rng = np.random.default_rng(7)
    tr = rng.integers(0, 256, size=(N_TR, D), dtype=np.uint8)
    te = rng.integers(0, 256, size=(N_TE, D), dtype=np.uint8)
    near = lambda rows: np.clip(rows.astype(int) + rng.integers(-3, 4, rows.shape), 0, 255)  # noqa: E731
    tr[1000:1010] = tr[0:10]  # exact duplicates
    tr[1100:1120] = near(tr[20:40]).astype(np.uint8)  # near duplicates
    tr[1200:1205] = 0  # blanks
    te[0:8] = tr[50:58]  # exact leaks
    te[10:22] = near(tr[60:72]).astype(np.uint8)  # near leaks
    np.save(tmp_path / "train.npy", tr)
    np.save(tmp_path / "test.npy", te)
    return {"train": tr, "test": te}


def _check_planted(f: StageFindings) -> None:
    assert set(range(1000, 1010)) <= set(f.train_duplicate_rows.tolist())
    assert set(range(1201, 1205)) <= set(f.train_duplicate_rows.tolist())  # blanks repeat
    pairs = {tuple(p) for p in f.near_pairs.tolist()}
    assert {(i, 1080 + i) for i in range(20, 40)} <= pairs
    assert f.blanks_train.tolist() == list(range(1200, 1205))
    assert f.exact_leaks.tolist() == [[i, 50 + i] for i in range(8)]
    assert f.near_leaks.tolist() == [[10 + i, 60 + i] for i in range(12)]
    assert len(f.test_duplicate_rows) == 0
    assert 0 < f.radius < 0.2 * f.scale


def _same(a: StageFindings, b: StageFindings) -> None:
    for name in (
        "train_duplicate_rows",
        "test_duplicate_rows",
        "exact_leaks",
        "blanks_train",
        "blanks_test",
        "near_pairs",
        "near_dist",
        "near_leaks",
    ):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert (a.radius, a.scale, a.max_shift) == (b.radius, b.scale, b.max_shift)


def test_memmap_finds_every_planted_problem(tmp_path: Path) -> None:
    _planted(tmp_path)
    train = open_rows(tmp_path / "train.npy")
    assert isinstance(train.parts[0], np.memmap)  # read in place, not loaded
    found = run_stage(train, open_rows(tmp_path / "test.npy"), chunk_rows=300)
    _check_planted(found)


def test_shards_and_parquet_give_the_same_findings_as_one_memmap(tmp_path: Path) -> None:
    data = _planted(tmp_path)
    shards = tmp_path / "shards"
    shards.mkdir()
    for i, s in enumerate(range(0, N_TR, 700)):
        np.save(shards / f"part-{i:02d}.npy", data["train"][s : s + 700])
    np.savez(tmp_path / "test.npz", x=data["test"])
    zipped = tmp_path / "zipped"
    zipped.mkdir()
    np.savez(zipped / "a.npz", x=data["test"][:150])
    np.savez(zipped / "b.npz", x=data["test"][150:])
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pa.table({f"p{j}": data["test"][:, j] for j in range(D)})
    pq.write_table(table, tmp_path / "test.parquet", row_group_size=100)

    base = run_stage(open_rows(tmp_path / "train.npy"), open_rows(tmp_path / "test.npy"))
    sharded = open_rows(shards)
    assert len(sharded.parts) == 3 and len(sharded) == N_TR
    _same(base, run_stage(sharded, open_rows(zipped)))
    from_parquet = run_stage(sharded, open_rows(tmp_path / "test.parquet"))
    # parquet rows arrive as float64: the same values, so the same findings
    _same(base, from_parquet)


def test_unreadable_sources_are_data_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        open_rows(tmp_path / "missing.npy")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no .npy, .npz or .parquet"):
        open_rows(tmp_path / "empty")
    (tmp_path / "bad.npy").write_bytes(b"not an array")
    with pytest.raises(DataError, match="not a readable .npy"):
        open_rows(tmp_path / "bad.npy")


@pytest.mark.slow
def test_dask_local_cluster_agrees_with_the_in_process_path(tmp_path: Path) -> None:
    pytest.importorskip("distributed", reason="the Dask engine is the optional extra 'dask'")
    from nncheck.scale.on_dask import connect, dask_mapper

    _planted(tmp_path)
    train, test = open_rows(tmp_path / "train.npy"), open_rows(tmp_path / "test.npy")
    local = run_stage(train, test, chunk_rows=300)
    client = connect(None, workers=2)
    try:
        assert len(client.scheduler_info()["workers"]) == 2
        on_dask = run_stage(train, test, chunk_rows=300, mapper=dask_mapper(client))
    finally:
        client.close()
    _check_planted(on_dask)
    _same(local, on_dask)


@pytest.mark.slow
def test_dask_arrays_over_shards_and_parquet_agree_with_the_in_process_path(
    tmp_path: Path,
) -> None:
    """npz shards through dask.array and parquet through dask.dataframe: blocks are the
    in-process chunks, the graph carries paths, not rows, and the findings are the same."""
    pytest.importorskip("distributed", reason="the Dask engine is the optional extra 'dask'")
    pa = pytest.importorskip("pyarrow")
    import pickle

    import dask.array as da
    import pyarrow.parquet as pq

    from nncheck.scale.on_dask import connect, dask_mapper, source_array

    data = _planted(tmp_path)
    shards = tmp_path / "shards"
    shards.mkdir()
    for i, s in enumerate(range(0, N_TR, 700)):
        np.savez(shards / f"part-{i:02d}.npz", x=data["train"][s : s + 700])
    table = pa.table({f"p{j}": data["test"][:, j] for j in range(D)})
    pq.write_table(table, tmp_path / "test.parquet", row_group_size=70)
    train, test = open_rows(shards), open_rows(tmp_path / "test.parquet")

    arr = source_array(train, 300)
    assert isinstance(arr, da.Array) and arr.shape == (N_TR, D)
    assert [len(c) for _, c in train.chunks(300)] == list(arr.chunks[0])
    assert np.array_equal(arr[650:750].compute(), data["train"][650:750])
    assert len(pickle.dumps(dict(arr.__dask_graph__()))) < data["train"].nbytes / 4
    te = source_array(test, 300)
    assert te.chunks[0] == (300, 100)  # rechunked from 70-row row groups
    assert np.array_equal(te.compute(), data["test"].astype(te.dtype))

    local = run_stage(train, test, chunk_rows=300)
    client = connect(None, workers=2)
    try:
        on_dask = run_stage(train, test, chunk_rows=300, mapper=dask_mapper(client))
    finally:
        client.close()
    _check_planted(on_dask)
    _same(local, on_dask)


def test_a_search_over_budget_queries_a_seeded_subset_against_every_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Random rows in 64 dimensions are the radius index's worst case: its cells rule out
    almost nothing, so every query compares with nearly every row. Past the budget a seeded
    subset of the rows queries (against every row): it invents no pair, finds the planted
    pairs one of whose rows it covers, says how many rows searched, and leaves the exact
    findings alone."""
    _planted(tmp_path)
    train, test = open_rows(tmp_path / "train.npy"), open_rows(tmp_path / "test.npy")
    full = run_stage(train, test, seed=0)
    assert not full.near_sampled and full.near_queries["train"][:2] == (N_TR, N_TR)
    work = full.near_queries["train"][2]
    assert work >= N_TR * N_TR // 10  # each query compared with over 10% of the rows
    monkeypatch.setenv("NNCHECK_SEARCH_BUDGET", str(work // 4))
    part = run_stage(train, test, seed=0)
    assert part.near_sampled == {"train": (1000, N_TR, work)}  # PROBE_QUERIES at least
    assert part.summary()["near_queries"]["train"][:2] == [1000, N_TR]
    full_pairs = {tuple(p) for p in full.near_pairs.tolist()}
    got = {tuple(p) for p in part.near_pairs.tolist()}
    planted = {(i, 1080 + i) for i in range(20, 40)}
    assert got <= full_pairs and 5 <= len(got & planted) < len(planted)
    for name in ("train_duplicate_rows", "exact_leaks", "blanks_train", "near_leaks"):
        assert np.array_equal(getattr(part, name), getattr(full, name)), name
