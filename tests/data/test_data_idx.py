"""IDX reader: round trips, gzip detection by magic bytes, and every broken-file error."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from nncheck.data.idx import read_idx
from nncheck.errors import DataError


def _images(n: int = 5) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(n, 28, 28), dtype=np.uint8)


@pytest.mark.parametrize("gz", [False, True])
def test_round_trip_images_and_labels(write_idx, gz):
    imgs = _images()
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    suffix = ".gz" if gz else ""
    x = read_idx(str(write_idx(f"imgs-idx3-ubyte{suffix}", imgs, gz=gz)), "images")
    y = read_idx(str(write_idx(f"labels-idx1-ubyte{suffix}", labels, gz=gz)), "labels")
    assert x.dtype == np.uint8 and x.shape == (5, 28, 28)
    np.testing.assert_array_equal(x, imgs)
    np.testing.assert_array_equal(y, labels)
    assert x.flags.writeable


def test_multibyte_types_come_back_native_endian(write_idx):
    imgs = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4) / 7
    x = read_idx(str(write_idx("f-idx3", imgs)), "images")
    assert x.dtype == np.float32 and x.dtype.isnative
    np.testing.assert_array_equal(x, imgs)


def test_gzip_detected_by_magic_not_name(write_idx, tmp_path):
    imgs = _images()
    # gzip content without .gz in the name, and plain content named .gz: both load.
    np.testing.assert_array_equal(read_idx(str(write_idx("a-idx3-ubyte", imgs, gz=True))), imgs)
    np.testing.assert_array_equal(read_idx(str(write_idx("b-idx3-ubyte.gz", imgs, gz=False))), imgs)


def test_truncated_gzip(write_idx, tmp_path):
    path = write_idx("t-idx3-ubyte.gz", _images(), gz=True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"t-idx3-ubyte\.gz: truncated or corrupt gzip"):
        read_idx(str(path))


def test_named_gz_but_not_gzip_nor_idx(tmp_path):
    path = tmp_path / "page-idx3-ubyte.gz"
    path.write_bytes(b"<html>404 not found</html>")
    with pytest.raises(DataError) as err:
        read_idx(str(path), "images")
    msg = str(err.value)
    assert "page-idx3-ubyte.gz" in msg and "not a gzip file" in msg
    assert "expected magic 0x00000803" in msg and "found 0x3c68746d" in msg


def test_wrong_magic_labels_given_as_images(write_idx):
    path = write_idx("swapped-idx1-ubyte", np.zeros(5, dtype=np.uint8))
    with pytest.raises(DataError) as err:
        read_idx(str(path), "images")
    assert "swapped-idx1-ubyte" in str(err.value)
    assert "expected magic 0x00000803 for images, found 0x00000801" in str(err.value)


def test_wrong_magic_images_given_as_labels(write_idx):
    path = write_idx("imgs-idx3-ubyte.gz", _images(), gz=True)
    with pytest.raises(DataError, match=r"expected magic 0x00000801 for labels, found 0x00000803"):
        read_idx(str(path), "labels")


def test_size_mismatch_truncated_and_trailing(tmp_path, idx_bytes):
    data = idx_bytes(_images(3))
    short = tmp_path / "short-idx3-ubyte.gz"
    short.write_bytes(gzip.compress(data[:-100]))
    with pytest.raises(DataError) as err:
        read_idx(str(short))
    assert "short-idx3-ubyte.gz" in str(err.value) and "truncated" in str(err.value)
    assert "3 x 28 x 28" in str(err.value)
    long = tmp_path / "long-idx3-ubyte"
    long.write_bytes(data + b"\0")
    with pytest.raises(DataError, match=r"long-idx3-ubyte: IDX file has trailing bytes"):
        read_idx(str(long))


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(DataError, match=r"nothere-idx3: file not found"):
        read_idx(str(tmp_path / "nothere-idx3"))
    empty = tmp_path / "empty-idx1"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match=r"empty-idx1: file is empty"):
        read_idx(str(empty), "labels")
