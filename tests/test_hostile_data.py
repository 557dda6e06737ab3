"""Broken, odd and hostile data files: each is exit 2 with one short message naming the
file (and the column, key or size), or loads as it should; never a traceback, a hang or an
allocation of what a forged header claims. Bombs are built cheaply: a crafted header, or
gzip members of compressed zeros repeated (8 GiB inflated from 8 MB on disk)."""

from __future__ import annotations

import gzip
import io
import os
import struct
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nncheck.data import size_limits
from nncheck.data.loaders import load_source
from nncheck.errors import DataError
from tests.conftest import ROOT, WINE, read_results, run_cli, write_recipe
from tests.usage_errors import assert_exit2

DIABETES = ROOT / "data" / "diabetes.csv"


def _run(tmp_path: Path, train, timeout: float = 120, **data) -> tuple:
    recipe = {"data": {"train": train, **data}, "report": {"dir": str(tmp_path / "report")}}
    start = time.perf_counter()
    proc = run_cli("run", str(write_recipe(tmp_path, recipe)), "--quiet", timeout=timeout)
    return proc, time.perf_counter() - start


def _wine() -> tuple[np.ndarray, np.ndarray]:
    df = pd.read_csv(WINE)
    return df.drop(columns="label").to_numpy(), df["label"].to_numpy()


def gzip_bomb(path: Path, inflated: int, prefix: bytes = b"") -> Path:
    """A gzip file that inflates to ``len(prefix) + inflated`` bytes (zeros after the
    prefix), written as repeated members of 16 MiB of compressed zeros: ~1 kB on disk per
    MiB inflated, in milliseconds."""
    block = 16 << 20
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    member = c.compress(bytes(block)) + c.flush()
    with open(path, "wb") as fh:
        fh.write(gzip.compress(prefix))
        for _ in range(inflated // block):
            fh.write(member)
    return path


# --------------------------------------------------------------------------- files


def test_symlink_loop(tmp_path: Path) -> None:
    os.symlink(tmp_path / "b.csv", tmp_path / "a.csv")
    os.symlink(tmp_path / "a.csv", tmp_path / "b.csv")
    proc, _ = _run(tmp_path, "a.csv")
    assert_exit2(proc, "data.train", "symbolic link loop", "a.csv")


@pytest.mark.parametrize("members", [0, 2])
def test_csv_zip_needs_exactly_one_member(tmp_path: Path, members: int) -> None:
    path = tmp_path / "wine.csv.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(members):
            archive.write(WINE, f"part{i}.csv")
    proc, _ = _run(tmp_path, path.name)
    assert_exit2(proc, "wine.csv.zip", "exactly one CSV file", f"holds {members}")


@pytest.mark.parametrize("suffix", [".csv.xz", ".csv.gz", ".csv.bz2", ".csv.zip"])
def test_garbage_with_a_compressed_name(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"garbage{suffix}"
    path.write_bytes(np.random.default_rng(0).bytes(4000))
    proc, _ = _run(tmp_path, path.name)
    assert_exit2(proc, path.name, "not a valid")


def test_csv_zst_without_zstandard_says_how_to_install_it(tmp_path: Path) -> None:
    import importlib.util

    if importlib.util.find_spec("zstandard") is not None:
        pytest.skip("zstandard is installed here; the message is for when it is not")
    path = tmp_path / "wine.csv.zst"
    path.write_bytes(b"\x28\xb5\x2f\xfd" + bytes(64))
    proc, _ = _run(tmp_path, path.name)
    assert_exit2(proc, "wine.csv.zst", "pip install zstandard")


@pytest.mark.parametrize("kind", ["npy", "npz"])
def test_big_endian_arrays_load_like_native_ones(tmp_path: Path, kind: str) -> None:
    x, y = _wine()
    if kind == "npy":
        np.save(tmp_path / "be.npy", np.column_stack([x, y]).astype(">f8"))
        native = tmp_path / "le.npy"
        np.save(native, np.column_stack([x, y]).astype("<f8"))
    else:
        np.savez(tmp_path / "be.npz", x=x.astype(">f8"), y=y.astype(">i8"))
        native = tmp_path / "le.npz"
        np.savez(native, x=x.astype("<f8"), y=y.astype("<i8"))
    a = load_source(str(tmp_path / f"be.{kind}"))
    b = load_source(str(native))
    assert a.x.dtype == b.x.dtype and a.x.dtype.byteorder in "=|"
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y_raw, b.y_raw)
    proc, _ = _run(tmp_path, f"be.{kind}")
    assert proc.returncode == 0, proc.stderr
    assert read_results(tmp_path / "report")["summary"]["error"] == 0


@pytest.mark.parametrize("role", ["target", "feature"])
def test_list_valued_parquet_column(tmp_path: Path, role: str) -> None:
    pytest.importorskip("pyarrow")
    n = 60
    df = pd.DataFrame({"a": np.arange(n, dtype=float), "label": np.arange(n) % 3})
    df["nested"] = [np.array([i, i + 1]) for i in range(n)]
    path = tmp_path / "nested.parquet"
    df.to_parquet(path)
    target = "nested" if role == "target" else "label"
    proc, _ = _run(tmp_path, path.name, target=target)
    assert_exit2(proc, "nested.parquet", f"{role} column 'nested'", "lists or arrays", "row 1")


def test_list_valued_second_annotation(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    df = pd.DataFrame({"a": np.arange(60.0), "label": np.arange(60) % 3})
    df["b"] = [[1, 2]] * 60
    df.to_parquet(tmp_path / "t.parquet")
    proc, _ = _run(tmp_path, "t.parquet", target="label", second_annotation="b")
    assert_exit2(proc, "second_annotation column 'b'", "lists or arrays")


@pytest.mark.parametrize("kind", ["csv", "npz", "npy"])
def test_zero_feature_columns(tmp_path: Path, kind: str) -> None:
    y = np.arange(600) % 3
    if kind == "csv":
        pd.DataFrame({"label": y}).to_csv(tmp_path / "d.csv", index=False)
    elif kind == "npz":
        np.savez(tmp_path / "d.npz", x=np.zeros((600, 0)), y=y)
    else:
        np.save(tmp_path / "d.npy", y[:, None].astype(float))
    proc, _ = _run(tmp_path, f"d.{kind}")
    assert_exit2(proc, f"d.{kind}", "no feature")


def test_huge_bad_csv_cell_is_cut_in_the_message(tmp_path: Path) -> None:
    lines = WINE.read_text().splitlines()
    row = lines[3].split(",")
    row[1] = "x" * 300_000
    lines[3] = ",".join(row)
    (tmp_path / "wide.csv").write_text("\n".join(lines) + "\n")
    proc, _ = _run(tmp_path, "wide.csv")
    # Issue 12: a word among numbers is a missing value (data.missing_values fails), and the
    # word is cut wherever it is shown.
    assert proc.returncode == 1, proc.stderr
    assert "x" * 100 not in proc.stdout + proc.stderr


def test_huge_column_name_is_cut_in_the_message(tmp_path: Path) -> None:
    (tmp_path / "n.csv").write_text("a,label\n1,0\n2,1\n3,0\n")
    proc, _ = _run(tmp_path, "n.csv", target="y" * 100_000)
    assert_exit2(proc, "n.csv", "target column", "100,002 characters", max_chars=400)


# --------------------------------------------------------------------------- allocation bombs


def _npy_header(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": descr, "fortran_order": False, "shape": shape}
    )
    return buf.getvalue()  # magic string included


def test_npy_header_claiming_terabytes(tmp_path: Path) -> None:
    path = tmp_path / "bomb.npy"
    path.write_bytes(_npy_header((10**12, 14)) + bytes(1000))
    proc, seconds = _run(tmp_path, path.name)
    assert_exit2(proc, "bomb.npy", "(1000000000000, 14)", "TiB", "1000 bytes", "truncated")
    assert seconds < 60


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_npz_member_header_claiming_terabytes(tmp_path: Path, compression: int) -> None:
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", compression) as archive:
        archive.writestr("x.npy", _npy_header((10**12, 13)) + bytes(800))
        archive.writestr("y.npy", _npy_header((100,), "<i8") + bytes(800))
    proc, _ = _run(tmp_path, path.name)
    assert_exit2(proc, "bomb.npz", "key 'x'", "(1000000000000, 13)", "TiB", "truncated")


def test_idx_gzip_bomb_behind_a_small_header(tmp_path: Path) -> None:
    # The header says 10 images of 28 x 28; the stream inflates to 8 GiB of zeros.
    header = struct.pack(">IIII", 0x803, 10, 28, 28)
    images = gzip_bomb(tmp_path / "bomb-idx3-ubyte.gz", 8 << 30, prefix=header)
    assert images.stat().st_size < 10 << 20
    labels = tmp_path / "l-idx1-ubyte.gz"
    labels.write_bytes(gzip.compress(struct.pack(">II", 0x801, 10) + bytes(10)))
    proc, seconds = _run(tmp_path, {"images": images.name, "labels": labels.name})
    assert_exit2(proc, "bomb-idx3-ubyte.gz", "trailing bytes", "10 x 28 x 28")
    assert seconds < 60


def test_idx_header_claiming_terabytes(tmp_path: Path) -> None:
    header = struct.pack(">IIII", 0x803, 2**31, 2**16, 2**16)
    plain = tmp_path / "huge-idx3-ubyte"
    plain.write_bytes(header + bytes(100))
    with pytest.raises(DataError, match=r"huge-idx3-ubyte: IDX file truncated"):
        load_source(_pair(tmp_path, plain))
    packed = tmp_path / "huge-idx3-ubyte.gz"
    packed.write_bytes(gzip.compress(header + bytes(100)))
    with pytest.raises(DataError, match=r"huge-idx3-ubyte.gz: the IDX header.*TiB, more than"):
        load_source(_pair(tmp_path, packed))


def _pair(tmp_path: Path, images: Path):
    from nncheck.recipe.schema import PairSource

    labels = tmp_path / "l-idx1-ubyte"
    labels.write_bytes(struct.pack(">II", 0x801, 1) + bytes(1))
    return PairSource(images=str(images), labels=str(labels))


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch) -> int:
    """The inflation limit lowered to 64 MiB, so a bomb past it is cheap to test."""
    monkeypatch.setattr(size_limits, "MAX_INFLATED_BYTES", 64 << 20)
    return 64 << 20


def test_csv_gzip_bomb_is_measured_in_chunks_and_refused(tmp_path: Path, small_limit: int) -> None:
    path = gzip_bomb(tmp_path / "bomb.csv.gz", 8 << 30, prefix=b"a,label\n")
    start = time.perf_counter()
    with pytest.raises(DataError, match=r"bomb.csv.gz: inflates to more than 64.0 MiB"):
        load_source(str(path))
    assert time.perf_counter() - start < 30


def test_compressed_npz_member_past_the_limit(tmp_path: Path, small_limit: int) -> None:
    path = tmp_path / "big.npz"
    np.savez_compressed(path, x=np.zeros((9000, 1000)), y=np.zeros(9000))  # 72 MB of zeros
    with pytest.raises(DataError, match=r"big.npz: key 'x' \(shape \(9000, 1000\)\) inflates"):
        load_source(str(path))


def test_under_the_limit_compressed_data_loads(tmp_path: Path, small_limit: int) -> None:
    x, y = _wine()
    np.savez_compressed(tmp_path / "w.npz", x=x, y=y)
    pd.read_csv(WINE).to_csv(tmp_path / "w.csv.gz", index=False)
    assert load_source(str(tmp_path / "w.npz")).x.shape == x.shape
    table = load_source(str(tmp_path / "w.csv.gz"))
    assert (len(table), len(table.feature_names or ())) == x.shape


@pytest.mark.slow
def test_csv_gzip_bomb_of_8_gib_through_the_cli(tmp_path: Path) -> None:
    """The real limit: inflating 4 GiB to find out takes ~10 s on one core."""
    path = gzip_bomb(tmp_path / "bomb.csv.gz", 8 << 30, prefix=b"a,label\n")
    proc, _ = _run(tmp_path, path.name, timeout=300)
    assert_exit2(proc, "bomb.csv.gz", "inflates to more than 4.0 GiB")


# --------------------------------------------------------------------------- extreme values


def _wine_with(tmp_path: Path, column: str, values) -> Path:
    df = pd.read_csv(WINE)
    df[column] = values
    path = tmp_path / "extreme.csv"
    df.to_csv(path, index=False)
    return path


def _huge(n: int) -> np.ndarray:
    v = np.full(n, 2.3)
    v[3], v[7] = 1e308, -1e308
    return v


@pytest.mark.parametrize(
    "values, peak",
    [
        (_huge, "1e+308"),  # the sum for the mean overflows
        # the squares for the std (shuffled: values growing with the row order would be
        # an identifier column, left out of the features)
        (
            lambda n: np.random.default_rng(0).permutation(np.linspace(1.0, 2.0, n)) * 1e300,
            "2e+300",
        ),
        (lambda n: np.r_[1e39, np.ones(n - 1)], "1e+39"),  # finite as float64, not float32
    ],
    ids=["plus-minus-1e308", "std-overflow", "beyond-float32"],
)
def test_finite_values_that_overflow_fail_integrity_not_pass(
    tmp_path: Path, values, peak: str
) -> None:
    n = len(pd.read_csv(WINE))
    path = _wine_with(tmp_path, "ash", values(n))
    proc, _ = _run(tmp_path, path.name, target="label")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    results = read_results(tmp_path / "report")
    assert results["verdict"] != "pass"
    integrity = next(c for c in results["checks"] if c["id"] == "data.integrity")
    assert integrity["status"] == "fail"
    assert "'ash'" in integrity["message"] and peak in integrity["message"]
    assert "float32" in integrity["message"]
    # the neighbour checks work on the raw rows: they must not crash on them either
    crashed = [c["id"] for c in results["checks"] if c["status"] == "error"]
    assert crashed == [], crashed
    assert "RuntimeWarning" not in proc.stderr, proc.stderr


def test_a_regression_target_near_1e32_gives_verdicts_not_crashes(tmp_path: Path) -> None:
    # activations ~1e32 that differ in their last digits: no 40 distinct histogram edges
    df = pd.read_csv(DIABETES)
    target = df.columns[-1]
    df[target] = 1e17 + df[target]
    df.loc[:4, target] = 1e17 * 3
    path = tmp_path / "huge_target.csv"
    df.to_csv(path, index=False)
    proc, _ = _run(tmp_path, path.name, target=target, task="regression")
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    results = read_results(tmp_path / "report")
    crashed = [c["id"] for c in results["checks"] if c["status"] == "error"]
    assert crashed == [], crashed


@pytest.mark.parametrize(
    "kind",
    ["csv", "npz"],
)
def test_int64_near_2_62_loads_and_says_what_floats_lose(tmp_path: Path, kind: str) -> None:
    x, y = _wine()
    ids = (2**62 + np.arange(len(y))).astype(np.int64)
    if kind == "csv":
        path = _wine_with(tmp_path, "ash", ids)
    else:
        x = x.astype(np.int64)
        x[:, 2] = ids
        path = tmp_path / "extreme.npz"
        np.savez(path, x=x, y=y)
    proc, _ = _run(tmp_path, path.name)
    assert proc.returncode in (0, 1), proc.stderr
    results = read_results(tmp_path / "report")
    assert results["summary"]["error"] == 0
    notes = " ".join(results["dataset"]["notes"])
    assert "not exact as floats" in notes and "178 distinct values become 1" in notes
