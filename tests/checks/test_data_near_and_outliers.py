"""data.near_duplicates and data.outliers on injected near copies and D7 corruptions.

Near copies (noised, re-encoded, shifted) and corrupted samples (all-zero, constant and
pure-noise images, sensor spikes, a unit error x1000) are injected into wine, breast
cancer, digits (as 8x8 images) and an MNIST subset; the checks must count exactly what was
injected and stay quiet on the healthy data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tests.checks.test_data_duplicates_leakage import (
    digits_images,
    mnist_subset,
    noised,
    run_data_checks,
    shift,
    wine_splits,
    write_csv,
    write_npz,
)
from tests.conftest import DATA, check_by_id, read_results, run_cli, write_recipe

# --------------------------------------------------------------------------- near duplicates


def test_noised_wine_copies_are_near_duplicates(tmp_path: Path) -> None:
    train, test = wine_splits(tmp_path)
    near = noised(train, [5, 6, 7], 0.01, seed=5)
    res = run_data_checks(
        tmp_path,
        write_csv(tmp_path, "train", pd.concat([train, near], ignore_index=True)),
        write_csv(tmp_path, "test", test),
        ids=("data.near_duplicates",),
    )
    check = res["data.near_duplicates"]
    assert check.status == "warn"  # 6 of 143 samples: over 1%, under 10%
    assert (check.metrics["train_pairs"], check.metrics["train_samples_involved"]) == (3, 6)
    assert check.message.startswith("train: 3 near-duplicate pairs, 6 samples (4.2%); test: none")
    assert sorted(tuple(e["rows"]) for e in check.examples) == [(5, 140), (6, 141), (7, 142)]
    assert all(e["relative_distance"] < 0.15 for e in check.examples)


def test_mnist_near_copies_within_train_including_shifts(tmp_path: Path) -> None:
    xtr, ytr, xte, yte = mnist_subset()
    rng = np.random.default_rng(6)
    src = np.arange(100, 130)
    copies = xtr[src].astype(np.float64)
    copies[:10] = np.round(copies[:10] / 8) * 8
    copies[10:20] = np.round(copies[10:20] + rng.normal(0, 3, copies[10:20].shape))
    copies[20:] = np.stack([shift(img, 0, -1) for img in copies[20:]])
    copies = np.clip(copies, 0, 255).astype(np.uint8)
    exact = xtr[200:205]  # exact copies belong to data.duplicates, not here
    res = run_data_checks(
        tmp_path,
        write_npz(
            tmp_path,
            "train",
            np.concatenate([xtr, copies, exact]),
            np.r_[ytr, ytr[src], ytr[200:205]],
        ),
        write_npz(tmp_path, "test", xte, yte),
        ids=("data.duplicates", "data.near_duplicates"),
    )
    check = res["data.near_duplicates"]
    m = check.metrics
    assert (m["train_pairs"], m["train_shifted_pairs"], m["test_pairs"]) == (30, 10, 0)
    assert check.status == "warn"  # 60 (+ the exact copies' groups) of 2035 samples
    assert {tuple(sorted(e["rows"])) for e in check.examples} <= {
        (int(s), 2000 + i) for i, s in enumerate(src)
    }
    assert res["data.duplicates"].metrics["train_redundant_rows"] == 5
    assert check.artifacts["images"]["items"][0]["image"].shape == (28, 28)


# --------------------------------------------------------------------------- outliers (D7)


def _corner_spike(img: np.ndarray, value: int, rng: np.random.Generator) -> np.ndarray:
    out = img.copy()
    y, x = rng.integers(0, 3, 2)  # MNIST's corners are blank: an isolated hot pixel
    out[y, x] = value
    return out


def test_d7_mnist_zero_noise_and_spiked_images(tmp_path: Path) -> None:
    xtr, ytr, xte, yte = mnist_subset()
    rng = np.random.default_rng(7)
    x = xtr.copy()
    x[[10, 20, 30]] = 0  # broken decoding
    x[[40, 50]] = rng.integers(0, 256, (2, 28, 28), dtype=np.uint8)  # pure noise
    spiked = np.arange(100, 125)
    x[spiked] = np.stack([_corner_spike(img, 255, rng) for img in x[spiked]])
    res = run_data_checks(
        tmp_path,
        write_npz(tmp_path, "train", x, ytr),
        write_npz(tmp_path, "test", xte, yte),
        ids=("data.outliers",),
    )
    check = res["data.outliers"]
    m = check.metrics
    assert (m["train_all_zero"], m["train_noise"], m["train_spike"]) == (3, 2, 25)
    assert (m["test_all_zero"], m["test_noise"], m["test_spike"]) == (0, 0, 0)
    assert check.status == "warn"
    assert "5 corrupted train images (0.2%): 3 all-zero, 2 noise" in check.message
    assert "25 train images (1.2%) with sensor spikes" in check.message
    flagged = {e["row"]: e["problems"] for e in check.examples if e["problems"]}
    assert {r for r, p in flagged.items() if "all-zero" in p} == {10, 20, 30}
    assert {r for r, p in flagged.items() if "noise" in p} == {40, 50}
    assert check.artifacts["images"]["items"]


def test_d7_digit_images_blank_constant_and_noise(tmp_path: Path) -> None:
    x, y = digits_images()
    xtr, ytr, xte, yte = x[:1400].copy(), y[:1400], x[1400:].copy(), y[1400:]
    rng = np.random.default_rng(8)
    xtr[[1, 2]] = 0
    xtr[3] = 7  # a constant grey image
    xtr[[4, 5, 6]] = rng.integers(0, 17, (3, 8, 8), dtype=np.uint8)
    xte[0] = 0
    res = run_data_checks(
        tmp_path,
        write_npz(tmp_path, "train", xtr, ytr),
        write_npz(tmp_path, "test", xte, yte),
        ids=("data.outliers",),
    )
    m = res["data.outliers"].metrics
    assert (m["train_all_zero"], m["train_constant"], m["train_noise"]) == (2, 1, 3)
    assert m["test_all_zero"] == 1
    assert res["data.outliers"].status == "warn"


def test_d7_unit_error_and_sensor_spike_in_tables(tmp_path: Path) -> None:
    train, test = wine_splits(tmp_path)
    bad = train.copy()
    bad.loc[17, "proline"] *= 1000  # mg/l written as ug/l
    bad.loc[42, "magnesium"] = 50 * train["magnesium"].max()  # a sensor spike
    res = run_data_checks(
        tmp_path,
        write_csv(tmp_path, "train", bad),
        write_csv(tmp_path, "test", test),
        ids=("data.outliers",),
    )
    check = res["data.outliers"]
    assert check.status == "warn"
    assert check.message.startswith("2 train samples (1.4%) far out")
    top = check.examples[:2]
    assert [e["row"] for e in top] == [17, 42]
    assert any("'proline'" in p for p in top[0]["problems"])
    assert any("'magnesium'" in p for p in top[1]["problems"])
    assert top[0]["knn_ratio"] > 100


def test_d7_breast_cancer_unit_errors_via_cli(tmp_path: Path) -> None:
    frame = pd.read_csv(DATA / "breast_cancer.csv")
    frame.loc[[7, 300], "mean_radius"] *= 1000
    csv = write_csv(tmp_path, "bc", frame)
    report = tmp_path / "report"
    recipe = {"data": {"train": str(csv)}, "report": {"dir": str(report)}}
    proc = run_cli("run", str(write_recipe(tmp_path, recipe)), "--quiet", "--only", "data.outliers")
    assert proc.returncode in (0, 1), proc.stderr
    check = check_by_id(read_results(report), "data.outliers")
    assert check["status"] == "warn"
    flagged = {e["row"] for e in check["examples"] if e["problems"]}
    assert flagged == {7, 300}
    assert check["metrics"]["train_feature_spikes"] + check["metrics"]["test_feature_spikes"] == 2


def test_healthy_data_lists_top_ranked_samples_without_warning(tmp_path: Path) -> None:
    res = run_data_checks(tmp_path, DATA / "wine.csv", ids=("data.outliers",))
    check = res["data.outliers"]
    assert check.status == "pass"
    assert len(check.examples) == 20  # the top 10 of each split, for a person to look at
    ratios = [e["knn_ratio"] for e in check.examples if e["split"] == "train"]
    assert ratios == sorted(ratios, reverse=True) and ratios[0] < 50


def test_odd_data_gives_results_not_errors(tmp_path: Path) -> None:
    """NaN cells, colour images (HWC and CHW floats), an all-constant table."""
    frame = pd.read_csv(DATA / "wine.csv")
    frame.loc[[3, 50], "ash"] = np.nan
    frame.loc[7, "proline"] = np.inf
    res = run_data_checks(tmp_path, write_csv(tmp_path, "nan", frame))  # asserts no error
    assert res["data.duplicates"].status == "pass"
    rng = np.random.default_rng(9)
    y = rng.integers(0, 3, 200)
    for name, shape in (("hwc", (200, 16, 16, 3)), ("chw", (200, 3, 16, 16))):
        x = rng.random(shape).astype(np.float32)
        res = run_data_checks(tmp_path, write_npz(tmp_path, name, x, y))
        # uniform random pixels are pure-noise images, all of them
        assert res["data.outliers"].metrics["train_noise"] == 160
    const = pd.DataFrame({"a": [1.0] * 40, "b": [2.0] * 40, "label": [0, 1] * 20})
    res = run_data_checks(tmp_path, write_csv(tmp_path, "const", const))
    assert res["data.label_conflicts"].status == "fail"  # one input, two labels, 40 rows
    assert res["data.near_duplicates"].status == "pass"


def test_mnist_as_a_pixel_table_has_no_feature_spikes(tmp_path: Path) -> None:
    """Kaggle's MNIST CSV (label, pixel0..pixel783): strokes crossing border pixels that are
    blank in most rows are hundreds of robust SDs from the median, in hundreds of rows —
    the pixels' distribution, not outliers. A planted unit error is still found."""
    from nncheck.data.idx import read_idx

    x = read_idx(str(DATA / "mnist" / "train-images-idx3-ubyte.gz"))[:3000].reshape(3000, -1)
    y = read_idx(str(DATA / "mnist" / "train-labels-idx1-ubyte.gz"), "labels")[:3000]
    frame = pd.DataFrame(x.astype(np.int64), columns=[f"pixel{j}" for j in range(784)])
    frame.insert(0, "label", y)
    frame.loc[17, "pixel400"] = 255_000  # a unit error in one row
    csv = write_csv(tmp_path, "mnist_table", frame)
    res = run_data_checks(tmp_path, csv, ids=("data.outliers",))
    check = res["data.outliers"]
    flagged = [(e["split"], e["row"]) for e in check.examples if e["problems"]]
    assert flagged == [("train", 17)], check.message
    assert check.message.startswith("1 train sample (0.042%) far out")
