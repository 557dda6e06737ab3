"""Ctrl-C and SIGTERM at any moment: a prompt exit, a true message, no temporary folders.

The CLI runs the bundled wine recipe in a subprocess and gets a signal at a chosen moment
(while the checks run, or once the new report is being written: its temporary folder holds
results.json). Whatever the moment, the run exits within seconds with 130 (SIGINT) or 143
(SIGTERM) — or 0/1 when it had already finished — and says the truth: "the report was
written" only when the complete new report is in place, "no report was written" only when
the previous report is still there, untouched. No `.nncheck-partial-*` or `.nncheck-old-*`
folder remains.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, wine_recipe, write_recipe

EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}


def _start(recipe: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.Popen(
        [sys.executable, "-m", "nncheck", "run", str(recipe), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _writing(parent: Path) -> bool:
    return any((p / "results.json").exists() for p in parent.glob(".nncheck-partial-*"))


def interrupt(tmp_path: Path, sig: int, moment: str | float, previous: bool) -> str:
    """Run, signal at ``moment`` (seconds, or "writing"), and check the contract; returns
    what happened ("written", "not written" or "finished")."""
    recipe = write_recipe(tmp_path, wine_recipe(tmp_path))
    report = tmp_path / "report"
    if previous:
        first = subprocess.run(
            [sys.executable, "-m", "nncheck", "run", str(recipe), "--quiet", "--only", "data"],
            capture_output=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=120,
        )
        assert first.returncode in (0, 1), first.stderr
    old = (report / "results.json").read_bytes() if previous else None
    proc = _start(recipe)
    deadline = time.monotonic() + 60
    if moment == "writing":
        while not _writing(tmp_path) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
    else:
        time.sleep(float(moment))
    sent = time.monotonic()
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"still running 20 s after {signal.Signals(sig).name} at {moment}")
    took = time.monotonic() - sent
    assert "Traceback" not in err, err
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".nncheck-")]
    assert not leftovers, leftovers
    if proc.returncode in (0, 1):
        assert "interrupted" not in err
        return "finished"
    assert proc.returncode == EXIT[sig], (proc.returncode, err)
    assert took < 10, f"took {took:.1f} s to stop"
    if "the report was written to" in err:
        data = json.loads((report / "results.json").read_text())
        assert sum(data["summary"].values()) == len(data["checks"]) > 0
        assert len(data["checks"]) > 2 and old != (report / "results.json").read_bytes()
        return "written"
    assert "no report was written" in err, err
    if previous:
        assert (report / "results.json").read_bytes() == old  # the previous one, intact
    else:
        assert not report.exists()
    return "not written"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_while_checks_run(tmp_path: Path, sig: int) -> None:
    assert interrupt(tmp_path, sig, 0.9, previous=True) in ("not written", "finished")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_while_the_report_is_written_keeps_it_and_says_so(
    tmp_path: Path, sig: int
) -> None:
    assert interrupt(tmp_path, sig, "writing", previous=True) in ("written", "finished")


@pytest.mark.slow
@pytest.mark.parametrize("i", range(30))
def test_interrupt_sweep(tmp_path: Path, i: int) -> None:
    """30 interrupts from just after start-up (0.3 s: the interpreter itself starts in
    ~0.05 s, before any handler can exist) to the end of the run, alternating signals."""
    sig = (signal.SIGINT, signal.SIGTERM)[i % 2]
    moment: str | float = "writing" if i % 5 == 4 else 0.3 + 0.08 * i
    interrupt(tmp_path, sig, moment, previous=bool(i % 3))


class _Finalized:
    """An object whose finalizer is running when the signal's handler runs."""

    def __del__(self) -> None:
        signal.raise_signal(signal.SIGTERM)
        total = 0
        for i in range(10_000):  # the handler runs at one of these bytecodes
            total += i


def test_a_signal_caught_by_a_finalizer_is_delivered_again(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Python drops an exception raised inside ``__del__`` or a weakref callback (it only
    prints "Exception ignored ... Traceback"); a signal landing there must still stop the run,
    and without that traceback on stderr."""
    from nncheck.interrupts import Interrupted, interrupts_raise

    with pytest.raises(Interrupted) as raised:
        with interrupts_raise():
            _Finalized()  # dropped at once: its finalizer runs here
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                time.sleep(0.01)
    assert raised.value.signum == signal.SIGTERM
    assert "Traceback" not in capsys.readouterr().err
