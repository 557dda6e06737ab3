"""What a data file may make nncheck allocate, checked before anything is allocated.

A data file states its size in places that can lie: an .npy header's shape (NumPy allocates
``shape x itemsize`` bytes before reading a byte of data), an IDX header, a zip directory,
or nothing at all (a gzip stream's size is known only once it has been inflated, and
8 GiB of zeros fits in 8 MB). Each reader asks here first:

- an uncompressed array (.npy, a stored .npz member) must not claim more bytes than the
  file holds: a truncated file or a forged header is an error naming both sizes;
- compressed data (a deflated .npz member, gzip IDX, .csv.gz/.bz2/.xz/.zst/.zip) may
  inflate to at most ``MAX_INFLATED_BYTES``; streams are inflated in bounded chunks to
  measure them, so measuring a bomb costs no memory.

Uncompressed files are read as they are: their size is on disk for everyone to see.
"""

from __future__ import annotations

import lzma
import math
import os
import zipfile
import zlib
from collections.abc import Iterator
from typing import IO, Any

import numpy as np

from nncheck.errors import DataError, cut, shown

# The most bytes one compressed source may inflate to (decompress it yourself to go past).
MAX_INFLATED_BYTES = 4 << 30
_CHUNK = 1 << 20
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"


def size_text(n: int) -> str:
    """Bytes for people: 47,040,000 bytes -> '44.9 MiB'."""
    for unit, shift in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):,.1f} {unit}"
    return f"{n} bytes"


def limit_text() -> str:
    return (
        f"the {size_text(MAX_INFLATED_BYTES)} nncheck inflates from one compressed file;"
        " decompress it to read it as it is"
    )


def check_inflated_bytes(path: str, what: str, needed: int) -> None:
    """Refuse compressed data that declares it inflates past MAX_INFLATED_BYTES."""
    if needed > MAX_INFLATED_BYTES:
        raise DataError(f"{path}: {what} inflates to {size_text(needed)}, more than {limit_text()}")


def npy_header(fh: IO[bytes], path: str, what: str) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) from an .npy header at the stream's position (left after the header).

    Raises DataError for a file that is no .npy, a header NumPy refuses, or a dtype that
    needs pickle (never loaded: unpickling runs arbitrary code).
    """
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = fmt.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, _, dtype = fmt.read_array_header_2_0(fh)
        else:
            raise DataError(
                f"{path}: {what} is an .npy of format {version[0]}.{version[1]}, which holds"
                " structured (named-field) data; save a plain numeric array"
            )
    except (ValueError, EOFError, OSError, zlib.error, lzma.LZMAError) as exc:
        raise DataError(f"{path}: {what} is not a valid .npy array ({cut(str(exc))})") from None
    if dtype.hasobject:
        raise DataError(pickle_message(path, what))
    return tuple(int(s) for s in shape), dtype


def array_bytes(shape: tuple[int, ...], dtype: np.dtype) -> int:
    return math.prod(shape) * dtype.itemsize


def check_npy_file(path: str) -> None:
    """An .npy file whose header claims no more data than the file holds."""
    with open(path, "rb") as fh:
        shape, dtype = npy_header(fh, path, "the array")
        available = os.fstat(fh.fileno()).st_size - fh.tell()
    needed = array_bytes(shape, dtype)
    if needed > available:
        raise DataError(
            f"{path}: the .npy header says shape {shape} of {dtype} ({size_text(needed)}),"
            f" but the file holds {size_text(available)} of data: truncated or corrupt"
        )


def check_npz_member(archive: zipfile.ZipFile, path: str, key: str) -> None:
    """An .npz member whose header fits its zip entry, and a compressed one the limit."""
    name = key if key in archive.NameToInfo else f"{key}.npy"
    info = archive.getinfo(name)
    what = f"key {shown(key)}"
    with archive.open(info) as fh:
        shape, dtype = npy_header(fh, path, what)
        header = fh.tell()
    needed = array_bytes(shape, dtype)
    declared = info.file_size - header
    if info.compress_type == zipfile.ZIP_STORED:
        declared = min(declared, os.path.getsize(path))
    if needed > declared:
        raise DataError(
            f"{path}: {what} says shape {shape} of {dtype} ({size_text(needed)}), but its"
            f" entry holds {size_text(max(declared, 0))}: truncated or corrupt"
        )
    if info.compress_type != zipfile.ZIP_STORED:
        check_inflated_bytes(path, f"{what} (shape {shape})", needed)


def pickle_message(path: str, what: str) -> str:
    return (
        f"{path}: {what} holds Python objects and needs pickle, which nncheck never loads"
        " (unpickling can run arbitrary code); save numbers or fixed-width strings instead"
    )


def read_exactly(fh: IO[bytes], n: int) -> bytearray:
    """Read ``n`` bytes (fewer only at the end of the stream) into one buffer, chunk by
    chunk. The caller has bounded ``n`` (by a header checked against the file or the
    limit), so this never allocates more than was agreed."""
    buf = bytearray(n)
    got = 0
    with memoryview(buf) as view:
        while got < n:
            k = fh.readinto(view[got : got + min(_CHUNK, n - got)])  # type: ignore[attr-defined]
            if not k:
                break
            got += k
    return buf if got == n else buf[:got]


def _chunks(fh: IO[bytes]) -> Iterator[int]:
    while True:
        chunk = fh.read(_CHUNK)
        if not chunk:
            return
        yield len(chunk)


def check_inflated_size(path: str, opener: Any, kind: str) -> None:
    """Inflate ``opener(path)`` (a binary stream) in chunks, counting, and refuse a stream
    past MAX_INFLATED_BYTES or one the decompressor rejects (garbage, truncation)."""
    total = 0
    try:
        with opener(path) as fh:
            for n in _chunks(fh):
                total += n
                if total > MAX_INFLATED_BYTES:
                    raise DataError(
                        f"{path}: inflates to more than {size_text(MAX_INFLATED_BYTES)}"
                        f" ({kind}), more than {limit_text()}"
                    )
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - each decompressor has its own error types
        raise DataError(
            f"{path}: not a valid {kind} file ({cut(str(exc) or type(exc).__name__)})"
        ) from None
