"""Shared fixtures for the data-loading tests: the shared real datasets and an IDX writer."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DATASETS = REPO_ROOT / "data"  # bundled real datasets (data/README.md)

_IDX_TYPE = {np.dtype("uint8"): 0x08, np.dtype("int32"): 0x0C, np.dtype("float32"): 0x0D}


def _idx_bytes(arr: np.ndarray) -> bytes:
    """Encode an array as an IDX file (big-endian header and payload)."""
    arr = np.asarray(arr)
    head = bytes([0, 0, _IDX_TYPE[arr.dtype], arr.ndim])
    head += b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    return head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


@pytest.fixture
def idx_bytes() -> Callable[[np.ndarray], bytes]:
    """idx_bytes(array) -> the bytes of an IDX file holding it."""
    return _idx_bytes


@pytest.fixture
def write_idx(tmp_path: Path) -> Callable[..., Path]:
    """write_idx(name, array, gz=False) -> path of an IDX file in tmp_path."""

    def _write(name: str, arr: np.ndarray, gz: bool = False) -> Path:
        data = _idx_bytes(arr)
        path = tmp_path / name
        path.write_bytes(gzip.compress(data) if gz else data)
        return path

    return _write


@pytest.fixture
def datasets() -> Path:
    """The bundled real datasets (data/ in the repository; data/README.md)."""
    return DATASETS
