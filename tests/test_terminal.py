"""The terminal as a user meets it: at a real terminal (a pseudo-terminal here), in a CI
log (no terminal), with --quiet, and with hostile strings that rich could read as markup."""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, WINE, read_results, run_cli, wine_recipe, write_recipe

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
CHECK_LINE = re.compile(r"^\s+\S (pass|warn|fail|skip|error)\s+([a-z_]+\.[a-z_]+)\s", re.M)


def run_in_pty(*args: str, timeout: float = 120) -> tuple[int, str]:
    """`nncheck ARGS` with stdout and stderr on a pseudo-terminal, as in a shell."""
    pty = pytest.importorskip("pty", reason="pseudo-terminals need a POSIX system")
    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "110", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "nncheck", *args],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=ROOT,
    )
    os.close(slave)
    chunks, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        if select.select([master], [], [], 0.2)[0]:
            try:
                chunk = os.read(master, 1 << 16)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(timeout=10), ANSI.sub("", b"".join(chunks).decode(errors="replace"))


def test_a_terminal_shows_stage_check_k_of_n_time_and_step_bars(tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path, wine_recipe(tmp_path))
    rc, out = run_in_pty("run", str(recipe))
    assert rc == 0, out
    n = len(read_results(tmp_path / "report")["checks"])
    seen = {int(k) for k in re.findall(rf"check (\d+) of {n}\b", out)}
    assert seen == set(range(1, n + 1)), sorted(seen)  # the count moves: 1 .. N
    for stage in ("data ·", "skeleton ·", "overfit ·", "evaluate ·"):
        assert stage in out, stage
    assert re.search(r"\b0:00:0\d\b", out)  # elapsed time
    assert re.search(r"training \S.*\d+/500\b", out)  # a step bar for a 500-step training
    assert "Skeleton — seeded end-to-end skeleton" in out  # a header per stage
    # live redraws end in a carriage return: a finished check's line may follow one
    finished = set(re.findall(r"[✓!✗E-] (?:pass|warn|fail|skip|error)\s+([a-z_]+\.[a-z_]+)", out))
    checks = read_results(tmp_path / "report")["checks"]
    assert finished == {c["id"] for c in checks if not c["metrics"].get("not_applicable")}
    assert "checks do not apply to this setup (a classification task, numpy engine)" in out
    # skips: 7 checks of the user's own pieces, 8 language-model checks, human baseline
    n_skip = sum(c["status"] == "skip" for c in checks)  # grows as checks for other setups come
    assert f"PASS wine-mlp: 23 pass, {n_skip} skip in" in out
    assert str(tmp_path / "report" / "index.html") in out.replace("\r\n", "").replace("\n", "")


@pytest.fixture(scope="module")
def lr_zero(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("lr0")
    return tmp, write_recipe(tmp, wine_recipe(tmp, train={"lr": 0.0}))


def test_ci_log_names_each_check_once(lr_zero: tuple[Path, Path]) -> None:
    tmp, recipe = lr_zero
    proc = run_cli("run", str(recipe))
    assert proc.returncode == 1
    log = proc.stdout + proc.stderr
    ids = [c for _, c in CHECK_LINE.findall(log)]
    results = read_results(tmp / "report")
    elsewhere = [c for c in results["checks"] if c["metrics"].get("not_applicable")]
    shown = [c for c in results["checks"] if c not in elsewhere]
    assert sorted(ids) == sorted(c["id"] for c in shown)  # each exactly once
    # the checks written for another kind of setup share one line, after the others
    (collapsed,) = [x for x in log.splitlines() if "checks do not apply to this setup" in x]
    assert f"{len(elsewhere)} checks do not apply" in collapsed and elsewhere
    assert all(c["id"] in collapsed for c in elsewhere)
    assert "check 1 of" not in log and "━" not in log  # no live display in a log
    for c in shown:
        (line,) = [x for x in log.splitlines() if re.match(rf"\s+\S {c['status']}\s+{c['id']} ", x)]
        assert c["message"] in line  # one unwrapped line, the whole message
        if c["status"] == "fail" and c["hint"]:
            assert "→ " + c["hint"] in log
    # the verdict is stdout's last line (the data notes go to stderr)
    assert proc.stdout.rstrip().splitlines()[-1].startswith("FAIL wine-mlp: ")


def test_quiet_prints_only_the_failures_and_the_verdict(lr_zero: tuple[Path, Path]) -> None:
    tmp, recipe = lr_zero
    proc = run_cli("run", str(recipe), "--quiet")
    assert proc.returncode == 1
    results = read_results(tmp / "report")
    failed = [c for c in results["checks"] if c["status"] in ("fail", "error")]
    assert failed and not proc.stderr
    lines = proc.stdout.rstrip().splitlines()
    assert lines[-1].startswith("FAIL wine-mlp: ") and "index.html" in lines[-1]
    assert [c for _, c in CHECK_LINE.findall(proc.stdout)] == [c["id"] for c in failed]
    for line in lines[:-1]:  # nothing but failure lines and their hints
        assert re.match(r"\s+✗ fail|\s+E error|\s+→ ", line), line


def test_quiet_with_fail_on_warn_also_prints_the_warnings(tmp_path: Path) -> None:
    recipe = wine_recipe(
        tmp_path, checks={"skeleton.init_loss": {"warn_rel": 1e-6, "fail_rel": 100.0, "z": 0.0}}
    )
    proc = run_cli("run", str(write_recipe(tmp_path, recipe)), "--quiet", "--fail-on", "warn")
    assert proc.returncode == 1
    assert [c for _, c in CHECK_LINE.findall(proc.stdout)] == ["skeleton.init_loss"]
    assert proc.stdout.rstrip().splitlines()[-1].startswith("WARN wine-mlp: ")


def markup_wine(tmp_path: Path) -> Path:
    """wine with its label column last, named ``[/x]`` (no target given, so a note names
    it), class labels that are markup, and a recipe name that is markup too."""
    lines = WINE.read_text().splitlines()
    header = lines[0].split(",")
    i = header.index("label")
    labels = {"0": "[/x]", "1": "[bold]", "2": "[red]c[/red]"}
    rows = []
    for n, line in enumerate(lines):
        cells = line.split(",")
        label = "[/x]" if n == 0 else labels[cells[i]]
        rows.append(",".join(cells[:i] + cells[i + 1 :] + [label]))
    (tmp_path / "markup.csv").write_text("\n".join(rows) + "\n")
    recipe = wine_recipe(tmp_path, name="wine [/x] [bold]", train={"lr": 0.0})
    recipe["data"] = {k: v for k, v in recipe["data"].items() if k not in ("target", "task")}
    recipe["data"]["train"] = str(tmp_path / "markup.csv")
    return write_recipe(tmp_path, recipe)


@pytest.mark.parametrize("mode", ["log", "quiet", "terminal"])
def test_user_strings_that_look_like_markup_print_as_they_are(tmp_path: Path, mode: str) -> None:
    """Issue 11: a target or class label such as `[/x]` crashed the terminal writer with
    MarkupError; `[bold]` would restyle the line. Now they are text, wherever printed."""
    recipe = str(markup_wine(tmp_path))
    if mode == "terminal":
        rc, out = run_in_pty("run", recipe)
    else:
        proc = run_cli("run", recipe, *(["--quiet"] if mode == "quiet" else []))
        rc, out = proc.returncode, proc.stdout + proc.stderr
    assert rc == 1, out  # lr 0 fails; the run itself went through
    assert "Traceback" not in out and "MarkupError" not in out
    assert "FAIL wine [/x] [bold]: " in out
    if mode != "quiet":
        assert "target not given: using column '[/x]' (the last column" in out
        assert "'[red]c[/red]'" in out  # a class label quoted in a message, as it is
