"""The bundled datasets are the real ones, unchanged: every file data/README.md lists is
there with its published sha256, so tests and recipes never audit a silently edited copy."""

from __future__ import annotations

import hashlib
import re

from tests.conftest import DATA

LISTED = re.findall(r"^([0-9a-f]{64})  (\S+)$", (DATA / "README.md").read_text(), re.M)


def test_readme_lists_every_bundled_file() -> None:
    on_disk = {p.relative_to(DATA).as_posix() for p in DATA.rglob("*") if p.is_file()} - {
        "README.md"
    }
    assert {name for _, name in LISTED} == on_disk


def test_bundled_files_match_their_sha256() -> None:
    for digest, name in LISTED:
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == digest, name
