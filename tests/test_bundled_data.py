"""The bundled datasets are the real ones, unchanged: every file data/README.md lists is
there with its published sha256, so tests and recipes never audit a silently edited copy."""

from __future__ import annotations

import hashlib
import re

from tests.conftest import DATA

_LINE = re.compile(r"^([0-9a-f]{64})  (\S+)$", re.M)
LISTED = _LINE.findall((DATA / "README.md").read_text())
# A folder of many small files (data/digits_rgb/) lists them in its own SHA256SUMS, which
# README lists: every file is still covered by a published digest.
for _digest, _name in list(LISTED):
    if _name.endswith("/SHA256SUMS"):
        _folder = _name.rsplit("/", 1)[0]
        LISTED += [(d, f"{_folder}/{n}") for d, n in _LINE.findall((DATA / _name).read_text())]


def test_readme_lists_every_bundled_file() -> None:
    on_disk = {p.relative_to(DATA).as_posix() for p in DATA.rglob("*") if p.is_file()} - {
        "README.md"
    }
    assert {name for _, name in LISTED} == on_disk


def test_bundled_files_match_their_sha256() -> None:
    for digest, name in LISTED:
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == digest, name
