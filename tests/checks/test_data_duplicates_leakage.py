"""data.duplicates, data.leakage, data.label_conflicts on injected bugs D1, D2, D3.

Each bug is injected into real data (wine, digits as 8x8 images, an MNIST subset) written
to tmp_path as separate train and test files, so the expected numbers are known exactly;
the checks must report those numbers. Healthy data must pass.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from nncheck.checks.context import Context
from nncheck.checks.registry import load_all
from nncheck.checks.runner import run_checks
from nncheck.data.build import load_dataset
from nncheck.recipe.load import parse_recipe
from nncheck.results import CheckResult
from tests.conftest import DATA, check_by_id, read_results, run_cli, write_recipe

MINE = ("data.duplicates", "data.leakage", "data.label_conflicts", "data.near_duplicates")
ALL_MINE = (*MINE, "data.outliers")


# --------------------------------------------------------------------------- helpers


def run_data_checks(
    tmp_path: Path,
    train: Any,
    test: Any = None,
    ids: tuple[str, ...] = ALL_MINE,
    thresholds: dict[str, dict[str, Any]] | None = None,
    **data: Any,
) -> dict[str, CheckResult]:
    """Load data as a recipe would and run the named checks (no engine needed)."""
    section: dict[str, Any] = {"train": str(train), **data}
    if test is not None:
        section["test"] = str(test)
    recipe = parse_recipe({"data": section, "seed": 0}, base_dir=tmp_path)
    ds = load_dataset(recipe.data, recipe.seed)
    ctx = Context(recipe, ds, None, None)
    specs = load_all()
    out = run_checks(ctx, [specs[i] for i in ids], thresholds or {})
    for r in out:
        assert r.status != "error", (r.id, r.message, r.traceback)
    return {r.id: r for r in out}


def wine_splits(tmp_path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Wine shuffled once (seeded) into 140 train and 38 test rows."""
    frame = pd.read_csv(DATA / "wine.csv").sample(frac=1.0, random_state=0)
    return frame.iloc[:140].reset_index(drop=True), frame.iloc[140:].reset_index(drop=True)


def write_csv(tmp_path: Path, name: str, frame: pd.DataFrame) -> Path:
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path


def noised(frame: pd.DataFrame, rows: list[int], scale: float, seed: int) -> pd.DataFrame:
    """Copies of ``rows`` with gaussian noise of ``scale`` x each feature's std."""
    feats = [c for c in frame.columns if c != "label"]
    out = frame.iloc[rows].copy()
    rng = np.random.default_rng(seed)
    out[feats] = out[feats] + rng.normal(0, 1, (len(rows), len(feats))) * (
        scale * frame[feats].std().to_numpy()
    )
    return out


def digits_images() -> tuple[np.ndarray, np.ndarray]:
    """Digits as (1797, 8, 8) images, 0..16."""
    frame = pd.read_csv(DATA / "digits.csv")
    x = frame.drop(columns="label").to_numpy().astype(np.uint8).reshape(-1, 8, 8)
    return x, frame["label"].to_numpy()


def mnist_subset(n_train: int = 2000, n_test: int = 400) -> tuple[np.ndarray, ...]:

    def read(name: str, images: bool) -> np.ndarray:
        raw = gzip.decompress((DATA / "mnist" / name).read_bytes())
        if images:
            n = int.from_bytes(raw[4:8], "big")
            return np.frombuffer(raw, np.uint8, offset=16).reshape(n, 28, 28)
        return np.frombuffer(raw, np.uint8, offset=8).astype(np.int64)

    xtr = read("train-images-idx3-ubyte.gz", True)[:n_train].copy()
    ytr = read("train-labels-idx1-ubyte.gz", False)[:n_train].copy()
    xte = read("t10k-images-idx3-ubyte.gz", True)[:n_test].copy()
    yte = read("t10k-labels-idx1-ubyte.gz", False)[:n_test].copy()
    return xtr, ytr, xte, yte


def write_npz(tmp_path: Path, name: str, x: np.ndarray, y: np.ndarray) -> Path:
    path = tmp_path / f"{name}.npz"
    np.savez(path, x=x, y=y)
    return path


def shift(img: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """One image moved by (dy, dx) pixels, zeros where nothing moved in."""
    out = np.zeros_like(img)
    h, w = img.shape
    out[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = img[
        max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    return out


# --------------------------------------------------------------------------- D1


def test_d1_duplicated_wine_rows_fail_with_counts(tmp_path: Path) -> None:
    train, test = wine_splits(tmp_path)
    dup = pd.concat([train, train.iloc[:14], train.iloc[:2]], ignore_index=True)
    test_dup = pd.concat([test, test.iloc[[3, 4]]], ignore_index=True)
    res = run_data_checks(
        tmp_path, write_csv(tmp_path, "train", dup), write_csv(tmp_path, "test", test_dup)
    )
    check = res["data.duplicates"]
    assert check.status == "fail"
    m = check.metrics
    assert (m["train_redundant_rows"], m["train_duplicate_groups"], m["train_largest_group"]) == (
        16,
        14,
        3,
    )
    assert (m["test_redundant_rows"], m["test_duplicate_groups"]) == (2, 2)
    assert (
        "train: 16 redundant rows (10.3%) in 14 groups of identical rows (largest 3)"
        in check.message
    )
    # examples name the rows in the files: the biggest group first (rows 0, 140, 154)
    assert check.examples[0] == {"split": "train", "rows": [0, 140, 154], "count": 3}
    assert check.hint


def test_d1_duplicated_digit_images_fail_and_show_thumbnails(tmp_path: Path) -> None:
    x, y = digits_images()
    xtr, ytr, xte, yte = x[:1400], y[:1400], x[1400:], y[1400:]
    rows = np.arange(0, 1400, 14)  # 100 rows copied once
    xd, yd = np.concatenate([xtr, xtr[rows]]), np.concatenate([ytr, ytr[rows]])
    res = run_data_checks(
        tmp_path, write_npz(tmp_path, "train", xd, yd), write_npz(tmp_path, "test", xte, yte)
    )
    check = res["data.duplicates"]
    assert check.status == "fail"
    assert check.metrics["train_redundant_rows"] == 100
    assert check.metrics["test_redundant_rows"] == 0
    assert "100 redundant rows (6.7%)" in check.message
    thumbs = check.artifacts["images"]["items"]
    assert thumbs and thumbs[0]["image"].shape == (8, 8)
    # exact copies are duplicates, not near duplicates
    assert res["data.near_duplicates"].metrics["train_pairs"] == 0


def test_a_few_duplicates_only_warn(tmp_path: Path) -> None:
    x, y = digits_images()
    xd = np.concatenate([x[:1400], x[:10]])  # 10 of 1410: 0.7%
    yd = np.concatenate([y[:1400], y[:10]])
    res = run_data_checks(
        tmp_path,
        write_npz(tmp_path, "train", xd, yd),
        write_npz(tmp_path, "test", x[1400:], y[1400:]),
        ids=("data.duplicates",),
    )
    assert res["data.duplicates"].status == "warn"
    assert res["data.duplicates"].metrics["train_redundant_rows"] == 10


# --------------------------------------------------------------------------- D2


def test_d2_wine_test_rows_in_train_exact_and_near(tmp_path: Path) -> None:
    train, test = wine_splits(tmp_path)
    exact = test.iloc[:5]
    recoded = test.iloc[5:9].copy()  # stored at float32 precision: other bytes, same wine
    feats = [c for c in test.columns if c != "label"]
    recoded[feats] = recoded[feats].astype(np.float32).astype(np.float64) + 1e-4
    noisy = noised(test, [9, 10, 11, 12], 0.01, seed=1)  # 1% of each feature's spread
    leaky = pd.concat([train, exact, recoded, noisy], ignore_index=True)
    res = run_data_checks(
        tmp_path, write_csv(tmp_path, "train", leaky), write_csv(tmp_path, "test", test)
    )
    check = res["data.leakage"]
    assert check.status == "fail"
    assert (check.metrics["exact"], check.metrics["near"]) == (5, 8)
    assert check.message.startswith("13 test samples (34.2%) also occur in train: 5 exact, 8 near")
    pairs = {(e["test_row"], e["train_row"], e["kind"]) for e in check.examples}
    assert (0, 140, "exact") in pairs and (9, 149, "near") in pairs
    assert all(e["relative_distance"] <= 0.15 for e in check.examples if e["kind"] == "near")
    # the honest 140 + 38 rows alone: nothing leaks
    clean = run_data_checks(
        tmp_path,
        write_csv(tmp_path, "train2", train),
        write_csv(tmp_path, "test2", test),
        ids=("data.leakage",),
    )
    assert clean["data.leakage"].status == "pass"


def test_d2_digit_images_copied_exactly_tweaked_and_shifted(tmp_path: Path) -> None:
    x, y = digits_images()
    xtr, ytr, xte, yte = x[:1400], y[:1400], x[1400:], y[1400:]
    rng = np.random.default_rng(2)
    exact = xte[:10]
    tweaked = xte[10:20].astype(np.int64)
    for img in tweaked:  # 1 grey level (of 16) up or down on 3 pixels: a re-encoding
        flat = img.reshape(-1)
        idx = rng.choice(64, 3, replace=False)
        flat[idx] += np.where(flat[idx] < 16, 1, -1)
    moves = [(0, 1), (1, 0), (0, -1), (-1, 0)]
    moved = np.stack([shift(img, *moves[i % 4]) for i, img in enumerate(xte[20:30])])
    xl = np.concatenate([xtr, exact, tweaked.astype(np.uint8), moved])
    yl = np.concatenate([ytr, yte[:30]])
    res = run_data_checks(
        tmp_path, write_npz(tmp_path, "train", xl, yl), write_npz(tmp_path, "test", xte, yte)
    )
    check = res["data.leakage"]
    assert check.status == "fail"
    m = check.metrics
    assert (m["exact"], m["near"], m["near_shifted"]) == (10, 20, 10)
    assert "30 test samples (7.6%) also occur in train: 10 exact, 20 near (10 of them after" in (
        check.message
    )
    assert len(check.artifacts["images"]["items"]) == 24  # 12 test/train pairs


def test_d2_mnist_copies_reencoded_noised_and_shifted(tmp_path: Path) -> None:
    xtr, ytr, xte, yte = mnist_subset()
    rng = np.random.default_rng(3)
    src = np.arange(40)
    copies = xte[src].astype(np.float64)
    copies[10:20] = np.round(copies[10:20] / 8) * 8  # re-encoded
    copies[20:30] = np.round(copies[20:30] + rng.normal(0, 3, copies[20:30].shape))  # noised
    copies[30:40] = np.stack([shift(img, 1, 0) for img in copies[30:40]])  # shifted
    copies = np.clip(copies, 0, 255).astype(np.uint8)
    res = run_data_checks(
        tmp_path,
        write_npz(tmp_path, "train", np.concatenate([xtr, copies]), np.r_[ytr, yte[src]]),
        write_npz(tmp_path, "test", xte, yte),
    )
    m = res["data.leakage"].metrics
    assert res["data.leakage"].status == "fail"
    assert (m["exact"], m["near"], m["near_shifted"]) == (10, 30, 10)
    # same labels: no conflicts; copies of test rows are no within-train duplicates
    assert res["data.label_conflicts"].status == "pass"
    assert res["data.near_duplicates"].metrics["train_pairs"] == 0


# --------------------------------------------------------------------------- D3


def test_d3_wine_duplicates_with_flipped_labels(tmp_path: Path) -> None:
    train, test = wine_splits(tmp_path)
    flipped = train.iloc[:6].copy()
    flipped["label"] = (flipped["label"] + 1) % 3
    near = noised(train, [20, 21], 0.01, seed=4)
    near["label"] = (near["label"] + 1) % 3
    bad = pd.concat([train, flipped, near], ignore_index=True)
    res = run_data_checks(
        tmp_path, write_csv(tmp_path, "train", bad), write_csv(tmp_path, "test", test)
    )
    check = res["data.label_conflicts"]
    assert check.status == "fail"
    m = check.metrics
    assert (m["exact_conflict_groups"], m["exact_conflict_samples"]) == (6, 12)
    assert m["near_conflict_pairs"] == 2
    assert check.message.startswith(
        "6 groups of identical inputs (12 samples) and 2 near-identical pairs carry "
        "different labels: 16 samples (8.6%) involved"
    )
    first = check.examples[0]
    assert first["kind"] == "exact" and {s["row"] for s in first["samples"]} == {0, 140}
    assert {s["label"] for s in first["samples"]} == {
        str(train["label"][0]),
        str((train["label"][0] + 1) % 3),
    }


def test_d3_digit_images_relabelled_across_splits(tmp_path: Path) -> None:
    x, y = digits_images()
    xtr, ytr, xte, yte = x[:1400], y[:1400], x[1400:], y[1400:]
    # 15 training images again with another label, and 5 test images in train relabelled
    xb = np.concatenate([xtr, xtr[:15], xte[:5]])
    yb = np.concatenate([ytr, (ytr[:15] + 1) % 10, (yte[:5] + 3) % 10])
    res = run_data_checks(
        tmp_path, write_npz(tmp_path, "train", xb, yb), write_npz(tmp_path, "test", xte, yte)
    )
    check = res["data.label_conflicts"]
    assert check.status == "fail"
    assert check.metrics["exact_conflict_groups"] == 20
    assert check.metrics["exact_conflict_samples"] == 40
    assert res["data.leakage"].metrics["exact"] == 5
    assert check.artifacts["images"]["items"]


def test_label_conflicts_skip_for_regression(tmp_path: Path) -> None:
    res = run_data_checks(
        tmp_path,
        DATA / "diabetes.csv",
        ids=("data.label_conflicts",),
        target="target",
        task="regression",
    )
    assert res["data.label_conflicts"].status == "skip"


# --------------------------------------------------------------------------- known facts


def test_iris_reports_its_one_duplicate_pair_rows_101_and_142(tmp_path: Path) -> None:
    report = tmp_path / "report"
    recipe = {"data": {"train": str(DATA / "iris.csv")}, "report": {"dir": str(report)}}
    proc = run_cli(
        "run",
        str(write_recipe(tmp_path, recipe)),
        "--quiet",
        "--only",
        "data.duplicates",
        "data.leakage",
    )
    assert proc.returncode in (0, 1), proc.stderr
    res = read_results(report)
    dups, leak = check_by_id(res, "data.duplicates"), check_by_id(res, "data.leakage")
    pairs = [sorted(e["rows"]) for e in dups["examples"]]
    pairs += [sorted([e["test_row"], e["train_row"]]) for e in leak["examples"]]
    assert pairs == [[101, 142]]  # exactly one pair, wherever the split put it
    assert dups["status"] != "fail" and leak["status"] != "fail"


@pytest.mark.parametrize(
    "name, extra",
    [
        ("wine", {}),
        ("breast_cancer", {}),
        ("digits", {}),
        ("diabetes", {"target": "target", "task": "regression"}),
    ],
)
def test_healthy_datasets_pass(tmp_path: Path, name: str, extra: dict[str, Any]) -> None:
    res = run_data_checks(tmp_path, DATA / f"{name}.csv", **extra)
    for check_id, r in res.items():
        assert r.status in ("pass", "skip"), (name, check_id, r.message)


@pytest.mark.slow
def test_full_mnist_is_healthy(tmp_path: Path) -> None:
    mnist = DATA / "mnist"
    section = {
        "train": {
            "images": str(mnist / "train-images-idx3-ubyte.gz"),
            "labels": str(mnist / "train-labels-idx1-ubyte.gz"),
        },
        "test": {
            "images": str(mnist / "t10k-images-idx3-ubyte.gz"),
            "labels": str(mnist / "t10k-labels-idx1-ubyte.gz"),
        },
        "normalize": "scale255",
        "classes": 10,
    }
    recipe = parse_recipe({"data": section, "seed": 0}, base_dir=tmp_path)
    ctx = Context(recipe, load_dataset(recipe.data, recipe.seed), None, None)
    specs = load_all()
    out = {r.id: r for r in run_checks(ctx, [specs[i] for i in ALL_MINE], {})}
    for check_id, r in out.items():
        assert r.status == "pass", (check_id, r.message)
    assert out["data.duplicates"].metrics["redundant_fraction"] == 0
    assert out["data.leakage"].metrics["leaked"] == 0
    assert out["data.near_duplicates"].metrics["fraction_involved"] == 0
