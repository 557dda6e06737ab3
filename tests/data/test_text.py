"""The character tokenizer on Shakespeare's text (bundled in data/)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nncheck.data.text import read_text_blocks
from nncheck.errors import DataError
from tests.conftest import DATA


def test_shakespeare_blocks_decode_back_to_the_text() -> None:
    path = DATA / "tinyshakespeare.txt"
    blocks, vocab, notes = read_text_blocks(str(path), 64)
    text = path.read_text(encoding="utf-8")
    assert len(vocab) == len(set(text)) == 65  # the well-known 65-character vocabulary
    assert blocks.shape == ((len(text) - 1) // 64, 65) and blocks.dtype == np.int32
    assert np.array_equal(blocks[:-1, -1], blocks[1:, 0])  # consecutive blocks share one id
    decoded = "".join(vocab[i] for i in blocks[3])
    assert decoded == text[3 * 64 : 3 * 64 + 65]
    assert "65 distinct characters" in notes[0]


def test_latin1_text_is_read_and_said(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_bytes("caf\xe9 au lait, d\xe9j\xe0 vu. ".encode("latin-1") * 10)
    blocks, vocab, notes = read_text_blocks(str(path), 8)
    assert "é" in vocab and any("Latin-1" in n for n in notes)


def test_text_shorter_than_a_block_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("tiny")
    with pytest.raises(DataError, match="block_size"):
        read_text_blocks(str(path), 8)
