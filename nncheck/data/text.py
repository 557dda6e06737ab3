"""Text files for character-level language models: a built-in character tokenizer.

The vocabulary is every distinct character of the file (sorted by code point, so the same
file gives the same ids everywhere); the text becomes consecutive blocks of
``block_size + 1`` ids, each block overlapping the next by one id, so that a block's inputs
are ``block[:-1]`` and its next-token targets ``block[1:]`` and every character of the
file is a target once. Vectorized: the text is decoded once into code points and mapped to
ids with ``np.unique``; no Python loop runs over characters.
"""

from __future__ import annotations

import numpy as np

from nncheck.errors import DataError

# A text file larger than this is not read whole (the out-of-core path is for arrays).
MAX_TEXT_BYTES = 512 * 2**20


def read_text_blocks(path: str, block_size: int) -> tuple[np.ndarray, tuple[str, ...], list[str]]:
    """(blocks (n, block_size + 1) int32, vocabulary, notes) of a UTF-8 (or Latin-1) file."""
    import os

    if block_size < 1:
        raise DataError(f"{path}: data.block_size must be at least 1, got {block_size}")
    size = os.path.getsize(path)
    if size > MAX_TEXT_BYTES:
        raise DataError(
            f"{path}: {size / 2**20:.0f} MiB of text; at most {MAX_TEXT_BYTES // 2**20} MiB"
            " is read into memory"
        )
    with open(path, "rb") as fh:
        raw = fh.read()
    notes: list[str] = []
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        text = raw.decode("latin-1")
        notes.append(f"not UTF-8 ({exc.reason} at byte {exc.start}): read as Latin-1")
    codes = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
    if codes.size < block_size + 1:
        raise DataError(
            f"{path}: {codes.size} characters, fewer than one block of"
            f" data.block_size + 1 = {block_size + 1}"
        )
    vocab_codes, ids = np.unique(codes, return_inverse=True)
    vocab = tuple(chr(int(c)) for c in vocab_codes)
    n = (codes.size - 1) // block_size
    starts = np.arange(n, dtype=np.int64) * block_size
    blocks = ids.astype(np.int32)[starts[:, None] + np.arange(block_size + 1)]
    dropped = codes.size - 1 - n * block_size
    notes.append(
        f"character tokenizer: {len(vocab)} distinct characters, {codes.size:,} characters"
        f" in {n:,} blocks of {block_size}"
        + (f" ({dropped} left over at the end)" if dropped else "")
    )
    return blocks, vocab, notes
