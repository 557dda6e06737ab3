"""`nncheck run` with data.engine stream | dask: MNIST rows with planted copies, as an npy
memory map, a folder of shards and a parquet dataset, audited through the CLI.

The streamed checks must find exactly what was planted over every row (also rows the
in-memory sample leaves out), agree with the in-memory audit of the same files, and give
the same findings from every kind of source and on a 2-worker Dask LocalCluster.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nncheck.data.idx import read_idx
from nncheck.data.python_data import sample_positions
from tests.conftest import DATA, check_by_id, read_results, run_cli, write_recipe

N_TR, N_TE = 3000, 600
STREAMED = ["data.duplicates", "data.leakage", "data.near_duplicates", "data.label_conflicts"]


def _planted(folder: Path) -> dict[str, Any]:
    """The first MNIST training images with 30 exact and 20 near duplicates and 5 blank
    (all-zero) images in train, 10 exact and 10 near leaks in test (near: noise of up to 3
    grey levels). The blanks repeat each other: 4 more redundant rows. Label conflicts: 5
    more exact train copies and 3 more near leaks carry another label (and the blanks hold
    several labels: one more group). 30 train labels are flipped."""
    x = read_idx(str(DATA / "mnist" / "train-images-idx3-ubyte.gz"))[: N_TR + N_TE].copy()
    y = read_idx(str(DATA / "mnist" / "train-labels-idx1-ubyte.gz"), "labels")[: N_TR + N_TE]
    rng = np.random.default_rng(3)
    near = lambda rows: np.clip(rows.astype(int) + rng.integers(-3, 4, rows.shape), 0, 255)  # noqa: E731
    tr, te = x[:N_TR], x[N_TR:]
    ytr, yte = y[:N_TR].astype(np.int64), y[N_TR:].astype(np.int64)
    tr[2900:2930], ytr[2900:2930] = tr[0:30], ytr[0:30]
    tr[2950:2970], ytr[2950:2970] = near(tr[100:120]), ytr[100:120]
    tr[2990:2995] = 0
    tr[2930:2935], ytr[2930:2935] = tr[400:405], (ytr[400:405] + 1) % 10
    te[30:33], yte[30:33] = near(tr[600:603]), (ytr[600:603] + 1) % 10
    ytr[1000:1030] = (ytr[1000:1030] + 3) % 10  # label errors (in no group of copies)
    te[540:545], yte[540:545] = near(te[500:505]), yte[500:505]  # near pairs inside test
    te[0:10], yte[0:10] = tr[200:210], ytr[200:210]
    te[20:30], yte[20:30] = near(tr[300:310]), ytr[300:310]
    np.save(folder / "train_x.npy", tr)
    np.save(folder / "train_y.npy", ytr)
    np.save(folder / "test_x.npy", te)
    np.save(folder / "test_y.npy", yte)
    return {
        "near_pairs": {(100 + i, 2950 + i) for i in range(20)},
        "exact_conflicts": {(400 + i, 2930 + i) for i in range(5)} | {tuple(range(2990, 2995))},
        "near_conflicts": {(30 + i, 600 + i) for i in range(3)},
    }


def _recipe(folder: Path, train_x: str = "train_x.npy", **data: Any) -> Path:
    recipe = {
        "data": {
            "train": {"images": train_x, "labels": "train_y.npy"},
            "test": {"images": "test_x.npy", "labels": "test_y.npy"},
            "classes": 10,
            "normalize": "scale255",
            "engine": "stream",
            "max_samples": 1000,
            **data,
        },
        "model": {"hidden": [32], "activation": "relu", "init": "he"},
        "train": {"optimizer": "adam", "lr": 0.003, "steps": 60, "batch_size": 64},
    }
    name = f"{data.get('engine', 'stream')}-{Path(train_x).stem}.yaml"
    return write_recipe(folder, recipe, name=name)


def _run(recipe: Path, *extra: str) -> dict[str, Any]:
    proc = run_cli("run", str(recipe), "--quiet", "--only", *STREAMED, *extra, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr
    return read_results(recipe.parent / f"{recipe.stem}-report")


def _one_check(folder: Path, check: str, **data: Any) -> dict[str, Any]:
    """One check of a streamed run through the CLI, as results.json has it."""
    recipe = _recipe(folder, **data)
    proc = run_cli("run", str(recipe), "--quiet", "--only", check)
    assert proc.returncode in (0, 1), proc.stderr
    return check_by_id(read_results(recipe.parent / f"{recipe.stem}-report"), check)


def _findings(results: dict[str, Any]) -> dict[str, Any]:
    return {c: check_by_id(results, c)["metrics"] for c in STREAMED} | {
        c + ":examples": check_by_id(results, c)["examples"] for c in STREAMED
    }


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("streamed")
    return folder, _planted(folder)


@pytest.fixture(scope="module")
def streamed(planted: tuple[Path, dict[str, Any]]) -> dict[str, Any]:
    return _run(_recipe(planted[0]))


def test_streamed_checks_find_every_planted_copy_over_all_rows(
    planted: tuple[Path, dict[str, Any]], streamed: dict[str, Any]
) -> None:
    folder, truth = planted
    dup = check_by_id(streamed, "data.duplicates")
    assert dup["metrics"]["train_redundant_rows"] == 39
    assert dup["metrics"]["train_rows"] == N_TR  # every row, not the 1000 sampled
    assert "streamed" in dup["message"]
    leak = check_by_id(streamed, "data.leakage")
    assert (leak["metrics"]["exact"], leak["metrics"]["near"]) == (10, 13)
    assert leak["status"] == "fail"
    kinds = {(e["test_row"], e["train_row"], e["kind"]) for e in leak["examples"]}
    assert {(i, 200 + i, "exact") for i in range(10)} <= kinds
    assert {(20 + i, 300 + i, "near") for i in range(10)} <= kinds
    near = check_by_id(streamed, "data.near_duplicates")
    assert near["metrics"]["train_pairs"] == 20
    assert near["metrics"]["test_pairs"] == 5
    test_pairs = {tuple(e["rows"]) for e in near["examples"] if e["split"] == "test"}
    assert test_pairs == {(500 + i, 540 + i) for i in range(5)}
    train_pairs = {tuple(e["rows"]) for e in near["examples"] if e["split"] == "train"}
    assert train_pairs == truth["near_pairs"]
    assert near["status"] == "warn"  # 40 of 3000 train samples involved: 1.3%; test 1.7%
    conflicts = check_by_id(streamed, "data.label_conflicts")
    m = conflicts["metrics"]
    assert (m["exact_conflict_groups"], m["near_conflict_pairs"]) == (6, 3)
    exact = {
        tuple(s["row"] for s in e["samples"]) for e in conflicts["examples"] if e["kind"] == "exact"
    }
    assert exact == truth["exact_conflicts"]
    near_found = [e["samples"] for e in conflicts["examples"] if e["kind"] == "near"]
    assert {(a["row"], b["row"]) for a, b in near_found} == truth["near_conflicts"]
    assert all((a["split"], b["split"]) == ("test", "train") for a, b in near_found)
    assert all(a["label"] != b["label"] for a, b in near_found)
    assert m["samples_involved"] == 21
    assert conflicts["status"] == "warn"  # 21 of 3,600 samples: under fail_fraction 1%
    # the images of what was found are in the report, read back from the files
    assert "images" in leak["artifacts"]
    html = (folder / "stream-train_x-report" / "index.html").read_text()
    assert "train 200 (exact)" in html and "<img" in html
    notes = streamed["dataset"]["notes"]
    assert any("seeded sample of 1,000 of 3,000" in n for n in notes)


def test_streamed_and_in_memory_audits_agree(
    planted: tuple[Path, dict[str, Any]], streamed: dict[str, Any]
) -> None:
    folder, _ = planted
    in_memory = _run(_recipe(folder, engine="memory", max_samples=60_000))
    for check in STREAMED:
        assert check_by_id(in_memory, check)["status"] == check_by_id(streamed, check)["status"]
    mem, st = (check_by_id(r, "data.leakage")["metrics"] for r in (in_memory, streamed))
    assert (mem["exact"], mem["near"]) == (st["exact"], st["near"])
    mem_dup = check_by_id(in_memory, "data.duplicates")["metrics"]
    assert mem_dup["train_redundant_rows"] == 39
    keys = ("exact_conflict_groups", "exact_conflict_samples", "near_conflict_pairs")
    mem_c, st_c = (check_by_id(r, "data.label_conflicts")["metrics"] for r in (in_memory, streamed))
    assert [mem_c[k] for k in keys] == [st_c[k] for k in keys] == [6, 15, 3]
    mem_near = check_by_id(in_memory, "data.near_duplicates")["metrics"]
    assert (mem_near["train_pairs"], mem_near["test_pairs"]) == (20, 5)


def test_shards_and_parquet_give_the_findings_of_the_memory_map(
    planted: tuple[Path, dict[str, Any]], streamed: dict[str, Any]
) -> None:
    pa = pytest.importorskip("pyarrow", reason="parquet sources need pyarrow")
    import pyarrow.parquet as pq

    folder, _ = planted
    x = np.load(folder / "train_x.npy")
    (folder / "shards").mkdir()
    for i, start in enumerate(range(0, N_TR, 700)):  # uneven shards, one short
        np.save(folder / "shards" / f"part-{i:02d}.npy", x[start : start + 700])
    for split, rows in (("train", x), ("test", np.load(folder / "test_x.npy"))):
        flat = rows.reshape(len(rows), -1)
        (folder / f"{split}_parquet").mkdir()
        for i, start in enumerate(range(0, len(flat), 1500)):
            cols = {f"px{j}": flat[start : start + 1500, j] for j in range(flat.shape[1])}
            pq.write_table(pa.table(cols), folder / f"{split}_parquet" / f"part-{i}.parquet")
    want = _findings(streamed)
    assert _findings(_run(_recipe(folder, "shards"))) == want
    # parquet columns are flat features, not 28 x 28 images (distances then stay in grey
    # levels, not over 255): the same rows are found
    recipe = _recipe(
        folder, "train_parquet", test={"images": "test_parquet", "labels": "test_y.npy"}
    )
    got = _run(recipe)
    for check, key in (("data.leakage", "test_row"), ("data.near_duplicates", "rows")):
        rows = [e.get(key, e.get("rows")) for e in check_by_id(got, check)["examples"]]
        assert rows == [e.get(key, e.get("rows")) for e in want[check + ":examples"]]
    counts = ("train_redundant_rows", "test_redundant_rows")
    dup = check_by_id(got, "data.duplicates")["metrics"]
    assert [dup[k] for k in counts] == [want["data.duplicates"][k] for k in counts]


@pytest.mark.slow
def test_dask_engine_gives_the_in_process_findings(
    planted: tuple[Path, dict[str, Any]], streamed: dict[str, Any]
) -> None:
    pytest.importorskip("distributed", reason="the Dask engine is the optional extra 'dask'")
    folder, _ = planted
    on_dask = _run(_recipe(folder), "--dask")
    assert on_dask["recipe"]["data"]["engine"] == "dask"
    assert _findings(on_dask) == _findings(streamed)
    assert any("as Dask tasks" in n for n in on_dask["dataset"]["notes"])


def test_a_sampled_test_split_is_said_in_the_full_test_set_verdict(
    planted: tuple[Path, dict[str, Any]],
) -> None:
    check = _one_check(planted[0], "evaluate.full_test_set", max_samples=400)
    assert "on a seeded sample of 400 of 600 test samples" in check["message"]


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"test": {"fraction": 0.2}}, "data.test: data.engine stream reads {images"),
        ({"engine": "memory", "scheduler": "tcp://x:1"}, "data.scheduler is the Dask scheduler"),
        ({"train": {"images": "train_x.npy", "labels": "test_y.npy"}}, "600 labels for 3,000"),
        ({"task": "language_model"}, "audits classification or regression"),
    ],
)
def test_unusable_streamed_recipes_are_exit_2_naming_the_field(
    planted: tuple[Path, dict[str, Any]], change: dict[str, Any], says: str
) -> None:
    folder, _ = planted
    recipe = _recipe(folder, **change)
    proc = run_cli("run", str(recipe), "--quiet")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert says in proc.stderr
    assert "Traceback" not in proc.stderr


def test_corrupted_images_outside_the_sample_are_found_by_data_outliers(
    planted: tuple[Path, dict[str, Any]],
) -> None:
    """data.outliers judges every image when streaming, not only the 500 sampled: the 5
    planted blanks are found at their rows, and nothing else is called corrupted."""
    check = _one_check(planted[0], "data.outliers", max_samples=500)
    m = check["metrics"]
    assert m["streamed"] is True
    assert check["status"] == "warn"
    assert (m["train_all_zero"], m["train_constant"], m["train_noise"]) == (5, 0, 0)
    assert (m["test_all_zero"], m["test_noise"]) == (0, 0)
    blanks = {e["row"] for e in check["examples"] if "all-zero" in e["problems"]}
    assert blanks == set(range(2990, 2995))
    assert "5 corrupted train images (0.2%): 5 all-zero" in check["message"]
    assert "all 3,000 train and 600 test images, streamed" in check["message"]
    assert m["train_max_knn_ratio"] < 50  # healthy MNIST digits are not far out


def test_streamed_outliers_agree_with_the_in_memory_check(
    planted: tuple[Path, dict[str, Any]],
) -> None:
    folder = planted[0]
    streamed = _one_check(folder, "data.outliers")
    in_memory = _one_check(folder, "data.outliers", engine="memory", max_samples=60_000)
    assert streamed["status"] == in_memory["status"]
    for key in ("all_zero", "constant", "noise", "spike", "corrupted"):
        for split in ("train", "test"):
            assert streamed["metrics"][f"{split}_{key}"] == in_memory["metrics"][f"{split}_{key}"]
    assert streamed["metrics"]["train_far_samples"] == in_memory["metrics"]["train_far_samples"]


def test_noise_and_far_out_images_are_found_over_every_row(tmp_path: Path) -> None:
    """Pure-noise images and a unit error (an image x 1000, stored as float) planted past
    the sample are found; the kNN ratio puts the scaled image far out."""
    x = read_idx(str(DATA / "mnist" / "train-images-idx3-ubyte.gz"))[:2000].astype(np.float32)
    y = read_idx(str(DATA / "mnist" / "train-labels-idx1-ubyte.gz"), "labels")[:2000]
    rng = np.random.default_rng(0)
    x[1990:1994] = rng.uniform(0, 255, size=(4, 28, 28))
    x[1995] *= 1000.0
    np.save(tmp_path / "train_x.npy", x[:1600])
    np.save(tmp_path / "train_y.npy", y[:1600].astype(np.int64))
    np.save(tmp_path / "test_x.npy", x[1600:])
    np.save(tmp_path / "test_y.npy", y[1600:].astype(np.int64))
    check = _one_check(tmp_path, "data.outliers", max_samples=300)
    m = check["metrics"]
    assert m["test_noise"] == 4
    noisy = {e["row"] for e in check["examples"] if "noise" in e["problems"]}
    assert noisy == {390, 391, 392, 393}
    far = [e for e in check["examples"] if e["split"] == "test" and e["knn_ratio"] >= 50]
    assert [e["row"] for e in far][:1] == [395]
    assert check["status"] == "warn"


def _png_folders(root: Path) -> dict[str, Any]:
    """MNIST digits as PNG files in class subfolders (train 800, test 200), with a copy of
    a train file, a train file leaked into test, a blank image and a digit filed under
    two classes planted."""
    from PIL import Image

    x = read_idx(str(DATA / "mnist" / "train-images-idx3-ubyte.gz"))[:1000]
    y = read_idx(str(DATA / "mnist" / "train-labels-idx1-ubyte.gz"), "labels")[:1000]
    files: dict[str, list[tuple[str, np.ndarray]]] = {"train": [], "test": []}
    for i in range(1000):
        split = "train" if i < 800 else "test"
        files[split].append((f"{y[i]}/img{i:04d}.png", x[i]))
    files["train"].append((f"{y[5]}/copy-of-5.png", x[5]))
    files["test"].append((f"{y[7]}/leak-of-7.png", x[7]))
    files["train"].append(("0/blank.png", np.zeros((28, 28), np.uint8)))
    files["train"].append((f"{(y[9] + 1) % 10}/relabelled-9.png", x[9]))
    for split, items in files.items():
        for rel, img in items:
            path = root / split / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img).save(path)
    return {"train": str(root / "train"), "test": str(root / "test")}


def test_image_folders_stream_through_a_spill_with_the_in_memory_findings(
    tmp_path: Path,
) -> None:
    from nncheck.data.images import list_image_folder

    folders = _png_folders(tmp_path)
    train_files, _ = list_image_folder(folders["train"])
    test_files, _ = list_image_folder(folders["test"])
    row = {Path(f).name: i for i, f in enumerate(train_files)}
    test_row = {Path(f).name: i for i, f in enumerate(test_files)}
    checks = [*STREAMED, "data.outliers"]

    def audit(engine: str) -> dict[str, Any]:
        recipe = {
            "data": {
                "train": folders["train"],
                "test": folders["test"],
                "engine": engine,
                "max_samples": 300 if engine == "stream" else 60_000,
                "normalize": "scale255",
            },
            "model": {"hidden": [16]},
            "train": {"steps": 20},
        }
        path = write_recipe(tmp_path, recipe, name=f"folders-{engine}.yaml")
        proc = run_cli("run", str(path), "--quiet", "--only", *checks)
        assert proc.returncode in (0, 1), proc.stderr
        return read_results(tmp_path / f"folders-{engine}-report")

    streamed, in_memory = audit("stream"), audit("memory")
    assert any(
        "image folder: 803 files in 10 class subfolders" in n for n in streamed["dataset"]["notes"]
    )
    dup = check_by_id(streamed, "data.duplicates")
    assert dup["metrics"]["train_rows"] == 803
    groups = {tuple(sorted(e["rows"])) for e in dup["examples"]}
    assert tuple(sorted((row["img0005.png"], row["copy-of-5.png"]))) in groups
    leak = check_by_id(streamed, "data.leakage")
    assert [(e["test_row"], e["train_row"]) for e in leak["examples"] if e["kind"] == "exact"] == [
        (test_row["leak-of-7.png"], row["img0007.png"])
    ]
    conflicts = check_by_id(streamed, "data.label_conflicts")
    exact = [e for e in conflicts["examples"] if e["kind"] == "exact"]
    assert {s["row"] for e in exact for s in e["samples"]} == {
        row["img0009.png"],
        row["relabelled-9.png"],
    }
    outliers = check_by_id(streamed, "data.outliers")
    assert outliers["metrics"]["train_all_zero"] == 1
    assert [e["row"] for e in outliers["examples"] if "all-zero" in e["problems"]] == [
        row["blank.png"]
    ]
    for check in checks:
        assert check_by_id(streamed, check)["status"] == check_by_id(in_memory, check)["status"]
    mem_leak = check_by_id(in_memory, "data.leakage")["metrics"]
    assert (mem_leak["exact"], mem_leak["near"]) == (
        leak["metrics"]["exact"],
        leak["metrics"]["near"],
    )


def test_label_errors_score_every_row_with_the_sample_trained_fold_models(
    planted: tuple[Path, dict[str, Any]],
) -> None:
    """The fold models train on the 1,000-row sample, yet every one of the 3,600 labels is
    judged: the flipped train labels are found as often as by the in-memory check of all
    rows (13 of 30 at this small size), also outside the sample."""

    def flagged_flips(**data: Any) -> tuple[dict[str, Any], set[int]]:
        check = _one_check(planted[0], "data.label_errors", **data)
        flagged = {e["row"] for e in check["examples"] if e["flagged"] and e["split"] == "train"}
        return check, flagged & set(range(1000, 1030))

    check, found = flagged_flips()
    m = check["metrics"]
    assert m["streamed"] is True
    assert (m["n_checked"], m["n_train_checked"], m["n_test_checked"]) == (3600, 3000, 600)
    assert "every row, streamed: 1,600 sampled labels scored out of fold" in check["message"]
    _, in_memory = flagged_flips(engine="memory", max_samples=60_000)
    assert len(found) >= max(12, len(in_memory) - 2), (sorted(found), sorted(in_memory))
    sampled = set(sample_positions(N_TR, 1000, 0, "train").tolist())
    assert len(found - sampled) >= 7  # found in rows the sample left out
    assert m["model_accuracy"] > 0.85
