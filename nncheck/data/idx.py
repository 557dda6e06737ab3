"""MNIST-style IDX files, plain or gzip-compressed.

Parsed with one ``np.frombuffer`` over the whole payload (no per-sample loop), so the
60,000 MNIST training images load in a fraction of a second. Gzip is recognised by its
magic bytes (1f 8b), not by the file name: downloads are often renamed or decompressed by
a browser while keeping ``.gz``. Every problem is a ``DataError`` that names the file.
"""

from __future__ import annotations

import gzip
import os
import zlib

import numpy as np

from nncheck.errors import DataError

GZIP_MAGIC = b"\x1f\x8b"

# IDX type byte -> big-endian numpy dtype (http://yann.lecun.com/exdb/mnist/).
_IDX_DTYPES: dict[int, str] = {
    0x08: "u1",
    0x09: "i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}

# What each role expects: (number of dimensions, magic number of the MNIST files).
_ROLES: dict[str, tuple[int, int]] = {
    "images": (3, 0x00000803),
    "labels": (1, 0x00000801),
}


def read_bytes(path: str) -> bytes:
    """Read a file, gunzipping it when it starts with the gzip magic bytes.

    A truncated or corrupt gzip stream is a ``DataError`` rather than a half-read array:
    a partial download must not look like a smaller dataset.
    """
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, expected a file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read file ({exc.strerror or exc})") from None
    if not raw:
        raise DataError(f"{path}: file is empty")
    if raw[:2] != GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataError(
            f"{path}: truncated or corrupt gzip file ({exc}); download it again"
        ) from None


def read_idx(path: str, role: str = "images") -> np.ndarray:
    """Parse one IDX file into a native-endian array of the shape its header declares.

    ``role`` is ``"images"`` (3 dimensions, e.g. 60000 x 28 x 28) or ``"labels"``
    (1 dimension); a file of the other role or a non-IDX file is an error that states
    the expected and found magic numbers, which is the quickest way to spot swapped
    ``images``/``labels`` paths.
    """
    ndim_expected, magic_expected = _ROLES[role]
    raw = read_bytes(path)
    found = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else None
    type_code = raw[2] if len(raw) >= 4 else -1
    ndim = raw[3] if len(raw) >= 4 else -1
    if (
        found is None
        or raw[0] != 0
        or raw[1] != 0
        or type_code not in _IDX_DTYPES
        or ndim != ndim_expected
    ):
        found_txt = f"0x{found:08x}" if found is not None else f"only {len(raw)} bytes"
        gz_named = path.endswith(".gz") and not _is_gzip_file(path)
        prefix = "not a gzip file (despite its .gz name) and " if gz_named else ""
        raise DataError(
            f"{path}: {prefix}not an IDX {role} file: expected magic 0x{magic_expected:08x}"
            f" for {role}, found {found_txt}"
        )
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise DataError(f"{path}: truncated IDX header ({len(raw)} bytes)")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[type_code])
    expected_bytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    payload = len(raw) - header_len
    if payload != expected_bytes:
        what = "truncated" if payload < expected_bytes else "has trailing bytes"
        dims = " x ".join(str(s) for s in shape)
        raise DataError(
            f"{path}: IDX file {what}: header says {dims} ({expected_bytes} bytes of data),"
            f" file has {payload}"
        )
    arr = np.frombuffer(raw, dtype=dtype, offset=header_len).reshape(shape)
    # frombuffer over bytes is read-only and may be big-endian; hand out a normal array.
    return arr.astype(dtype.newbyteorder("="), copy=True)


def is_idx_name(path: str) -> bool:
    """True for names like ``train-images-idx3-ubyte(.gz)``: used to point users to the
    ``{images:, labels:}`` form when they give a single IDX file."""
    name = os.path.basename(path).lower()
    return "-idx" in name or name.endswith((".idx", ".idx.gz")) or "ubyte" in name


def _is_gzip_file(path: str) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == GZIP_MAGIC
