"""`nncheck checks` at 80 columns, and the bug-class tags it shares with README."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from nncheck.bug_classes import CATALOGUE, tags
from nncheck.checks.registry import load_all
from nncheck.list_checks import thresholds
from tests.conftest import ROOT


def checks_output(*args: str, columns: int = 80) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": str(columns)}
    proc = subprocess.run(
        [sys.executable, "-m", "nncheck", "checks", *args],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return proc.stdout


def test_reads_at_80_columns_without_breaking_a_threshold() -> None:
    out = checks_output()
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert all(line == line.rstrip() for line in lines)  # no padding to the width
    tokens = set(" ".join(lines).replace(",", " ").split())
    for spec in load_all().values():
        for name, value in spec.defaults.items():
            assert f"{name}={value!r}" in tokens, (spec.id, name)  # whole, on one line


def test_each_check_is_tagged_from_the_catalogue() -> None:
    out = checks_output()
    for spec in load_all().values():
        (head,) = [line for line in out.splitlines() if line.split()[:1] == [spec.id]]
        assert head == f"{spec.id}  {', '.join(tags(spec.id)) or '—'}"
    for bug in CATALOGUE:
        assert re.search(rf"^  {bug.id}  {re.escape(bug.title)}$", out, re.M), bug.id


def test_the_catalogue_names_only_real_checks_and_tags_every_class() -> None:
    specs = load_all()
    for bug in CATALOGUE:
        assert bug.flagged_by and set(bug.checks) <= set(specs), bug.id
    tagged = {t for spec in specs for t in tags(spec)}
    assert tagged == {b.id for b in CATALOGUE}
    assert tags("data.integrity") == ("D6", "M8") and tags("skeleton.dumb_baseline") == ()


def test_readme_check_table_is_the_commands_markdown() -> None:
    """README's table is `nncheck checks --markdown`, pasted: tags cannot drift apart."""
    table = checks_output("--markdown")
    assert table.startswith("| check | catches | what it checks |")
    assert len(table.splitlines()) == 2 + len(load_all())
    readme = (ROOT / "README.md").read_text()
    assert table in readme, "README's check table differs: paste `nncheck checks --markdown`"


def test_verbose_prints_each_checks_documentation() -> None:
    out = checks_output("-v")
    assert max(len(line) for line in out.splitlines()) <= 80
    for spec in load_all().values():
        first = spec.doc.split("\n\n")[1].split()[:6] if "\n\n" in spec.doc else []
        assert " ".join(first) in " ".join(out.split()), spec.id
    assert thresholds({}) == "none"
