"""Bad data through the CLI: exit 2, the file (and line/column) named, no traceback."""

from __future__ import annotations

import gzip
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT, WINE, run_cli, write_recipe

MNIST = ROOT / "data" / "mnist"


def _idx_images(n: int, rows: int = 4, cols: int = 4, magic: int = 0x803) -> bytes:
    pixels = np.arange(n * rows * cols, dtype=np.uint8).tobytes()
    return struct.pack(">IIII", magic, n, rows, cols) + pixels


def _idx_labels(n: int, magic: int = 0x801) -> bytes:
    return struct.pack(">II", magic, n) + (np.arange(n) % 3).astype(np.uint8).tobytes()


def _run_pair(tmp_path: Path, images: bytes, labels: bytes, gz: bool = False) -> tuple:
    suffix = ".gz" if gz else ""
    img, lab = tmp_path / f"img-idx3-ubyte{suffix}", tmp_path / f"lab-idx1-ubyte{suffix}"
    img.write_bytes(gzip.compress(images) if gz else images)
    lab.write_bytes(gzip.compress(labels) if gz else labels)
    recipe = write_recipe(tmp_path, {"data": {"train": {"images": img.name, "labels": lab.name}}})
    return run_cli("run", str(recipe)), img, lab


def _assert_exit2(proc, *needles: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    for needle in needles:
        assert needle in proc.stderr, f"{needle!r} not in {proc.stderr!r}"


def test_non_numeric_feature_column_names_column_and_line(tmp_path: Path) -> None:
    lines = WINE.read_text().splitlines()
    header = lines[0].split(",")
    row = lines[5].split(",")
    row[header.index("ash")] = "abc"
    lines[5] = ",".join(row)
    csv = tmp_path / "wine_bad.csv"
    csv.write_text("\n".join(lines) + "\n")
    proc = run_cli("run", str(write_recipe(tmp_path, {"data": {"train": csv.name}})))
    _assert_exit2(proc, "wine_bad.csv", "'ash'", "line 6", "'abc'")


def test_missing_target_column_lists_the_closest(tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path, {"data": {"train": str(WINE), "target": "lable"}})
    _assert_exit2(run_cli("run", str(recipe)), "wine.csv", "'lable'", "label")


def test_wrong_idx_magic(tmp_path: Path) -> None:
    proc, img, _ = _run_pair(tmp_path, _idx_images(6, magic=0x801), _idx_labels(6))
    _assert_exit2(proc, img.name, "magic")


def test_truncated_idx(tmp_path: Path) -> None:
    proc, img, _ = _run_pair(tmp_path, _idx_images(6)[:-10], _idx_labels(6))
    _assert_exit2(proc, img.name)


def test_image_and_label_counts_differ(tmp_path: Path) -> None:
    proc, _, _ = _run_pair(tmp_path, _idx_images(6), _idx_labels(5), gz=True)
    _assert_exit2(proc, "6 images", "5 labels")


def test_truncated_gzip(tmp_path: Path) -> None:
    whole = (MNIST / "t10k-labels-idx1-ubyte.gz").read_bytes()
    bad = tmp_path / "t10k-labels-idx1-ubyte.gz"
    bad.write_bytes(whole[: len(whole) // 2])
    recipe = write_recipe(
        tmp_path,
        {
            "data": {
                "train": {"images": str(MNIST / "t10k-images-idx3-ubyte.gz"), "labels": bad.name}
            }
        },
    )
    _assert_exit2(run_cli("run", str(recipe)), bad.name)


def test_file_named_gz_that_is_not_gzip(tmp_path: Path) -> None:
    proc, _, lab = _run_pair(tmp_path, _idx_images(6), _idx_labels(6))
    fake = tmp_path / "fake-idx1-ubyte.gz"
    fake.write_bytes(b"this is not gzip data at all")
    recipe = write_recipe(
        tmp_path,
        {"data": {"train": {"images": "img-idx3-ubyte", "labels": fake.name}}},
        name="fake.yaml",
    )
    proc = run_cli("run", str(recipe))
    _assert_exit2(proc, fake.name)


@pytest.mark.parametrize("content", ["", "a,b,label\n"])
def test_empty_csv(tmp_path: Path, content: str) -> None:
    csv = tmp_path / "empty.csv"
    csv.write_text(content)
    proc = run_cli("run", str(write_recipe(tmp_path, {"data": {"train": csv.name}})))
    _assert_exit2(proc, "empty.csv")


def test_npz_that_needs_pickle(tmp_path: Path) -> None:
    path = tmp_path / "objects.npz"
    np.savez(path, x=np.array([[1, 2], [3, 4]], dtype=object), y=np.array([0, 1]))
    proc = run_cli("run", str(write_recipe(tmp_path, {"data": {"train": path.name}})))
    _assert_exit2(proc, "objects.npz", "pickle")


def test_torch_factory_module_not_found_is_a_clear_exit_2(tmp_path: Path) -> None:
    pytest.importorskip("torch", reason="the torch engine needs the optional torch extra")
    recipe = write_recipe(
        tmp_path,
        {"data": {"train": str(WINE)}, "model": {"engine": "torch", "factory": "m:build"}},
    )
    _assert_exit2(run_cli("run", str(recipe)), "model.factory", "cannot find module 'm'")


def test_torch_engine_without_torch_says_how_to_install_it(tmp_path: Path) -> None:
    """Where torch is not installed, `engine: torch` is exit 2 naming the extra. Runs with or
    without torch: a `torch` package that fails to import is put first on the path."""
    blocker = tmp_path / "no_torch" / "torch"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('No module named torch')\n")
    recipe = write_recipe(
        tmp_path,
        {"data": {"train": str(WINE)}, "model": {"engine": "torch", "factory": "m:build"}},
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker.parent), str(ROOT)])}
    proc = subprocess.run(
        [sys.executable, "-m", "nncheck", "run", str(recipe)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    _assert_exit2(proc, "model.engine", "nncheck[torch]")
