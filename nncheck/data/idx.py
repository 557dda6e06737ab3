"""MNIST-style IDX files, plain or gzip-compressed.

Parsed with one ``np.frombuffer`` over the whole payload (no per-sample loop), so the
60,000 MNIST training images load in a fraction of a second; the header's shape bounds
what is read, so no file can make nncheck allocate more than it declares. Gzip is recognised by its
magic bytes (1f 8b), not by the file name: downloads are often renamed or decompressed by
a browser while keeping ``.gz``. Every problem is a ``DataError`` that names the file.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib

import numpy as np

from nncheck.data.size_limits import check_inflated_bytes, read_exactly
from nncheck.errors import DataError, cut

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


def read_idx(path: str, role: str = "images") -> np.ndarray:
    """Parse one IDX file into a native-endian array of the shape its header declares.

    ``role`` is ``"images"`` (3 dimensions, e.g. 60000 x 28 x 28) or ``"labels"``
    (1 dimension); a file of the other role or a non-IDX file is an error that states
    the expected and found magic numbers, which is the quickest way to spot swapped
    ``images``/``labels`` paths. The header's shape bounds what is read: a plain file
    that is shorter is refused before anything is allocated, a gzip stream is inflated
    only up to the declared size (a gzip bomb behind a small header stops there), and a
    truncated or corrupt stream is an error rather than a half-read array.
    """
    ndim_expected, magic_expected = _ROLES[role]
    _check_readable(path)
    gz = _is_gzip_file(path)
    try:
        with gzip.open(path, "rb") if gz else open(path, "rb") as fh:
            head = read_exactly(fh, 4)
            if not head:
                raise DataError(f"{path}: file is empty")
            if (
                len(head) < 4
                or head[0] != 0
                or head[1] != 0
                or head[2] not in _IDX_DTYPES
                or head[3] != ndim_expected
            ):
                found = f"0x{int.from_bytes(head, 'big'):08x}" if len(head) == 4 else None
                found_txt = found or f"only {len(head)} bytes"
                gz_named = path.endswith(".gz") and not gz
                prefix = "not a gzip file (despite its .gz name) and " if gz_named else ""
                raise DataError(
                    f"{path}: {prefix}not an IDX {role} file: expected magic"
                    f" 0x{magic_expected:08x} for {role}, found {found_txt}"
                )
            ndim = head[3]
            dims = read_exactly(fh, 4 * ndim)
            if len(dims) < 4 * ndim:
                raise DataError(f"{path}: truncated IDX header ({4 + len(dims)} bytes)")
            shape = tuple(int.from_bytes(dims[4 * i : 4 * i + 4], "big") for i in range(ndim))
            dtype = np.dtype(_IDX_DTYPES[head[2]])
            expected = math.prod(shape) * dtype.itemsize
            header_len = 4 + 4 * ndim
            dims_txt = " x ".join(str(d) for d in shape)
            if not gz:
                _check_plain_size(path, os.path.getsize(path) - header_len, expected, dims_txt)
            else:
                check_inflated_bytes(path, f"the IDX header's {dims_txt}", expected)
            payload = read_exactly(fh, expected)
            if len(payload) < expected:
                raise DataError(
                    f"{path}: IDX file truncated: header says {dims_txt} ({expected} bytes of"
                    f" data), file has {len(payload)}"
                )
            if fh.read(1):
                raise DataError(
                    f"{path}: IDX file has trailing bytes: header says {dims_txt} ({expected}"
                    " bytes of data), the gzip stream inflates to more"
                )
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataError(
            f"{path}: truncated or corrupt gzip file ({cut(str(exc))}); download it again"
        ) from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read file ({cut(exc.strerror or str(exc))})") from None
    arr = np.frombuffer(payload, dtype=dtype).reshape(shape)  # writable: a bytearray
    # IDX stores multi-byte values big-endian; hand out native ones.
    return arr if dtype.byteorder in "=|" else arr.astype(dtype.newbyteorder("="))


def _check_plain_size(path: str, payload: int, expected: int, dims: str) -> None:
    if payload != expected:
        what = "truncated" if payload < expected else "has trailing bytes"
        raise DataError(
            f"{path}: IDX file {what}: header says {dims} ({expected} bytes of data),"
            f" file has {payload}"
        )


def _check_readable(path: str) -> None:
    if not os.path.exists(path):
        raise DataError(f"{path}: file not found")
    if os.path.isdir(path):
        raise DataError(f"{path}: is a directory, expected a file")


def is_idx_name(path: str) -> bool:
    """True for names like ``train-images-idx3-ubyte(.gz)``: used to point users to the
    ``{images:, labels:}`` form when they give a single IDX file."""
    name = os.path.basename(path).lower()
    return "-idx" in name or name.endswith((".idx", ".idx.gz")) or "ubyte" in name


def _is_gzip_file(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(2) == GZIP_MAGIC
    except OSError as exc:
        raise DataError(f"{path}: cannot read file ({cut(exc.strerror or str(exc))})") from None
